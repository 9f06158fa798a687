package wizard

import "errors"

// ErrInterrupted is returned when the user presses Ctrl-C at a prompt.
var ErrInterrupted = errors.New("interrupted")

// Prompter asks the user questions. The survey-based one is the real
// implementation; the interface keeps survey (no longer maintained
// upstream) swappable, and lets tests answer without a terminal.
type Prompter interface {
	// Input asks for a line of text. validate runs on every answer; an
	// error is shown and the question asked again.
	Input(msg, help, def string, validate func(string) error) (string, error)
	// Confirm asks a yes/no question.
	Confirm(msg, help string, def bool) (bool, error)
	// Select asks for one of options.
	Select(msg, help string, options []string, def string) (string, error)
	// MultiSelect asks for any of options, with defs pre-selected.
	MultiSelect(msg, help string, options, defs []string) ([]string, error)
}
