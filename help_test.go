package main

import (
	"bufio"
	"bytes"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

var update = flag.Bool("update", false, "rewrite the golden help files in testdata/help")

// commandPaths lists every command and subcommand as argument lists.
func commandPaths(cmds []*cli.Command, prefix []string) [][]string {
	var out [][]string
	for _, c := range cmds {
		if c.Hidden {
			continue
		}
		p := append(append([]string{}, prefix...), c.Name)
		out = append(out, p)
		out = append(out, commandPaths(c.Subcommands, p)...)
	}
	return out
}

// TestHelpGolden: the help of every command is what testdata/help holds.
// Help is the first documentation people read; a change to it must be a
// reviewed change to these files (go test -run TestHelpGolden -update).
func TestHelpGolden(t *testing.T) {
	app := newApp(nil, nil, nil)
	paths := append([][]string{{}}, commandPaths(app.Commands, nil)...)
	for _, p := range paths {
		name := strings.Join(append([]string{"certkit"}, p...), "-")
		t.Run(name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			args := append(append([]string{"certkit"}, p...), "--help")
			if code := runWith(args, nil, &stdout, &stderr); code != 0 {
				t.Fatalf("exit %d: %s", code, stderr.String())
			}
			got := stdout.Bytes()
			if !bytes.Contains(got, []byte("Examples:")) && len(p) > 0 && len(p[len(p)-1]) > 0 {
				t.Errorf("%s --help has no examples", strings.Join(p, " "))
			}
			golden := filepath.Join("testdata", "help", name+".golden")
			if *update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -run TestHelpGolden -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("help changed; review and run go test -run TestHelpGolden -update\ngot:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

// TestHelpFitsTerminal: the wizard's help fits an 80-column terminal; the
// other commands' (urfave/cli's layout, one line per flag) stay readable.
func TestHelpFitsTerminal(t *testing.T) {
	matches, _ := filepath.Glob(filepath.Join("testdata", "help", "*.golden"))
	if len(matches) == 0 {
		t.Fatal("no golden help files")
	}
	for _, m := range matches {
		width := 160
		if filepath.Base(m) == "certkit-setup.golden" {
			width = 80
		}
		data, _ := os.ReadFile(m)
		sc := bufio.NewScanner(bytes.NewReader(data))
		for n := 1; sc.Scan(); n++ {
			if line := sc.Text(); len([]rune(line)) > width {
				t.Errorf("%s:%d is %d columns wide (at most %d)", filepath.Base(m), n, len([]rune(line)), width)
			}
		}
	}
}

// TestReadmeCommands: every certkit command line in README.md, the
// examples' and the bench README names a real command and only flags that
// command has, so the documentation cannot drift from the CLI.
func TestReadmeCommands(t *testing.T) {
	docs, _ := filepath.Glob(filepath.Join("examples", "*", "README.md"))
	docs = append([]string{"README.md", filepath.Join("examples", "README.md"), filepath.Join("bench", "README.md")}, docs...)
	app := newApp(nil, nil, nil)
	for _, doc := range docs {
		data, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		// Commands are every line of sh blocks and the "$ " lines of
		// console blocks; other blocks are output.
		lang, inCode, checked := "", false, 0
		for n, line := range strings.Split(string(data), "\n") {
			if fence, ok := strings.CutPrefix(line, "```"); ok {
				inCode, lang = !inCode, strings.TrimSpace(fence)
				continue
			}
			if !inCode {
				continue
			}
			line = strings.TrimSpace(line)
			switch lang {
			case "sh", "bash":
			case "console":
				var ok bool
				if line, ok = strings.CutPrefix(line, "$ "); !ok {
					continue
				}
			default:
				continue
			}
			line = strings.TrimPrefix(line, "sudo ")
			if i := strings.Index(line, " #"); i >= 0 {
				line = line[:i]
			}
			if !strings.HasPrefix(line, "certkit ") {
				continue
			}
			words := strings.Fields(line)[1:]
			if err := checkCommandLine(app, words); err != "" {
				t.Errorf("%s:%d: %s: %s", doc, n+1, line, err)
			}
			checked++
		}
		if doc == "README.md" && checked < 10 {
			t.Errorf("only %d certkit command lines found in README.md", checked)
		}
	}
}

func checkCommandLine(app *cli.App, words []string) string {
	cmds, flags := app.Commands, app.Flags
	var path []string
	for _, w := range words {
		if strings.HasPrefix(w, "-") {
			name := strings.TrimLeft(w, "-")
			if i := strings.IndexByte(name, '='); i >= 0 {
				name = name[:i]
			}
			if name == "help" || name == "h" || name == "version" || name == "v" {
				continue
			}
			if !hasFlag(flags, name) {
				return "no flag --" + name + " on certkit " + strings.Join(path, " ")
			}
			continue
		}
		if c := findCommand(cmds, w); c != nil && (len(path) == 0 || len(cmds) > 0) {
			path = append(path, w)
			cmds, flags = c.Subcommands, c.Flags
			continue
		}
		if len(path) == 0 {
			return "no command " + w
		}
	}
	return ""
}

func findCommand(cmds []*cli.Command, name string) *cli.Command {
	for _, c := range cmds {
		for _, n := range c.Names() {
			if n == name {
				return c
			}
		}
	}
	return nil
}

func hasFlag(flags []cli.Flag, name string) bool {
	for _, f := range flags {
		for _, n := range f.Names() {
			if n == name {
				return true
			}
		}
	}
	return false
}

// TestReadmeMainJob runs the README's first set-up command exactly as
// written (go run . demo) and checks that it succeeds and leaves nothing
// in its temporary folder.
func TestReadmeMainJob(t *testing.T) {
	if testing.Short() {
		t.Skip("builds certkit with go run")
	}
	data, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(data), "## Set-up")
	if !ok {
		t.Fatal("README.md has no Set-up section")
	}
	_, block, ok := strings.Cut(rest, "```sh\n")
	if !ok {
		t.Fatal("the Set-up section has no sh block")
	}
	block, _, _ = strings.Cut(block, "```")
	lines := strings.Split(strings.TrimSpace(block), "\n")
	if len(lines) != 2 {
		t.Fatalf("the Set-up block has %d commands, want exactly 2:\n%s", len(lines), block)
	}
	mainJob, _, _ := strings.Cut(lines[0], "#")
	mainJob = strings.TrimSpace(mainJob)
	if mainJob != "go run . demo" {
		t.Fatalf("main job is %q", mainJob)
	}
	if test, _, _ := strings.Cut(lines[1], "#"); strings.TrimSpace(test) != "./scripts/test" {
		t.Errorf("test command is %q; .ci/run calls ./scripts/test", test)
	}
	ci, err := os.ReadFile(".ci/run")
	if err != nil || !strings.Contains(string(ci), "./scripts/test") {
		t.Errorf(".ci/run does not call ./scripts/test: %v", err)
	}
	tmp := t.TempDir()
	cmd := exec.Command("sh", "-c", mainJob)
	cmd.Env = append(os.Environ(), "TMPDIR="+tmp, "CERTKIT_HOME="+filepath.Join(tmp, "must-not-be-used"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", mainJob, err, out)
	}
	if !bytes.Contains(out, []byte("passed")) {
		t.Errorf("the demo did not report a passing verify:\n%s", out)
	}
	left, _ := os.ReadDir(tmp)
	for _, e := range left {
		// go run keeps its build folder under TMPDIR only while it runs.
		t.Errorf("left behind in TMPDIR: %s", e.Name())
	}
}

// TestHelpCommand: certkit help [COMMAND...] prints what --help prints,
// on stdout, and an unknown topic is a usage error that names the command
// meant.
func TestHelpCommand(t *testing.T) {
	for _, path := range [][]string{{}, {"issue"}, {"issue", "client"}, {"verify"}, {"completion"}} {
		name := strings.Join(append([]string{"help"}, path...), " ")
		t.Run(name, func(t *testing.T) {
			var want, got, stderr bytes.Buffer
			if code := runWith(append(append([]string{"certkit"}, path...), "--help"), nil, &want, &stderr); code != 0 {
				t.Fatalf("--help: exit %d: %s", code, stderr.String())
			}
			if code := runWith(append([]string{"certkit", "help"}, path...), nil, &got, &stderr); code != 0 {
				t.Fatalf("certkit %s: exit %d: %s", name, code, stderr.String())
			}
			if got.String() != want.String() {
				t.Errorf("certkit %s printed:\n%s\nwant what --help prints:\n%s", name, got.String(), want.String())
			}
		})
	}
	var stdout, stderr bytes.Buffer
	code := runWith([]string{"certkit", "help", "issue", "clinet"}, nil, &stdout, &stderr)
	if code != 2 || stdout.Len() > 0 {
		t.Errorf("certkit help issue clinet: exit %d, stdout %q; want exit 2 and nothing on stdout", code, stdout.String())
	}
	if want := "certkit: error: no help for \"issue clinet\": certkit issue has no command \"clinet\"\ncertkit: hint: did you mean certkit issue client?\n"; stderr.String() != want {
		t.Errorf("stderr:\n%s\nwant:\n%s", stderr.String(), want)
	}
}

// TestUsageErrors: a command line certkit cannot make sense of exits 2 with
// an error and, when a name is near one certkit has, the name meant.
func TestUsageErrors(t *testing.T) {
	tests := []struct {
		args      []string
		err, hint string
	}{
		{[]string{"issue"}, "name the certificate to issue: server or client", "certkit issue server|client --host HOST[:PORT]"},
		{[]string{"template"}, "name the template to render", "certkit template registry|nginx|apache|containerd|compose --host HOST[:PORT]"},
		{[]string{"issue", "client", "--hots", "reg"}, "flag provided but not defined: -hots", "did you mean --host?"},
		{[]string{"issue", "server", "--vaildity", "2y"}, "flag provided but not defined: -vaildity", "did you mean --validity?"},
		{[]string{"install", "--dryrun"}, "flag provided but not defined: -dryrun", "did you mean --dry-run?"},
		{[]string{"verify", "--offlin"}, "flag provided but not defined: -offlin", "did you mean --offline?"},
		{[]string{"--hme", "x", "demo"}, "flag provided but not defined: -hme", "did you mean --home?"},
		{[]string{"verify", "--zzzzzz"}, "flag provided but not defined: -zzzzzz", ""},
		{[]string{"isue"}, `unknown command "isue"; run certkit --help`, "did you mean certkit issue?"},
		{[]string{"frobnicate"}, `unknown command "frobnicate"; run certkit --help`, ""},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := runWith(append([]string{"certkit"}, tt.args...), nil, &stdout, &stderr)
			if code != 2 {
				t.Errorf("exit %d, want 2", code)
			}
			if stdout.Len() > 0 {
				t.Errorf("stdout: %q, want nothing", stdout.String())
			}
			want := "certkit: error: " + tt.err + "\n"
			if tt.hint != "" {
				want += "certkit: hint: " + tt.hint + "\n"
			}
			if stderr.String() != want {
				t.Errorf("stderr:\n%s\nwant:\n%s", stderr.String(), want)
			}
		})
	}
}
