package wizard

import (
	"errors"
	"io"
	"strings"

	"github.com/AlecAivazis/survey/v2"
	"github.com/AlecAivazis/survey/v2/core"
	"github.com/AlecAivazis/survey/v2/terminal"
)

// Terminal is what survey needs: files with descriptors, for raw mode.
type Terminal struct {
	In  terminal.FileReader
	Out terminal.FileWriter
	Err io.Writer
}

// SurveyPrompter asks through github.com/AlecAivazis/survey/v2.
type SurveyPrompter struct {
	term Terminal
}

// NewSurveyPrompter returns a Prompter on t. With noColor, survey's output
// has no ANSI colours (NO_COLOR).
func NewSurveyPrompter(t Terminal, noColor bool) *SurveyPrompter {
	// survey keeps this switch as a package variable; only this package
	// touches it.
	core.DisableColor = noColor
	return &SurveyPrompter{term: t}
}

func (s *SurveyPrompter) ask(p survey.Prompt, resp any, opts ...survey.AskOpt) error {
	opts = append(opts, survey.WithStdio(s.term.In, s.term.Out, s.term.Err), survey.WithShowCursor(true))
	err := survey.AskOne(p, resp, opts...)
	if errors.Is(err, terminal.InterruptErr) {
		return ErrInterrupted
	}
	return err
}

// Input implements Prompter. An answer that starts with survey's help
// key, "?", followed by text is the text: the user asked for help, then
// answered. Once an answer is valid, the error lines the invalid ones left
// are erased.
func (s *SurveyPrompter) Input(msg, help, def string, validate func(string) error) (string, error) {
	var ans string
	var opts []survey.AskOpt
	in := &cleanInput{Input: &survey.Input{Message: msg, Help: help, Default: def}}
	if validate != nil {
		opts = append(opts, survey.WithValidator(func(v any) error {
			str, _ := v.(string)
			err := validate(dropHelpKey(str))
			in.errored = in.errored || err != nil
			return err
		}))
	}
	err := s.ask(in, &ans, opts...)
	return dropHelpKey(ans), err
}

// dropHelpKey drops a leading "?" from an answer that has more: no
// answer certkit asks for starts with one.
func dropHelpKey(s string) string {
	if rest, ok := strings.CutPrefix(s, "?"); ok && strings.TrimSpace(rest) != "" {
		return strings.TrimSpace(rest)
	}
	return s
}

// cleanInput is survey's Input, whose final line takes the place of the
// error lines invalid answers left: survey's Renderer.Error erases the
// errors it drew and the question before it draws a new error, which
// fails on a nil one before it draws anything.
type cleanInput struct {
	*survey.Input
	errored bool
}

// Cleanup erases the errors, then draws the answer as survey does.
func (c *cleanInput) Cleanup(config *survey.PromptConfig, val any) error {
	if c.errored {
		_ = c.Input.Error(config, nil) // erases, then fails on the nil error
	}
	if str, ok := val.(string); ok {
		val = dropHelpKey(str)
	}
	return c.Input.Cleanup(config, val)
}

// Confirm implements Prompter.
func (s *SurveyPrompter) Confirm(msg, help string, def bool) (bool, error) {
	var ans bool
	err := s.ask(&survey.Confirm{Message: msg, Help: help, Default: def}, &ans)
	return ans, err
}

// Select implements Prompter.
func (s *SurveyPrompter) Select(msg, help string, options []string, def string) (string, error) {
	var ans string
	p := &survey.Select{Message: msg, Help: help, Options: options}
	if def != "" {
		p.Default = def
	}
	err := s.ask(p, &ans)
	return ans, err
}

// MultiSelect implements Prompter.
func (s *SurveyPrompter) MultiSelect(msg, help string, options, defs []string) ([]string, error) {
	var ans []string
	p := &survey.MultiSelect{Message: msg, Help: help, Options: options}
	if len(defs) > 0 {
		p.Default = defs
	}
	err := s.ask(p, &ans)
	return ans, err
}
