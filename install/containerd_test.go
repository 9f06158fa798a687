//go:build unix

package install

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/certkit/certkit/host"
	"github.com/certkit/certkit/internal/errs"
	"github.com/certkit/certkit/internal/testenv"
)

// problemsOf returns the problems of one kind.
func problemsOf(ps []Problem, kind Kind) []Problem {
	var out []Problem
	for _, p := range ps {
		if p.Kind == kind {
			out = append(out, p)
		}
	}
	return out
}

// applyTOMLFix edits the hosts.toml at path as the fix of a
// hidden-by-hosts-toml warning says: each section ("at the top, before the
// first [table]" or "under [host."…"]") lists lines that replace the
// entry's own ca and client lines.
func applyTOMLFix(t *testing.T, path, fix string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	type section struct {
		table string // "" for the top
		lines []string
	}
	var secs []section
	header := regexp.MustCompile(`(at the top, before the first \[table\]|under (\[host\."[^"]*"\]))`)
	sc := bufio.NewScanner(strings.NewReader(fix))
	for sc.Scan() {
		l := sc.Text()
		if strings.HasPrefix(l, "  ") {
			if len(secs) == 0 {
				t.Fatalf("a line before any section in the fix %q", fix)
			}
			secs[len(secs)-1].lines = append(secs[len(secs)-1].lines, strings.TrimSpace(l))
			continue
		}
		if strings.HasPrefix(l, "or ") {
			continue
		}
		m := header.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("no section in %q of the fix %q", l, fix)
		}
		secs = append(secs, section{table: m[2]})
	}
	if len(secs) == 0 {
		t.Fatalf("the fix %q says no line to set", fix)
	}
	for _, s := range secs {
		// The table's span: from its header (or the top) to the next header.
		start, end := 0, len(lines)
		if s.table != "" {
			start = -1
			for i, l := range lines {
				if strings.TrimSpace(l) == s.table {
					start = i + 1
				}
			}
			if start < 0 {
				t.Fatalf("%s has no %s", path, s.table)
			}
		}
		for i := start; i < len(lines); i++ {
			if strings.HasPrefix(strings.TrimSpace(lines[i]), "[") {
				end = i
				break
			}
		}
		// Each line of the fix replaces the entry's own line of that key,
		// and only that one.
		key := func(l string) string {
			k, _, _ := strings.Cut(strings.TrimSpace(l), "=")
			return strings.TrimSpace(k)
		}
		set := map[string]bool{}
		for _, l := range s.lines {
			set[key(l)] = true
		}
		var kept []string
		for _, l := range lines[start:end] {
			if k := key(l); (k == "ca" || k == "client") && set[k] {
				continue // replaced
			}
			kept = append(kept, l)
		}
		var out []string
		out = append(out, lines[:start]...)
		out = append(out, s.lines...)
		out = append(out, kept...)
		lines = append(out, lines[end:]...)
	}
	testenv.WriteFile(t, path, []byte(strings.Join(lines, "\n")+"\n"), 0o644)
}

