package wizard

import (
	"errors"
	"io"

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

// Input implements Prompter.
func (s *SurveyPrompter) Input(msg, help, def string, validate func(string) error) (string, error) {
	var ans string
	var opts []survey.AskOpt
	if validate != nil {
		opts = append(opts, survey.WithValidator(func(v any) error {
			str, _ := v.(string)
			return validate(str)
		}))
	}
	err := s.ask(&survey.Input{Message: msg, Help: help, Default: def}, &ans, opts...)
	return ans, err
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
