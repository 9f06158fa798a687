package shellquote

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/certkit/certkit/internal/testenv"
)

// TestQuote: each word, quoted, is read back by sh as it was; words the
// shell reads as themselves stay bare. sh runs in a folder with files the
// unquoted globs would match and with HOME set, so that a missing quote
// shows.
func TestQuote(t *testing.T) {
	sh := testenv.NeedTool(t, "sh")
	dir := t.TempDir()
	for _, n := range []string{"f:5000", "a", "ab"} { // [fd00::1]:5000, ?, * match these
		testenv.WriteFile(t, filepath.Join(dir, n), nil, 0o644)
	}
	tests := []struct {
		in   string
		bare bool // left as it is
	}{
		{"reg.example.com:5000", true},
		{"/etc/docker/certs.d", true},
		{"a-b_c=d@e%f+g,h", true},
		{"", false},
		{"with space", false},
		{"it's", false},
		{"''", false},
		{`say "hi"`, false},
		{"$HOME", false},
		{"${HOME}", false},
		{"$(echo no)", false},
		{"`echo no`", false},
		{"wow!", false},
		{"!!", false},
		{"50%", true},
		{"[fd00::1]:5000", false},
		{"?", false},
		{"a*", false},
		{"~", false},
		{"~/certs.d", false},
		{"#not a comment", false},
		{"a;b", false},
		{"a&b|c", false},
		{"<in>out", false},
		{`back\slash`, false},
		{"tab\there", false},
		{"new\nline", false},
		{"é-ü-日本", false},
		{"-n", true},
		{"{a,b}", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			q := Quote(tt.in)
			if (q == tt.in) != tt.bare {
				t.Errorf("Quote(%q) = %s: bare %v, want %v", tt.in, q, q == tt.in, tt.bare)
			}
			cmd := exec.Command(sh, "-c", "printf %s "+q)
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "HOME=/home/nobody-certkit")
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("sh -c 'printf %%s %s': %v: %s", q, err, out)
			}
			if string(out) != tt.in {
				t.Errorf("sh read %s as %q, want %q", q, out, tt.in)
			}
		})
	}
}
