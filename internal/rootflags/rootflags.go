// Package rootflags writes the flags that name a certs root in the
// commands certkit suggests (certkit install …, certkit verify …), so
// that every suggestion names the root the same way and can be pasted
// into a shell as it is.
package rootflags

import "github.com/certkit/certkit/internal/shellquote"

// Flags returns " --target T" for each of targets, in order, then
// " --certs-dir DIR" when certsDir is not empty, every value quoted for a
// POSIX shell; "" for neither (Docker's root, the default of both
// commands).
func Flags(targets []string, certsDir string) string {
	var s string
	for _, t := range targets {
		s += " --target " + shellquote.Quote(t)
	}
	if certsDir != "" {
		s += " --certs-dir " + shellquote.Quote(certsDir)
	}
	return s
}
