//go:build unix

package main

import (
	"bytes"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// pcRegistry is the registry of the printed-commands scenarios: not
// reg.example.com, so that a command naming the example instead of the
// home's registry shows.
const pcRegistry = "myreg.test:5000"

// pcScenario is a state made by setup (and mutate), then one run of
// certkit whose printed commands are collected. In args, {H} is the
// certkit home, {C} the certs root, {B} the folder of both, {R} the
// registry.
type pcScenario struct {
	name   string
	setup  [][]string
	mutate func(t *testing.T, base string)
	run    []string
	chdir  bool // run from {B} (for a relative --home)
	none   bool // its messages name no certkit command (a --force, an mv)
}

// TestPrintedCommandsRun: every certkit command that a run prints on a
// fix, hint or Next line, across the scenarios of init-ca, issue,
// template, install (client and server), verify --offline, status and
// renew, names the run's certkit home (--home, absolute) and certs root
// (--certs-dir), names the home's registry rather than the README's
// example, and, run on a fresh copy of the scenario's state, is accepted
// (exit 0 or 1, never a usage error).
func TestPrintedCommandsRun(t *testing.T) {
	t.Setenv("CERTKIT_HOME", "")
	t.Setenv("XDG_DATA_HOME", "")
	t.Setenv("HOME", t.TempDir())
	t.Setenv("XDG_CONFIG_HOME", "")
	initCA := []string{"init-ca"}
	server := []string{"issue", "server", "--host", "{R}"}
	client := []string{"issue", "client", "--host", "{R}"}
	soon := []string{"issue", "client", "--host", "{R}", "--name", "soon", "--validity", "10d"}
	inst := []string{"install", "--host", "{R}", "--certs-dir", "{C}"}
	folder := func(base string) string { return filepath.Join(base, "certs.d", pcRegistry) }
	otherCA := func(t *testing.T, base string) {
		other := filepath.Join(t.TempDir(), "other")
		if code, stderr := ck(t, "--home", other, "init-ca", "--cn", "other CA"); code != 0 {
			t.Fatal(stderr)
		}
		b, _ := os.ReadFile(filepath.Join(other, "ca", "ca.crt"))
		writeFile(t, filepath.Join(folder(base), "ca.crt"), b, 0o644)
	}
	group := strconv.Itoa(os.Getegid())

	scenarios := []pcScenario{
		{name: "init-ca", run: []string{"--home", "{H}", "init-ca"}},
		{name: "init-ca-again", none: true, setup: [][]string{initCA}, run: []string{"init-ca", "--home", "{H}"}},
		{name: "issue-without-ca", run: []string{"--home", "{H}", "issue", "server", "--host", "{R}"}},
		{name: "issue-server", setup: [][]string{initCA}, run: []string{"--home", "{H}", "issue", "server", "--host", "{R}"}},
		{name: "issue-server-relative-home", setup: [][]string{initCA}, chdir: true, run: []string{"--home", "home", "issue", "server", "--host", "{R}"}},
		{name: "issue-client", setup: [][]string{initCA, server}, run: []string{"issue", "client", "--host", "{R}", "--home", "{H}"}},
		{name: "issue-client-again", none: true, setup: [][]string{initCA, client}, run: []string{"--home", "{H}", "issue", "client", "--host", "{R}"}},
		{name: "template-registry", setup: [][]string{initCA, server}, run: []string{"--home", "{H}", "template", "registry", "--host", "{R}", "--out", "{B}/config.yml"}},
		{name: "template-behind-proxy", setup: [][]string{initCA, server}, run: []string{"--home", "{H}", "template", "registry", "--host", "{R}", "--behind-proxy", "--out", "{B}/config.yml"}},
		{name: "template-nginx", setup: [][]string{initCA, server}, run: []string{"--home", "{H}", "template", "nginx", "--host", "{R}", "--out", "{B}/nginx.conf"}},
		{name: "template-not-issued", setup: [][]string{initCA}, run: []string{"--home", "{H}", "template", "registry", "--host", "{R}"}},
		{name: "install", setup: [][]string{initCA, client}, run: []string{"--home", "{H}", "install", "--host", "{R}", "--certs-dir", "{C}"}},
		{name: "install-nothing-issued", setup: [][]string{initCA, server}, run: []string{"--home", "{H}", "install", "--certs-dir", "{C}"}},
		{name: "install-not-issued-for-host", setup: [][]string{initCA, server}, run: []string{"--home", "{H}", "install", "--host", "{R}", "--certs-dir", "{C}"}},
		{name: "install-server", setup: [][]string{initCA, server}, run: []string{"--home", "{H}", "install", "--server", "--host", "{R}", "--dir", "{B}/srv", "--group", group}},
		{name: "install-server-not-issued", setup: [][]string{initCA}, run: []string{"--home", "{H}", "install", "--server", "--host", "{R}", "--dir", "{B}/srv", "--group", group}},
		{name: "verify-no-folder", setup: [][]string{initCA, client}, run: []string{"--home", "{H}", "verify", "--offline", "--host", "{R}", "--certs-dir", "{C}"}},
		{name: "verify-all-empty-root", setup: [][]string{initCA, client}, run: []string{"--home", "{H}", "verify", "--offline", "--all", "--certs-dir", "{C}"}},
		{name: "verify-other-ca", setup: [][]string{initCA, client, inst}, mutate: otherCA, run: []string{"--home", "{H}", "verify", "--offline", "--host", "{R}", "--certs-dir", "{C}"}},
		{name: "verify-expiring", setup: [][]string{initCA, soon, inst}, run: []string{"--home", "{H}", "verify", "--offline", "--host", "{R}", "--certs-dir", "{C}"}},
		{name: "verify-stray-key", none: true, setup: [][]string{initCA, client, inst}, mutate: func(t *testing.T, base string) {
			writeFile(t, filepath.Join(folder(base), "old.key"), []byte("-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----\n"), 0o600)
		}, run: []string{"--home", "{H}", "verify", "--offline", "--host", "{R}", "--certs-dir", "{C}"}},
		{name: "verify-der-ca", none: true, setup: [][]string{initCA, client, inst}, mutate: func(t *testing.T, base string) {
			b, _ := os.ReadFile(filepath.Join(folder(base), "ca.crt"))
			writeFile(t, filepath.Join(folder(base), "ca.crt"), pemToDER(t, b), 0o644)
		}, run: []string{"--home", "{H}", "verify", "--offline", "--host", "{R}", "--certs-dir", "{C}"}},
		{name: "verify-misnamed", none: true, setup: [][]string{initCA, client, inst}, mutate: func(t *testing.T, base string) {
			if err := os.Rename(folder(base), filepath.Join(base, "certs.d", "myreg.test_5000")); err != nil {
				t.Fatal(err)
			}
		}, run: []string{"--home", "{H}", "verify", "--offline", "--host", "{R}", "--certs-dir", "{C}"}},
		{name: "status-expiring", setup: [][]string{initCA, soon, inst}, run: []string{"--home", "{H}", "status", "--within", "30d", "--certs-dir", "{C}"}},
		{name: "renew", setup: [][]string{initCA, soon, inst}, run: []string{"--home", "{H}", "renew", "--all", "--certs-dir", "{C}"}},
		// export of a pair whose key is not its own: the fix issues it again.
		{name: "export-broken-pair", setup: [][]string{initCA, client}, mutate: func(t *testing.T, base string) {
			other := filepath.Join(t.TempDir(), "other")
			if code, stderr := ck(t, "--home", other, "init-ca"); code != 0 {
				t.Fatal(stderr)
			}
			if code, stderr := ck(t, "--home", other, "issue", "client", "--host", pcRegistry); code != 0 {
				t.Fatal(stderr)
			}
			b, _ := os.ReadFile(filepath.Join(other, "hosts", pcRegistry, "client.key"))
			writeFile(t, filepath.Join(base, "home", "hosts", pcRegistry, "client.key"), b, 0o600)
		}, run: []string{"--home", "{H}", "export", "--host", "{R}", "--out", "{B}/client.bundle"}},
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			base := t.TempDir()
			h := filepath.Join(base, "home")
			certs := filepath.Join(base, "certs.d")
			expand := func(args []string) []string {
				out := make([]string, len(args))
				r := strings.NewReplacer("{H}", h, "{C}", certs, "{B}", base, "{R}", pcRegistry)
				for i, a := range args {
					out[i] = r.Replace(a)
				}
				return out
			}
			for _, args := range sc.setup {
				if code, stderr := ck(t, append([]string{"--home", h}, expand(args)...)...); code != 0 {
					t.Fatalf("setup %v: exit %d\n%s", args, code, stderr)
				}
			}
			if sc.mutate != nil {
				sc.mutate(t, base)
			}
			if sc.chdir {
				t.Chdir(base)
			}
			var stdout, stderr bytes.Buffer
			runWith(append([]string{"certkit"}, expand(sc.run)...), strings.NewReader(""), &stdout, &stderr)
			out := stderr.String() + stdout.String()
			cmds := printedCommands(out)
			if len(cmds) == 0 && !sc.none {
				t.Fatalf("the run printed no command on a fix, hint or Next line:\n%s", out)
			}
			t.Logf("the run:\n%s", out)
			_, statErr := os.Stat(filepath.Join(h, "hosts", pcRegistry))
			homeHasRegistry := statErr == nil
			for _, words := range cmds {
				line := strings.Join(words, " ")
				checkPrinted(t, words, line, h, certs, sc.run, homeHasRegistry)
				runPrinted(t, base, words, line)
			}
		})
	}
}