// TestInstallBesideForeignHostsTOML: a hosts.toml of the user's stays as it
// is, with or without --force (which never replaces it);
// certkit's files go beside it; when it does not name them, one warning per
// folder says that containerd ignores them, with the lines to set, and
// those lines, set, make containerd reach the registry.
func TestInstallBesideForeignHostsTOML(t *testing.T) {
	p := newPKI(t)
	other := newPKI(t)
	reg := startRegistry(t, p)
	name := reg.Name.String()
	p.issueClient(t, name, "client")
	p.issueClient(t, name, "laptop")
	tests := []struct {
		name   string
		target Target
		// dockers: the root is Docker's own, which containerd's default
		// config_path names (after /etc/containerd/certs.d)
		dockers bool
		toml    string
		extra   map[string][]byte // other files of the user's in the folder
		want    string            // in the warning's message
		lines   []string          // in the fix
	}{
		{"docker root, [host] entry for the registry", Docker, true,
			"server = \"https://" + name + "\"\n\n[host.\"https://" + name + "\"]\n  capabilities = [\"pull\", \"resolve\"]\n", nil,
			"containerd (which reads Docker's certs root too) and Docker's containerd image store read only the files hosts.toml names",
			[]string{"at the top, before the first [table]", `under [host."https://` + name + `"]`,
				`  ca = "ca.crt"`, `  client = [["client.cert", "client.key"], ["laptop.cert", "laptop.key"]]`}},
		{"docker layout elsewhere (--certs-dir), [host] entry for the registry", Docker, false,
			"server = \"https://" + name + "\"\n\n[host.\"https://" + name + "\"]\n  capabilities = [\"pull\", \"resolve\"]\n", nil,
			"Docker's containerd image store reads only the files hosts.toml names",
			[]string{"at the top, before the first [table]", `under [host."https://` + name + `"]`}},
		{"rootless root, server only", DockerRootless, false,
			"server = \"https://" + name + "\"\n", nil,
			"Docker's containerd image store reads only the files hosts.toml names",
			[]string{"at the top", `  ca = "ca.crt"`}},
		{"containerd root, their own CA and a header", Containerd, false,
			"server = \"https://" + name + "\"\nca = \"theirs.crt\"\n\n[host.\"https://" + name + "\"]\n  capabilities = [\"pull\", \"resolve\"]\n  ca = [\"theirs.crt\"]\n  [host.\"https://" + name + "\".header]\n    x-team = \"builds\"\n",
			map[string][]byte{"theirs.crt": other.ca.CertPEM},
			"containerd reads only the files hosts.toml names, so it will not use them until it does",
			[]string{`  ca = ["theirs.crt", "ca.crt"]`, `under [host."https://` + name + `"]`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := filepath.Join(t.TempDir(), "certs.d")
			dir := filepath.Join(root, name)
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			tomlPath := filepath.Join(dir, HostsFile)
			testenv.WriteFile(t, tomlPath, []byte(tt.toml), 0o644)
			for n, data := range tt.extra {
				testenv.WriteFile(t, filepath.Join(dir, n), data, 0o644)
			}
			before := snapshot(t, dir)[HostsFile]
			roots := []Root{customRoot(t, tt.target, root)}
			if tt.dockers {
				roots[0].ContainerdFirst = []string{filepath.Join(t.TempDir(), "containerd")}
			}

			dry, err := Install(Options{Home: p.home, Roots: roots, DryRun: true})
			if err != nil {
				t.Fatal(err)
			}
			if ws := problemsOf(dry.Folders[0].Problems, KindHiddenByHostsTOML); len(ws) != 1 {
				t.Errorf("the dry run warns %v, want one %s warning", dry.Folders[0].Problems, KindHiddenByHostsTOML)
			}

			res, err := Install(Options{Home: p.home, Roots: roots})
			if err != nil {
				t.Fatal(err)
			}
			fr := res.Folders[0]
			if got := snapshot(t, dir); !equalStates(map[string]fileState{HostsFile: before}, map[string]fileState{HostsFile: got[HostsFile]}) {
				t.Fatal("install touched the user's hosts.toml")
			}
			for _, n := range []string{"ca.crt", "client.cert", "client.key", "laptop.cert", "laptop.key"} {
				if !exists(filepath.Join(dir, n)) {
					t.Errorf("%s was not installed", n)
				}
			}
			if _, own := mustManifest(t, dir).Has(HostsFile); own {
				t.Error("the manifest claims the user's hosts.toml")
			}
			ws := problemsOf(fr.Problems, KindHiddenByHostsTOML)
			if len(ws) != 1 || ws[0].File != HostsFile || ws[0].Severity != SeverityWarning {
				t.Fatalf("problems %v, want one %s warning on hosts.toml (once per folder)", fr.Problems, KindHiddenByHostsTOML)
			}
			w := ws[0]
			if !strings.Contains(w.Message, tt.want) || !strings.Contains(w.Message, "ca.crt, client.cert, client.key, laptop.cert and laptop.key") {
				t.Errorf("message %q, want it to say %q and name certkit's files", w.Message, tt.want)
			}
			for _, l := range tt.lines {
				if !strings.Contains(w.Fix, l) {
					t.Errorf("fix %q, want %q in it", w.Fix, l)
				}
			}
			if strings.Contains(w.Fix, "--force") {
				t.Errorf("fix %q: --force never replaces the user's hosts.toml", w.Fix)
			}
			// --force keeps it byte for byte, with the same warning.
			kept := readString(t, tomlPath)
			res, err = Install(Options{Home: p.home, Roots: roots, Force: true})
			if err != nil {
				t.Fatal(err)
			}
			if readString(t, tomlPath) != kept {
				t.Fatalf("--force changed the user's hosts.toml:\n%s", readString(t, tomlPath))
			}
			if ws := problemsOf(res.Folders[0].Problems, KindHiddenByHostsTOML); len(ws) != 1 || ws[0].Fix != w.Fix {
				t.Errorf("--force: problems %v, want the same warning", res.Folders[0].Problems)
			}
			if err := reg.viaContainerd(root); err == nil {
				t.Fatal("containerd reached the registry through a hosts.toml that names no client pair: the warning proves nothing")
			}
			if err := reg.viaPodman(dir); err != nil {
				t.Error(err)
			}

			// The lines of the fix, set, make containerd use certkit's files.
			applyTOMLFix(t, tomlPath, w.Fix)
			if err := reg.viaContainerd(root); err != nil {
				t.Fatalf("after setting the fix's lines:\n%s\n%v", readString(t, tomlPath), err)
			}
			// Now it names them: no warning, nothing to change, and --force
			// keeps it too.
			edited := readString(t, tomlPath)
			for _, force := range []bool{false, true} {
				res, err := Install(Options{Home: p.home, Roots: roots, Force: force})
				if err != nil {
					t.Fatal(err)
				}
				if ws := problemsOf(res.Folders[0].Problems, KindHiddenByHostsTOML); len(ws) != 0 {
					t.Errorf("--force=%v: still warns %v", force, ws)
				}
				if res.Changed() {
					t.Errorf("--force=%v changed %+v", force, res.Folders[0].Files)
				}
				if readString(t, tomlPath) != edited {
					t.Errorf("--force=%v replaced a hosts.toml that names certkit's files", force)
				}
			}
		})
	}
}

