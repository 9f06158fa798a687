package issue

import (
	"bufio"
	"bytes"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/certkit/certkit/internal/errs"
)

// MaxNameLen bounds a client name: it is the default Common Name, and
// RFC 5280 allows at most 64 characters there.
const MaxNameLen = 64

// DefaultClientName is the client name when none is given.
const DefaultClientName = "client"

// reservedNames are stems that would collide with, or be mistaken for, the
// other files of a registry folder: a client "server" would write
// server.key over the server's key, and a "ca.key" in certs.d reads as a
// CA key that must never be there. Compared case-insensitively, because
// macOS and Windows folders are.
var reservedNames = []string{"server", "server-chain", "ca"}

// windowsDevices cannot be file names on Windows, where Docker Desktop
// users copy certs.d folders to.
var windowsDevices = map[string]bool{
	"con": true, "prn": true, "aux": true, "nul": true,
	"com1": true, "com2": true, "com3": true, "com4": true, "com5": true, "com6": true, "com7": true, "com8": true, "com9": true,
	"lpt1": true, "lpt2": true, "lpt3": true, "lpt4": true, "lpt5": true, "lpt6": true, "lpt7": true, "lpt8": true, "lpt9": true,
}

// NameError reports a client name that cannot be a certs.d file stem.
type NameError struct {
	Name   string
	Reason string
	Fix    string
	Line   int // line of a --names-file, 0 when the name came from elsewhere
}

func (e *NameError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("line %d: client name %q %s", e.Line, e.Name, e.Reason)
	}
	return fmt.Sprintf("client name %q %s", e.Name, e.Reason)
}

// Hint says what to type instead.
func (e *NameError) Hint() string { return e.Fix }

// InputError marks e as bad input (exit 2).
func (e *NameError) InputError() bool { return true }

// ValidateName checks that name can be the stem of NAME.cert and NAME.key
// in a certs.d folder and the Common Name of a client certificate: 1 to 64
// letters, digits, '.', '_' or '-', starting with a letter or digit (so no
// hidden files, no slashes, no "..").
func ValidateName(name string) error {
	bad := func(reason, fix string) error { return &NameError{Name: name, Reason: reason, Fix: fix} }
	const allowed = "use letters, digits, '.', '_' and '-', starting with a letter or digit, e.g. --name ci-runner-1"
	switch {
	case name == "":
		return bad("is empty", allowed)
	case !utf8.ValidString(name):
		return bad("is not valid UTF-8", allowed)
	case len(name) > MaxNameLen:
		return bad(fmt.Sprintf("is %d characters long; at most %d fit a certificate's Common Name", len(name), MaxNameLen), "use a shorter name")
	}
	for _, ext := range []string{".cert", ".key", ".crt", ".pem"} {
		if stem, ok := cutSuffixFold(name, ext); ok && stem != "" {
			return bad("ends in "+ext+"; the name is the file stem, certkit adds .cert and .key", "drop the extension: --name "+stem)
		}
	}
	if !isAlnum(name[0]) {
		if name[0] == '.' {
			return bad("starts with a dot, which would hide its files", allowed)
		}
		r, _ := utf8.DecodeRuneInString(name)
		return bad(fmt.Sprintf("starts with %q", r), allowed)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if isAlnum(c) || c == '.' || c == '_' || c == '-' {
			continue
		}
		switch {
		case c == '/' || c == '\\':
			return bad("contains a slash; it is a file name, not a path", allowed)
		case c >= utf8.RuneSelf:
			return bad("contains a non-ASCII character", allowed)
		default:
			return bad(fmt.Sprintf("contains %q", c), allowed)
		}
	}
	lower := strings.ToLower(name)
	for _, r := range reservedNames {
		if lower == r {
			return bad("is reserved: "+r+".* files of a registry folder belong to the server or the CA", "pick another name, e.g. --name "+r+"-client")
		}
	}
	if windowsDevices[strings.SplitN(lower, ".", 2)[0]] {
		return bad("is a reserved device name on Windows", "pick another name")
	}
	return nil
}

func cutSuffixFold(s, suffix string) (string, bool) {
	if len(s) >= len(suffix) && strings.EqualFold(s[len(s)-len(suffix):], suffix) {
		return s[:len(s)-len(suffix)], true
	}
	return s, false
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// ParseNames reads a --names-file: one client name per line. Surrounding
// whitespace is trimmed; empty lines and lines starting with '#' are
// skipped. Every name is validated and a name given twice is an error, with
// the line numbers.
func ParseNames(data []byte) ([]string, error) {
	var names []string
	seen := map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if n == 1 {
			line = strings.TrimPrefix(line, "\uFEFF") // a byte order mark from Windows editors
		}
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if err := ValidateName(line); err != nil {
			ne := err.(*NameError)
			ne.Line = n
			return nil, ne
		}
		if first, dup := seen[strings.ToLower(line)]; dup {
			return nil, errs.Input(fmt.Sprintf("line %d: client name %q repeats line %d", n, line, first), "list each name once (names differing only in case collide on macOS and Windows)")
		}
		seen[strings.ToLower(line)] = n
		names = append(names, line)
	}
	if err := sc.Err(); err != nil {
		return nil, errs.Input("reading the names file: "+err.Error(), "give one name per line")
	}
	return names, nil
}

// CheckNames is the rule issue applies to a list of client names, for
// the wizard to apply at its question.
func CheckNames(names []string) error { return checkNames(names) }

// checkNames validates names and refuses duplicates (case-insensitively:
// runner1 and Runner1 are one file on macOS and Windows).
func checkNames(names []string) error {
	seen := map[string]string{}
	for _, n := range names {
		if err := ValidateName(n); err != nil {
			return err
		}
		if prev, dup := seen[strings.ToLower(n)]; dup {
			if prev == n {
				return errs.Input(fmt.Sprintf("client name %q is given twice", n), "list each name once")
			}
			return errs.Input(fmt.Sprintf("client names %q and %q differ only in case", prev, n), "names differing only in case collide on macOS and Windows; rename one")
		}
		seen[strings.ToLower(n)] = n
	}
	return nil
}