// checkPrinted checks that a printed command names the run's home and
// certs root, and the home's registry.
func checkPrinted(t *testing.T, words []string, line, h, certs string, run []string, homeHasRegistry bool) {
	t.Helper()
	flag := func(name string) (string, bool) {
		for i, w := range words {
			if w == "--"+name && i+1 < len(words) {
				return words[i+1], true
			}
			if v, ok := strings.CutPrefix(w, "--"+name+"="); ok {
				return v, true
			}
		}
		return "", false
	}
	if v, ok := flag("home"); !ok || v != h {
		t.Errorf("%q does not carry the run's --home %s", line, h)
	}
	cmd := words[0]
	takesRoot := cmd == "install" && !slicesContains(words, "--server") || cmd == "uninstall" || cmd == "verify" || cmd == "status" ||
		cmd == "renew" && slicesContains(words, "--install")
	if slicesContains(run, "--certs-dir") && takesRoot {
		if v, ok := flag("certs-dir"); !ok || v != certs {
			t.Errorf("%q does not carry the run's --certs-dir %s", line, certs)
		}
	}
	if homeHasRegistry && strings.Contains(line, "reg.example.com") {
		t.Errorf("%q names the example registry where the home holds %s", line, pcRegistry)
	}
}

// runPrinted runs a printed command on a copy of the scenario's state
// (its paths moved to the copy), from the copy: it must be accepted (exit
// 0 or 1; 2 is a usage error).
func runPrinted(t *testing.T, base string, words []string, line string) {
	t.Helper()
	cp := filepath.Join(t.TempDir(), "copy")
	if out, err := exec.Command("cp", "-a", base, cp).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v\n%s", err, out)
	}
	args := []string{"certkit"}
	for _, w := range words {
		args = append(args, strings.ReplaceAll(w, base, cp))
	}
	if (words[0] == "install" || words[0] == "uninstall") && !slicesContains(words, "--certs-dir") && !slicesContains(words, "--dir") {
		// It would write a system root: only the parser is asked.
		args = append(args, "--dry-run")
	}
	if words[0] == "verify" && !slicesContains(words, "--addr") && !slicesContains(words, "--offline") {
		// No registry listens, and the test resolves no name.
		args = append(args, "--offline")
	}
	wd, _ := os.Getwd()
	defer os.Chdir(wd)
	if err := os.Chdir(cp); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	code := runWith(args, strings.NewReader(""), &stdout, &stderr)
	if code != 0 && code != 1 {
		t.Errorf("printed command %q exits %d:\n%s", line, code, stderr.String())
	} else if code != 0 {
		t.Logf("printed command %q exits 1:\n%s", line, stderr.String())
	}
}

