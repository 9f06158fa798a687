package main

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/certkit/certkit/internal/testenv"
)

func manPage(t *testing.T) []byte {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if code := runWith([]string{"certkit", "man"}, nil, &stdout, &stderr); code != 0 || stderr.Len() > 0 {
		t.Fatalf("certkit man: exit %d: %s", code, stderr.String())
	}
	return stdout.Bytes()
}

// TestManRenders: groff (what man -l runs) and mandoc's linter read the
// page without a single warning.
func TestManRenders(t *testing.T) {
	page := filepath.Join(t.TempDir(), "certkit.1")
	testenv.WriteFile(t, page, manPage(t), 0o644)
	for _, tool := range []struct {
		name string
		args []string
	}{
		{"groff", []string{"-man", "-Tutf8", "-ww", "-z", page}},
		{"mandoc", []string{"-T", "lint", page}},
		// What a user types: man -l renders the page itself, and says
		// nothing with --warnings when groff finds nothing to warn about.
		{"man", []string{"--warnings", "-l", page}},
	} {
		t.Run(tool.name, func(t *testing.T) {
			bin := testenv.NeedTool(t, tool.name)
			cmd := exec.Command(bin, tool.args...)
			cmd.Env = append(cmd.Environ(), "MANWIDTH=80", "MANPAGER=cat", "PAGER=cat", "LC_ALL=C.UTF-8")
			var stderr strings.Builder
			cmd.Stderr = &stderr
			stdout, err := cmd.Output()
			out := []byte(stderr.String())
			if tool.name != "man" {
				out = append(stdout, out...)
			} else if len(stdout) == 0 {
				t.Errorf("man -l rendered nothing")
			}
			if err != nil || len(out) > 0 {
				t.Errorf("%s %s: %v\n%s", tool.name, strings.Join(tool.args, " "), err, out)
			}
		})
	}
	t.Run("text", func(t *testing.T) {
		bin := testenv.NeedTool(t, "groff")
		cmd := exec.Command(bin, "-man", "-Tutf8", "-ww", "-P-cbou", page)
		cmd.Env = append(cmd.Environ(), "LC_ALL=C.UTF-8")
		out, err := cmd.Output()
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"certkit issue client", "--validity", "CERTKIT_HOME", "EXIT STATUS", "certkit completion bash|zsh|fish"} {
			if !strings.Contains(string(out), want) {
				t.Errorf("the rendered page does not say %q", want)
			}
		}
	})
}

// TestManCoversCommands: the page has a section for every command and an
// entry for each of its flags, so it cannot fall behind --help.
func TestManCoversCommands(t *testing.T) {
	page := string(manPage(t))
	if !regexp.MustCompile(`(?m)^\.TH CERTKIT 1 \d{4}-\d\d-\d\d "certkit devel" "User Commands"$`).MatchString(page) {
		t.Errorf("no .TH line with a date and the version:\n%.200s", page)
	}
	app := newApp(nil, nil, nil)
	for _, p := range commandPaths(app.Commands, nil) {
		name := "certkit " + strings.Join(p, " ")
		i := strings.Index(page, ".SS "+roffQuote(name)+"\n")
		if i < 0 {
			t.Errorf("no section for %s", name)
			continue
		}
		section := page[i+1:]
		if j := strings.Index(section, "\n.SS "); j >= 0 {
			section = section[:j]
		}
		cmd := findCommand(app.Commands, p[0])
		for _, w := range p[1:] {
			cmd = findCommand(cmd.Subcommands, w)
		}
		for _, f := range cmd.Flags {
			entry := ".TP\n\\fB\\-\\-" + strings.ReplaceAll(f.Names()[0], "-", "\\-") + "\\fR"
			if !strings.Contains(section, entry) {
				t.Errorf("%s: no entry for --%s", name, f.Names()[0])
			}
		}
	}
}

func TestManRoffEscapes(t *testing.T) {
	tests := []struct{ in, want string }{
		{`--host a\b`, `\-\-host a\eb`},
		{".bak- backups", `\&.bak\- backups`},
		{"'quoted'", `\&'quoted'`},
		{"… and 3 more", `\[u2026] and 3 more`},
	}
	for _, tt := range tests {
		if got := roffText(tt.in); got != tt.want {
			t.Errorf("roffText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	long := strings.Repeat("word ", 40) + ".hidden"
	for _, line := range strings.Split(strings.TrimSuffix(roffFill(long), "\n"), "\n") {
		if len(line) > 80 || strings.HasPrefix(line, ".") {
			t.Errorf("roffFill line %q is longer than 80 bytes or starts with a control character", line)
		}
	}
	var b bytes.Buffer
	if err := writeManPage(&b, newApp(nil, nil, nil), time.Date(2030, 1, 2, 23, 0, 0, 0, time.FixedZone("X", -5*3600))); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(b.String(), ".TH CERTKIT 1 2030-01-03 ") {
		t.Errorf("the page is not dated in UTC: %.40s", b.String())
	}
}

func TestManUsage(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := runWith([]string{"certkit", "man", "issue"}, nil, &stdout, &stderr); code != 2 || stdout.Len() > 0 {
		t.Errorf("certkit man issue: exit %d, stdout %d bytes; want exit 2 and nothing", code, stdout.Len())
	}
}