func mustManifest(t *testing.T, dir string) *Manifest {
	t.Helper()
	m, err := readManifest(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func readString(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// TestInstallForHostsTOMLWrittenFirst: a hosts.toml the user wrote before
// certkit's files exist, naming them (by a relative or an absolute path),
// does not stop the install: the files are there once it is done.
func TestInstallForHostsTOMLWrittenFirst(t *testing.T) {
	p := newPKI(t)
	reg := startRegistry(t, p)
	name := reg.Name.String()
	p.issueClient(t, name, "client")
	for _, abs := range []bool{false, true} {
		t.Run(map[bool]string{false: "relative", true: "absolute"}[abs], func(t *testing.T) {
			root := filepath.Join(t.TempDir(), "certs.d")
			dir := filepath.Join(root, name)
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			f := func(n string) string {
				if abs {
					return filepath.Join(dir, n)
				}
				return n
			}
			toml := "server = \"https://" + name + "\"\nca = \"" + f("ca.crt") + "\"\nclient = [[\"" + f("client.cert") + "\", \"" + f("client.key") + "\"]]\n"
			testenv.WriteFile(t, filepath.Join(dir, HostsFile), []byte(toml), 0o644)
			roots := []Root{customRoot(t, Containerd, root)}
			if _, err := Install(Options{Home: p.home, Roots: roots, DryRun: true}); err != nil {
				t.Fatalf("dry run: %v", err)
			}
			res, err := Install(Options{Home: p.home, Roots: roots})
			if err != nil {
				t.Fatal(err)
			}
			if readString(t, filepath.Join(dir, HostsFile)) != toml {
				t.Error("install changed the user's hosts.toml")
			}
			checkProblems(t, res.Folders[0].Problems, nil)
			if err := reg.viaContainerd(root); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestInstallBesideForeignHostsTOMLFailsWhole: a run that keeps a user's
// hosts.toml in one folder and fails in another changes neither.
func TestInstallBesideForeignHostsTOMLFailsWhole(t *testing.T) {
	p := newPKI(t)
	other := newPKI(t)
	r := mustParse(t, "reg.example.com:5000")
	p.issueClient(t, r.String(), "client")
	ctr := filepath.Join(t.TempDir(), "ctr")
	dkr := filepath.Join(t.TempDir(), "docker")
	os.MkdirAll(filepath.Join(ctr, r.String()), 0o755)
	os.MkdirAll(filepath.Join(dkr, r.String()), 0o755)
	testenv.WriteFile(t, filepath.Join(ctr, r.String(), HostsFile), []byte("server = \"https://reg.example.com:5000\"\n"), 0o644)
	testenv.WriteFile(t, filepath.Join(dkr, r.String(), "ca.crt"), other.ca.CertPEM, 0o644)
	before, beforeD := snapshot(t, filepath.Join(ctr, r.String())), snapshot(t, filepath.Join(dkr, r.String()))
	_, err := Install(Options{Home: p.home, Roots: []Root{customRoot(t, Containerd, ctr), customRoot(t, Docker, dkr)}})
	var ce *ConflictError
	if !errors.As(err, &ce) {
		t.Fatalf("got %v, want a conflict on the docker root's ca.crt", err)
	}
	if !equalStates(before, snapshot(t, filepath.Join(ctr, r.String()))) || !equalStates(beforeD, snapshot(t, filepath.Join(dkr, r.String()))) {
		t.Error("a failed install changed a folder")
	}
}

// mvCommand finds the mv command in a hint.
func mvCommand(t *testing.T, hint string) string {
	t.Helper()
	m := regexp.MustCompile(`mv (?:'[^']*'|[^\s;)']+) (?:'[^']*'|[^\s;)']+)`).FindString(hint)
	if m == "" {
		t.Fatalf("no mv command in %q", hint)
	}
	return m
}

// runShell runs a command a hint suggests, as a user pasting it would.
func runShell(t *testing.T, cmd string) {
	t.Helper()
	if out, err := exec.Command("sh", "-c", cmd).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", cmd, err, out)
	}
}

// TestInstallShadowFolders: containerd looks up, in each certs root of its
// config_path (/etc/containerd/certs.d, then /etc/docker/certs.d),
// <host>_<port>_, then <host:port>, then _default, and the first root with
// one wins. A folder it reads instead of certkit's is refused in the
// containerd root (the install could not work) and warned about in
// Docker's (Docker and podman read certkit's folder); the mv of the hint,
// pasted into a shell, fixes it.
func TestInstallShadowFolders(t *testing.T) {
	p := newPKI(t)
	reg := startRegistry(t, p)
	name := reg.Name.String()
	p.issueClient(t, name, "client")
	shadow := reg.Name.ContainerdDirs()[0]

	t.Run("beside the folder in the containerd root", func(t *testing.T) {
		base := t.TempDir()
		root := filepath.Join(base, "certs.d")
		os.MkdirAll(filepath.Join(root, shadow), 0o755)
		os.Mkdir(filepath.Join(base, shadow+".certkit-old"), 0o755) // the hint must not move it into this
		before := snapshot(t, root)
		_, err := Install(Options{Home: p.home, Roots: []Root{customRoot(t, Containerd, root)}})
		var se *ShadowError
		if !errors.As(err, &se) || se.Shadow != shadow {
			t.Fatalf("got %v, want a ShadowError on %s", err, shadow)
		}
		if strings.Contains(err.Error(), "/ (containerd reads it before") {
			t.Errorf("explanation pasted into a path: %v; hint %s", err, errs.HintOf(err))
		}
		if !equalStates(before, snapshot(t, root)) {
			t.Error("the refused install changed the certs root")
		}
		runShell(t, mvCommand(t, errs.HintOf(err)))
		// out of the certs root, to a free name
		if !exists(filepath.Join(base, shadow+".certkit-old2")) || exists(filepath.Join(root, shadow)) {
			t.Errorf("the hint's mv did not move %s out of the certs root to a free name: %s", shadow, names(snapshot(t, base)))
		}
		if _, err := Install(Options{Home: p.home, Roots: []Root{customRoot(t, Containerd, root)}}); err != nil {
			t.Fatal(err)
		}
		bothOracles(t, reg, root)
	})

	// Docker's root, which containerd's default config_path names, warns;
	// a root containerd reads only when its config_path names it (a
	// --certs-dir in Docker's layout), or never (podman's), does not.
	for _, tt := range []struct {
		name   string
		target Target
		warns  bool
	}{{"docker", Docker, true}, {"docker --certs-dir", Docker, false}, {"podman", Podman, false}} {
		t.Run("beside the folder in a "+tt.name+" root", func(t *testing.T) {
			ctr, root := filepath.Join(t.TempDir(), "containerd"), filepath.Join(t.TempDir(), "certs.d")
			os.MkdirAll(filepath.Join(root, shadow), 0o755)
			r := customRoot(t, tt.target, root)
			if tt.warns {
				r.ContainerdFirst = []string{ctr}
			}
			res, err := Install(Options{Home: p.home, Roots: []Root{r}})
			if err != nil {
				t.Fatal(err)
			}
			ws := problemsOf(res.Folders[0].Problems, KindShadowFolder)
			if !tt.warns {
				if len(ws) != 0 {
					t.Errorf("warnings %v for a root containerd does not read by default", ws)
				}
				return
			}
			if len(ws) != 1 || ws[0].Severity != SeverityWarning || !strings.Contains(ws[0].Message, shadow) {
				t.Fatalf("problems %v, want one %s warning naming %s", res.Folders[0].Problems, KindShadowFolder, shadow)
			}
			if err := reg.viaContainerd(ctr, root); err == nil {
				t.Fatal("containerd reached the registry through the shadow folder: the warning proves nothing")
			}
			if err := reg.viaPodman(filepath.Join(root, name)); err != nil {
				t.Error(err)
			}
			runShell(t, mvCommand(t, ws[0].Fix))
			bothOracles(t, reg, root)
			if err := reg.viaContainerd(ctr, root); err != nil {
				t.Error(err)
			}
		})
	}

	// containerd reads certkit's folder in its own root: what is in
	// Docker's does not matter to it.
	t.Run("beside the folder in a docker root, certkit's in the containerd root", func(t *testing.T) {
		ctr, dkr := filepath.Join(t.TempDir(), "containerd"), filepath.Join(t.TempDir(), "docker")
		os.MkdirAll(filepath.Join(dkr, shadow), 0o755)
		roots := []Root{{Target: Docker, Dir: dkr, ContainerdFirst: []string{ctr}}, customRoot(t, Containerd, ctr)}
		for range 2 { // installing into it, then installed
			res, err := Install(Options{Home: p.home, Roots: roots})
			if err != nil {
				t.Fatal(err)
			}
			checkProblems(t, res.Folders[0].Problems, nil)
			roots = roots[:1]
		}
		if err := reg.viaContainerd(ctr, dkr); err != nil {
			t.Error(err)
		}
	})

	// A folder for the registry, or _default, in the containerd root hides
	// all of Docker's root from containerd.
	for _, d := range []string{shadow, name, "_default"} {
		t.Run(d+" in the containerd root", func(t *testing.T) {
			ctr, dkr := filepath.Join(t.TempDir(), "containerd"), filepath.Join(t.TempDir(), "docker")
			os.MkdirAll(filepath.Join(ctr, d), 0o755)
			root := Root{Target: Docker, Dir: dkr, ContainerdFirst: []string{ctr}}
			res, err := Install(Options{Home: p.home, Roots: []Root{root}})
			if err != nil {
				t.Fatal(err)
			}
			ws := problemsOf(res.Folders[0].Problems, KindShadowFolder)
			if len(ws) != 1 || !strings.Contains(ws[0].Message, filepath.Join(ctr, d)) {
				t.Fatalf("problems %v, want one %s warning naming %s", res.Folders[0].Problems, KindShadowFolder, filepath.Join(ctr, d))
			}
			if err := reg.viaContainerd(ctr, dkr); err == nil {
				t.Fatal("containerd reached the registry: the warning proves nothing")
			}
			// The fix: install for containerd too.
			if !strings.Contains(ws[0].Fix, "certkit install --target containerd --host "+name) {
				t.Fatalf("fix %q", ws[0].Fix)
			}
			if d == shadow {
				os.Remove(filepath.Join(ctr, d)) // what the containerd install's refusal says
			}
			both := []Root{root, customRoot(t, Containerd, ctr)}
			res, err = Install(Options{Home: p.home, Roots: both})
			if err != nil {
				t.Fatal(err)
			}
			if ws := problemsOf(res.Folders[0].Problems, KindShadowFolder); len(ws) != 0 {
				t.Errorf("warns %v although the run installs into the containerd root", ws)
			}
			if err := reg.viaContainerd(ctr, dkr); err != nil {
				t.Error(err)
			}
			// certkit's own folder in the containerd root is no shadow.
			res, err = Install(Options{Home: p.home, Roots: []Root{root}})
			if err != nil {
				t.Fatal(err)
			}
			if ws := problemsOf(res.Folders[0].Problems, KindShadowFolder); len(ws) != 0 {
				t.Errorf("warns %v about certkit's own folder in the containerd root", ws)
			}
		})
	}
}

// TestInstallShadowLinks: a link to the registry folder, where containerd
// looks first, is that folder: no shadow.
func TestInstallShadowLinks(t *testing.T) {
	p := newPKI(t)
	reg := startRegistry(t, p)
	name := reg.Name.String()
	p.issueClient(t, name, "client")
	ctr, dkr := filepath.Join(t.TempDir(), "containerd"), filepath.Join(t.TempDir(), "docker")
	os.MkdirAll(filepath.Join(dkr, name), 0o755)
	os.MkdirAll(ctr, 0o755)
	for _, link := range []string{filepath.Join(dkr, reg.Name.ContainerdDirs()[0]), filepath.Join(ctr, name)} {
		if err := os.Symlink(filepath.Join(dkr, name), link); err != nil {
			t.Fatal(err)
		}
	}
	res, err := Install(Options{Home: p.home, Roots: []Root{{Target: Docker, Dir: dkr, ContainerdFirst: []string{ctr}}}})
	if err != nil {
		t.Fatal(err)
	}
	checkProblems(t, res.Folders[0].Problems, nil)
	if err := reg.viaContainerd(ctr, dkr); err != nil {
		t.Error(err)
	}
}

// TestInstallConflictHintKeys: a key of the user's under a name certkit
// writes must leave certs.d, not only the folder, or it reads as a stray
// key: the hint's command moves it out, and install then goes through.
func TestInstallConflictHintKeys(t *testing.T) {
	p := newPKI(t)
	other := newPKI(t)
	r := mustParse(t, "reg.example.com:5000")
	p.issueClient(t, r.String(), "client")
	c, k := other.client(t, "theirs", nil)

	base := t.TempDir()
	root := filepath.Join(base, "certs.d")
	dir := filepath.Join(root, r.String())
	os.MkdirAll(dir, 0o755)
	testenv.WriteFile(t, filepath.Join(dir, "client.key"), k, 0o600)
	roots := []Root{customRoot(t, Docker, root)}
	_, err := Install(Options{Home: p.home, Roots: roots})
	var ce *ConflictError
	if !errors.As(err, &ce) {
		t.Fatalf("got %v, want a conflict on client.key", err)
	}
	runShell(t, mvCommand(t, errs.HintOf(err)))
	if !exists(filepath.Join(base, r.String()+"-client.key.orig")) {
		t.Errorf("the hint %q did not move the key out of certs.d", errs.HintOf(err))
	}
	if _, err := Install(Options{Home: p.home, Roots: roots}); err != nil {
		t.Fatalf("after the hint's mv: %v", err)
	}

	// A pair: the certificate is renamed in place, the key told to leave.
	dir = filepath.Join(t.TempDir(), "certs.d", r.String())
	os.MkdirAll(dir, 0o755)
	testenv.WriteFile(t, filepath.Join(dir, "client.cert"), c, 0o644)
	testenv.WriteFile(t, filepath.Join(dir, "client.key"), k, 0o600)
	_, err = Install(Options{Home: p.home, Roots: []Root{customRoot(t, Docker, filepath.Dir(dir))}})
	if h := errs.HintOf(err); !strings.Contains(h, "mv "+filepath.Join(dir, "client.cert")+" ") || !strings.Contains(h, "move client.key out of certs.d") {
		t.Errorf("hint %q", h)
	}
}

// TestInstallHintsPaste: the commands of install's hints can be pasted into
// a shell as they are, for a registry whose name the shell would read (the
// brackets of an IPv6 address are a glob).
func TestInstallHintsPaste(t *testing.T) {
	p := newPKI(t)
	r := mustParse(t, "[fd00::1]:5000")
	p.issueClient(t, r.String(), "client")
	shadow := r.ContainerdDirs()[0]
	// Files an unquoted path would match as a glob ([fd00::1] is one of
	// f, d, 0, : and 1): a pasted command must not touch them.
	decoys := func(t *testing.T, root string) {
		t.Helper()
		for _, n := range []string{"f:5000", "f_5000_", "d:5000"} {
			testenv.WriteFile(t, filepath.Join(root, n), []byte("decoy"), 0o644)
		}
	}
	checkDecoys := func(t *testing.T, root string) {
		t.Helper()
		for _, n := range []string{"f:5000", "f_5000_", "d:5000"} {
			if !exists(filepath.Join(root, n)) {
				t.Errorf("a hint's command moved %s", n)
			}
		}
	}

	root := t.TempDir()
	decoys(t, root)
	os.Mkdir(filepath.Join(root, shadow), 0o755)
	_, err := Install(Options{Home: p.home, Roots: []Root{customRoot(t, Containerd, root)}})
	if err == nil {
		t.Fatal("install succeeded beside a shadow folder")
	}
	runShell(t, mvCommand(t, errs.HintOf(err)))
	if exists(filepath.Join(root, shadow)) {
		t.Errorf("the hint %q left %s", errs.HintOf(err), shadow)
	}
	checkDecoys(t, root)

	// A file where the registry folder belongs.
	root = t.TempDir()
	decoys(t, root)
	testenv.WriteFile(t, filepath.Join(root, r.String()), []byte("x"), 0o644)
	_, err = Install(Options{Home: p.home, Roots: []Root{customRoot(t, Docker, root)}})
	var ce *ConflictError
	if !errors.As(err, &ce) || strings.Contains(strings.Join(ce.Files, ""), "(") {
		t.Fatalf("got %v, want a conflict naming the file alone", err)
	}
	runShell(t, mvCommand(t, errs.HintOf(err)))
	if _, err := Install(Options{Home: p.home, Roots: []Root{customRoot(t, Docker, root)}}); err != nil {
		t.Fatalf("after the hint's mv: %v", err)
	}
	checkDecoys(t, root)

	// A subfolder in the registry folder: the hint moves it, not into
	// itself.
	root = t.TempDir()
	os.MkdirAll(filepath.Join(root, r.String(), "old"), 0o755)
	_, err = Install(Options{Home: p.home, Roots: []Root{customRoot(t, Docker, root)}})
	if err == nil {
		t.Fatal("install succeeded beside a subfolder")
	}
	runShell(t, mvCommand(t, errs.HintOf(err)))
	if exists(filepath.Join(root, r.String(), "old")) {
		t.Errorf("the hint %q left the subfolder", errs.HintOf(err))
	}
	if _, err := Install(Options{Home: p.home, Roots: []Root{customRoot(t, Docker, root)}}); err != nil {
		t.Fatalf("after the hint's mv: %v", err)
	}
	// Uninstall's hint says to run uninstall again.
	if _, err := Install(Options{Home: p.home, Roots: []Root{customRoot(t, Docker, root)}}); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(root, r.String(), "old"), 0o755)
	_, err = Uninstall(UninstallOptions{Registries: []host.Registry{r}, Roots: []Root{customRoot(t, Docker, root)}})
	if h := errs.HintOf(err); !strings.Contains(h, "run uninstall again") {
		t.Errorf("uninstall's hint %q", h)
	}
}

// TestInstallSubfolderHint: a folder inside a registry folder is moved,
// by the hint's command, out of the certs root (not beside the registry
// folder, where it would be listed as a registry), to a free name; install
// then goes through, and the certs root holds the registry folder only.
func TestInstallSubfolderHint(t *testing.T) {
	p := newPKI(t)
	r := mustParse(t, "reg.example.com:5000")
	p.issueClient(t, r.String(), "client")
	for _, cmd := range []string{"install", uninstallCmd} {
		t.Run(cmd, func(t *testing.T) {
			base := t.TempDir()
			root := filepath.Join(base, "certs.d")
			dir := filepath.Join(root, r.String())
			roots := []Root{customRoot(t, Docker, root)}
			if cmd == uninstallCmd {
				if _, err := Install(Options{Home: p.home, Roots: roots}); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.MkdirAll(filepath.Join(dir, "old"), 0o755); err != nil {
				t.Fatal(err)
			}
			// A name taken where it goes: the next free one is used.
			if err := os.Mkdir(filepath.Join(base, r.String()+"-old"+shadowSuffix), 0o755); err != nil {
				t.Fatal(err)
			}
			run := func() error {
				if cmd == uninstallCmd {
					_, err := Uninstall(UninstallOptions{Registries: []host.Registry{r}, Roots: roots})
					return err
				}
				_, err := Install(Options{Home: p.home, Roots: roots})
				return err
			}
			err := run()
			var ce *ConflictError
			if !errors.As(err, &ce) {
				t.Fatalf("got %v, want a conflict on old/", err)
			}
			runShell(t, mvCommand(t, errs.HintOf(err)))
			if !exists(filepath.Join(base, r.String()+"-old"+shadowSuffix+"2")) {
				t.Errorf("the hint %q did not move the folder out of the certs root", errs.HintOf(err))
			}
			if err := run(); err != nil {
				t.Fatalf("after the hint's mv: %v", err)
			}
			des, err := os.ReadDir(root)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range des {
				if d.Name() != r.String() {
					t.Errorf("the certs root holds %s", d.Name())
				}
			}
		})
	}
}