func slicesContains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// printedCommands returns every certkit command (its words after
// "certkit", unquoted) on the fix, hint and Next lines of out, and on
// the indented lines that continue a Next line.
func printedCommands(out string) [][]string {
	names := map[string]bool{"--home": true}
	for _, c := range newApp(nil, nil, nil).Commands {
		names[c.Name] = true
	}
	var cmds [][]string
	inNext := false
	for _, line := range strings.Split(out, "\n") {
		trimmed := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "Next:"):
			inNext = true
		case inNext && strings.HasPrefix(line, "  "):
		default:
			inNext = false
			if !strings.HasPrefix(trimmed, "fix:") && !strings.HasPrefix(line, "certkit: hint:") &&
				!strings.HasPrefix(line, "certkit: error:") {
				continue
			}
		}
		for rest := line; ; {
			i := strings.Index(rest, "certkit ")
			if i < 0 {
				break
			}
			rest = rest[i+len("certkit "):]
			if rest == "" || !(rest[0] >= 'a' && rest[0] <= 'z' || rest[0] == '-') {
				continue
			}
			if words := commandWords(rest); len(words) > 0 && names[strings.SplitN(words[0], "=", 2)[0]] {
				// A global --home before the command name.
				for len(words) > 2 && strings.HasPrefix(words[0], "--home") {
					words = append(words[2:], words[0], words[1])
				}
				cmds = append(cmds, words)
			}
		}
	}
	return cmds
}

