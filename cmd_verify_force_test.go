package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The live fixes that reinstall or re-issue say --force where install (or
// issue) refuses without it, and work when run as printed, in the certkit
// home of the registry's CA.
func TestVerifyLiveFixesRun(t *testing.T) {
	const reg = "reg.example.com:5000"
	tests := []struct {
		name  string
		setup func(t *testing.T, home, certs string)
		check string // the check whose fix is run
		fixes []string
	}{
		{
			// README's failure: the folder's ca.crt replaced by another CA
			name: "ca.crt replaced",
			setup: func(t *testing.T, home, certs string) {
				must(t, home, "install", "--host", reg, "--certs-dir", certs)
				staging := t.TempDir()
				must(t, staging, "init-ca", "--cn", "certkit CA staging")
				copyFile(t, filepath.Join(staging, "ca", "ca.crt"), filepath.Join(certs, reg, "ca.crt"))
			},
			check: "tls",
			fixes: []string{"certkit install --force --host " + reg + " --certs-dir "},
		},
		{
			// certkit installed another home's CA and pair; the registry's
			// CA was added beside them as an extra .crt
			name: "pair from another CA, the registry's CA as an extra .crt",
			setup: func(t *testing.T, home, certs string) {
				other := t.TempDir()
				must(t, other, "init-ca", "--cn", "certkit CA laptop")
				must(t, other, "issue", "client", "--host", reg)
				must(t, other, "install", "--host", reg, "--certs-dir", certs)
				copyFile(t, filepath.Join(home, "ca", "ca.crt"), filepath.Join(certs, reg, "registry-ca.crt"))
			},
			check: "pair:client",
			fixes: []string{"certkit issue client --host " + reg + " --force", "certkit install --force --host " + reg + " --certs-dir "},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			home := t.TempDir()
			certs := filepath.Join(t.TempDir(), "certs.d")
			must(t, home, "init-ca", "--cn", "certkit CA registry")
			must(t, home, "issue", "server", "--host", reg)
			must(t, home, "issue", "client", "--host", reg)
			tt.setup(t, home, certs)
			addr := serveRegistry(t, home, reg)

			code, _, stderr := certkit(t, home, "verify", "--host", reg, "--certs-dir", certs, "--addr", addr)
			if code != 1 {
				t.Fatalf("verify: exit %d, want 1\n%s", code, stderr)
			}
			fix := fixOf(t, stderr, tt.check)
			for _, want := range tt.fixes {
				if !strings.Contains(fix, want) {
					t.Errorf("the fix of %s lacks %q: %s", tt.check, want, fix)
				}
			}
			for _, cmd := range fixCommands(fix) {
				if code, _, stderr := certkit(t, home, cmd[1:]...); code != 0 {
					t.Fatalf("%s: exit %d\n%s", strings.Join(cmd, " "), code, stderr)
				}
			}
			if code, _, stderr := certkit(t, home, "verify", "--host", reg, "--certs-dir", certs, "--addr", addr); code != 0 {
				t.Fatalf("verify after the fix: exit %d\n%s", code, stderr)
			}
		})
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// fixOf returns the fix printed under the check id.
func fixOf(t *testing.T, stderr, id string) string {
	t.Helper()
	lines := strings.Split(stderr, "\n")
	for i, l := range lines {
		if strings.HasPrefix(strings.TrimSpace(l), "error   "+id+":") || strings.HasPrefix(strings.TrimSpace(l), "warning "+id+":") {
			if i+1 < len(lines) {
				if fix, ok := strings.CutPrefix(strings.TrimSpace(lines[i+1]), "fix: "); ok {
					return fix
				}
			}
		}
	}
	t.Fatalf("no fix under %s:\n%s", id, stderr)
	return ""
}

// fixCommands are the certkit commands of a fix, in order, as words: each
// runs from "certkit " to ", then", ";", " (" or ")".
func fixCommands(fix string) [][]string {
	var out [][]string
	for _, m := range regexp.MustCompile(`certkit (issue|install) `).FindAllStringIndex(fix, -1) {
		cmd := fix[m[0]:]
		for _, end := range []string{", then ", "; ", " (", ")"} {
			cmd, _, _ = strings.Cut(cmd, end)
		}
		out = append(out, shellWords(cmd))
	}
	return out
}

// shellWords splits a command as a POSIX shell does, for the words
// shellquote writes: plain, or in single quotes.
func shellWords(s string) []string {
	var words []string
	var w strings.Builder
	in, quoted := false, false
	for _, r := range s {
		switch {
		case r == '\'':
			quoted, in = !quoted, true
		case r == ' ' && !quoted:
			if in {
				words = append(words, w.String())
				w.Reset()
			}
			in = false
		default:
			w.WriteRune(r)
			in = true
		}
	}
	if in {
		words = append(words, w.String())
	}
	return words
}
