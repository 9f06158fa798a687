package errs

import (
	"errors"
	"fmt"
	"testing"
)

type customInput struct{}

func (customInput) Error() string    { return "custom" }
func (customInput) InputError() bool { return true }

func TestIsInputAndHintOf(t *testing.T) {
	base := Input("bad value", "use a good one")
	tests := []struct {
		name  string
		err   error
		input bool
		hint  string
	}{
		{"nil", nil, false, ""},
		{"plain", errors.New("boom"), false, ""},
		{"input", base, true, "use a good one"},
		{"wrapped input", fmt.Errorf("context: %w", base), true, "use a good one"},
		{"joined", errors.Join(errors.New("first"), base), true, "use a good one"},
		{"custom input type", fmt.Errorf("x: %w", customInput{}), true, ""},
		{"with hint", WithHint(errors.New("denied"), "run with sudo"), false, "run with sudo"},
		{"outer hint wins", WithHint(base, "outer"), true, "outer"},
		{"empty hint falls through", WithHint(base, ""), true, "use a good one"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsInput(tt.err); got != tt.input {
				t.Errorf("IsInput = %v, want %v", got, tt.input)
			}
			if got := HintOf(tt.err); got != tt.hint {
				t.Errorf("HintOf = %q, want %q", got, tt.hint)
			}
		})
	}
	if WithHint(nil, "x") != nil {
		t.Error("WithHint(nil) is not nil")
	}
	if msg := WithHint(base, "h").Error(); msg != "bad value" {
		t.Errorf("WithHint changed the message to %q", msg)
	}
}