// commandWords reads shell words from s up to the end of the command: a
// word ending in ',', ';' or ')', a word starting with '(', or one of
// then, and, or.
func commandWords(s string) []string {
	var words []string
	var w strings.Builder
	quoted, in := false, false
	end := func() bool {
		raw := w.String()
		w.Reset()
		in = false
		stop := false
		if t := strings.TrimRight(raw, ",;)."); t != raw {
			raw, stop = t, true
		}
		switch raw {
		case "then", "and", "or", "":
			return true
		}
		if strings.HasPrefix(raw, "(") {
			return true
		}
		words = append(words, strings.ReplaceAll(raw, "\x00", ""))
		return stop
	}
	for _, r := range s {
		switch {
		case r == '\'':
			quoted, in = !quoted, true
			w.WriteRune('\x00')
		case r == ' ' && !quoted:
			if in && end() {
				return words
			}
		default:
			w.WriteRune(r)
			in = true
		}
	}
	if in {
		end()
	}
	return words
}

func writeFile(t *testing.T, path string, data []byte, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, data, mode); err != nil {
		t.Fatal(err)
	}
}

func pemToDER(t *testing.T, b []byte) []byte {
	t.Helper()
	blk, _ := pem.Decode(b)
	if blk == nil {
		t.Fatal("no PEM block")
	}
	return blk.Bytes
}

// proseWidth is the length of a message line without the paths and the
// commands it quotes (a word holding '/', and a command from certkit, mv,
// openssl or sudo to the next ',', ';' or ')'): what a reader reads.
func proseWidth(line string) int {
	var b strings.Builder
	for _, w := range strings.Fields(line) {
		if !strings.Contains(w, "/") {
			b.WriteString(w + " ")
		}
	}
	s := b.String()
	for _, cmd := range []string{"certkit ", "mv ", "openssl ", "sudo ", "chmod ", "mkdir "} {
		for {
			i := strings.Index(s, cmd)
			if i < 0 || i > 0 && s[i-1] != ' ' && s[i-1] != '(' {
				break
			}
			j := strings.IndexAny(s[i:], ",;)")
			if j < 0 {
				j = len(s) - i
			}
			s = s[:i] + s[i+j:]
		}
	}
	return len([]rune(strings.TrimSpace(s)))
}

