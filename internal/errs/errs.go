// Package errs holds the two error shapes every certkit package shares: an
// input error (the user asked for something invalid; the CLI exits 2) and a
// hint that tells the user what to do next.
package errs

import "errors"

// InputError reports invalid input, found before any side effect.
type InputError struct {
	Msg string // what is wrong, naming the thing
	Fix string // what to type instead, or empty
}

func (e *InputError) Error() string { return e.Msg }

// Hint returns the fix for e, if any.
func (e *InputError) Hint() string { return e.Fix }

// Input returns an *InputError.
func Input(msg, fix string) error { return &InputError{Msg: msg, Fix: fix} }

// IsInput reports whether err is, or wraps, an input error.
func IsInput(err error) bool {
	var ie *InputError
	if errors.As(err, &ie) {
		return true
	}
	var u interface{ InputError() bool }
	return errors.As(err, &u) && u.InputError()
}

// Hinted is an error that knows the fix for itself.
type Hinted interface {
	error
	Hint() string
}

// HintOf returns the first non-empty hint in err's chain.
func HintOf(err error) string {
	for err != nil {
		if h, ok := err.(Hinted); ok && h.Hint() != "" {
			return h.Hint()
		}
		switch u := err.(type) {
		case interface{ Unwrap() error }:
			err = u.Unwrap()
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				if h := HintOf(e); h != "" {
					return h
				}
			}
			return ""
		default:
			return ""
		}
	}
	return ""
}

// WithHint wraps err with a hint; the message is unchanged.
func WithHint(err error, hint string) error {
	if err == nil {
		return nil
	}
	return &hinted{err: err, hint: hint}
}

type hinted struct {
	err  error
	hint string
}

func (h *hinted) Error() string { return h.err.Error() }
func (h *hinted) Unwrap() error { return h.err }
func (h *hinted) Hint() string  { return h.hint }
