// Package prose holds the small helpers certkit's messages are written
// with.
package prose

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// AndList joins items as "a, b and c": "a and b" for two, the item alone
// for one, "" for none.
func AndList(items []string) string {
	if len(items) < 2 {
		return strings.Join(items, "")
	}
	return strings.Join(items[:len(items)-1], ", ") + " and " + items[len(items)-1]
}

// Printable returns s with what a terminal or a log would act on made
// visible: control characters (newline, ESC, NUL, DEL, the C1 range) and
// bytes that are not UTF-8 are written as Go escapes (\n, \x1b, \u0085),
// so that text from outside (a certificate's subject, a parser's echo of a
// file) cannot forge a log line or drive the terminal. Other text, accents
// included, is left as it is.
func Printable(s string) string {
	clean := true
	for _, r := range s {
		if r == utf8.RuneError || unicode.IsControl(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n <= 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case unicode.IsControl(r):
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}