// TestMessageLinesShort: across the verify and install scenarios of
// TestPrintedCommandsRun and a live verify of a loopback registry, no
// line says more than 160 characters of prose (paths and commands
// quoted aside): one line of what, one of what to do.
func TestMessageLinesShort(t *testing.T) {
	t.Setenv("CERTKIT_HOME", "")
	t.Setenv("XDG_DATA_HOME", "")
	t.Setenv("HOME", t.TempDir())
	base := t.TempDir()
	h := filepath.Join(base, "home")
	certs := filepath.Join(base, "certs.d")
	other := filepath.Join(base, "other")
	folder := filepath.Join(certs, pcRegistry)
	var out strings.Builder
	run := func(args ...string) {
		t.Helper()
		var stdout, stderr bytes.Buffer
		runWith(append([]string{"certkit", "--home", h}, args...), strings.NewReader(""), &stdout, &stderr)
		out.WriteString(stderr.String())
	}
	must(t, h, "init-ca")
	must(t, other, "init-ca", "--cn", "other CA")
	must(t, h, "issue", "server", "--host", pcRegistry)
	must(t, h, "issue", "client", "--host", pcRegistry, "--name", "client", "--name", "laptop")
	must(t, h, "issue", "client", "--host", pcRegistry, "--name", "soon", "--validity", "10d")
	run("install", "--host", pcRegistry, "--certs-dir", certs)
	run("verify", "--offline", "--host", pcRegistry, "--certs-dir", certs)
	run("status", "--within", "30d", "--certs-dir", certs)
	// Another CA's ca.crt, in DER: the CA the folder's pairs need is
	// unreadable, and every pair is from "another" CA.
	b, _ := os.ReadFile(filepath.Join(other, "ca", "ca.crt"))
	writeFile(t, filepath.Join(folder, "ca.crt"), b, 0o644)
	run("verify", "--offline", "--host", pcRegistry, "--certs-dir", certs)
	writeFile(t, filepath.Join(folder, "ca.crt"), pemToDER(t, b), 0o644)
	run("verify", "--offline", "--host", pcRegistry, "--certs-dir", certs)
	writeFile(t, filepath.Join(folder, "old.key"), []byte("-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----\n"), 0o600)
	run("verify", "--offline", "--host", pcRegistry, "--certs-dir", certs)
	run("install", "--host", pcRegistry, "--certs-dir", certs)
	// Folders for the registry's host on other ports, and a misspelling.
	for _, n := range []string{"myreg.test", "myreg.test:5001", "myreg.test:5002", "myreg.test_5000"} {
		if err := os.MkdirAll(filepath.Join(certs, n), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.RemoveAll(folder); err != nil {
		t.Fatal(err)
	}
	run("verify", "--offline", "--host", pcRegistry, "--certs-dir", certs)
	// A live registry on a loopback address.
	lo := "127.0.0.1:" + strconv.Itoa(4000+os.Getpid()%1000)
	must(t, h, "issue", "server", "--host", lo)
	must(t, h, "issue", "client", "--host", lo)
	run("install", "--host", lo, "--certs-dir", certs)
	addr := serveRegistry(t, h, lo)
	run("verify", "--host", lo, "--certs-dir", certs, "--addr", addr)

	t.Logf("the runs:\n%s", out.String())
	for _, line := range strings.Split(out.String(), "\n") {
		if n := proseWidth(line); n > 160 {
			t.Errorf("%d characters of prose:\n%s", n, line)
		}
	}
}

// TestTemplateCommentsCarryHome: the certkit commands a rendered file
// names in its comments carry the run's --home, as every printed command
// does.
func TestTemplateCommentsCarryHome(t *testing.T) {
	h := filepath.Join(t.TempDir(), "home")
	for _, args := range [][]string{{"init-ca"}, {"issue", "server", "--host", pcRegistry}} {
		if code, stderr := ck(t, append([]string{"--home", h}, args...)...); code != 0 {
			t.Fatal(stderr)
		}
	}
	for _, kind := range []string{"registry", "nginx", "apache", "containerd", "compose"} {
		var stdout, stderr bytes.Buffer
		if code := runWith([]string{"certkit", "--home", h, "template", kind, "--host", pcRegistry}, strings.NewReader(""), &stdout, &stderr); code != 0 {
			t.Fatalf("template %s: %s", kind, stderr.String())
		}
		for _, line := range strings.Split(stdout.String(), "\n") {
			i := strings.Index(line, "certkit ")
			if i < 0 {
				continue
			}
			words := strings.Fields(line[i:])
			if len(words) < 3 || !strings.HasPrefix(words[2], "--") && !slices.Contains([]string{"client", "server", "registry", "nginx", "apache"}, words[2]) {
				continue // prose that names certkit, not a command
			}
			if !strings.Contains(line, "--home "+h) {
				t.Errorf("template %s: a command without the run's --home: %s", kind, strings.TrimSpace(line))
			}
		}
	}
}
