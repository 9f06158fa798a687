// Package shellquote quotes the arguments of the commands certkit
// suggests, so that each can be pasted into a POSIX shell as it is.
package shellquote

import "strings"

// Quote returns s as one word for a POSIX shell: as it is when every
// character is one the shell reads as itself anywhere in a word (letters
// and digits of ASCII, and . - _ : / = @ % + ,), else in single quotes,
// where a single quote of s closes them, is escaped, and opens them again.
// The brackets of an IPv6 registry are a glob, ~ starts a home folder, and
// the empty string is no word at all unless quoted.
func Quote(s string) string {
	if s != "" && !strings.ContainsFunc(s, unsafe) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func unsafe(r rune) bool {
	return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune(".-_:/=@%+,", r))
}
