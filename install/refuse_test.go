//go:build unix

package install

import (
	"crypto/x509"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/certkit/certkit/ca"
	"github.com/certkit/certkit/host"
	"github.com/certkit/certkit/internal/errs"
	"github.com/certkit/certkit/internal/home"
	"github.com/certkit/certkit/internal/testenv"
)

// TestInstallRefuses covers every reason install stops before writing: the
// certs root must be exactly as it was afterwards.
func TestInstallRefuses(t *testing.T) {
	r := mustParse(t, "reg.example.com:5000")
	folder := r.String()
	other := newPKI(t)
	type setup func(t *testing.T, p *testPKI, dir string)
	good := func(t *testing.T, p *testPKI, dir string) { p.issueClient(t, folder, "client") }
	inFolder := func(name string, data func(p *testPKI) []byte, mode os.FileMode) setup {
		return func(t *testing.T, p *testPKI, dir string) {
			good(t, p, dir)
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			testenv.WriteFile(t, filepath.Join(dir, name), data(p), mode)
		}
	}
	inHome := func(edit func(*x509.Certificate)) setup {
		return func(t *testing.T, p *testPKI, dir string) {
			c, k := p.client(t, "client", edit)
			hd := home.HostDir(p.home, folder)
			os.MkdirAll(hd, 0o700)
			testenv.WriteFile(t, filepath.Join(hd, "client.cert"), c, 0o644)
			testenv.WriteFile(t, filepath.Join(hd, "client.key"), k, 0o600)
		}
	}
	tests := []struct {
		name   string
		setup  setup
		target Target
		check  func(t *testing.T, err error) // the error is the right one
	}{
		{"foreign ca.crt", inFolder("ca.crt", func(*testPKI) []byte { return other.ca.CertPEM }, 0o644), Docker, isConflict(true, "ca.crt")},
		{"stray CA key", inFolder("ca.key", func(p *testPKI) []byte { b, _ := os.ReadFile(p.ca.KeyPath()); return b }, 0o600), Docker,
			isBroken("ca.key", "missing client certificate ca.cert for key ca.key")},
		{"unpaired cert", inFolder("old.cert", func(p *testPKI) []byte { return p.ca.CertPEM }, 0o644), Docker,
			isBroken("old.cert", "missing key old.key for client certificate old.cert")},
		{"shadowing containerd folder", func(t *testing.T, p *testPKI, dir string) {
			good(t, p, dir)
			os.MkdirAll(filepath.Join(filepath.Dir(dir), "reg.example.com_5000_"), 0o755)
		}, Containerd, func(t *testing.T, err error) {
			var se *ShadowError
			if !errors.As(err, &se) || se.Shadow != "reg.example.com_5000_" || se.Registry != folder {
				t.Errorf("got %v, want a ShadowError on reg.example.com_5000_", err)
			}
		}},
		{"a subfolder", func(t *testing.T, p *testPKI, dir string) {
			good(t, p, dir)
			os.MkdirAll(filepath.Join(dir, "old"), 0o755)
		}, Docker, isConflict(true, "old/")},
		{"no CA", func(t *testing.T, p *testPKI, dir string) {
			good(t, p, dir)
			os.Remove(filepath.Join(home.CADir(p.home), ca.CertFile))
		}, Docker, func(t *testing.T, err error) {
			var nf *ca.NotFoundError
			if !errors.As(err, &nf) {
				t.Errorf("got %v, want ca.NotFoundError", err)
			}
		}},
		{"no client issued", func(*testing.T, *testPKI, string) {}, Docker, isMaterial("no client certificate was issued", "certkit issue client --host reg.example.com:5000")},
		{"expired client", inHome(func(c *x509.Certificate) {
			c.NotBefore, c.NotAfter = time.Now().Add(-48*time.Hour), time.Now().Add(-time.Hour)
		}), Docker, isMaterial("expired on", "certkit issue client --force")},
		{"server certificate as client", inHome(func(c *x509.Certificate) { c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth} }), Docker,
			isMaterial("no clientAuth", "certkit issue client")},
		{"client is a CA", inHome(func(c *x509.Certificate) { c.IsCA = true; c.KeyUsage |= x509.KeyUsageCertSign }), Docker, isMaterial("is a CA certificate", "")},
		{"key of another client", func(t *testing.T, p *testPKI, dir string) {
			good(t, p, dir)
			_, k := p.client(t, "x", nil)
			testenv.WriteFile(t, filepath.Join(home.HostDir(p.home, folder), "client.key"), k, 0o600)
		}, Docker, isMaterial("does not belong to client.cert", "")},
		{"client of another CA", func(t *testing.T, p *testPKI, dir string) {
			c, k := other.client(t, "client", nil)
			hd := home.HostDir(p.home, folder)
			os.MkdirAll(hd, 0o700)
			testenv.WriteFile(t, filepath.Join(hd, "client.cert"), c, 0o644)
			testenv.WriteFile(t, filepath.Join(hd, "client.key"), k, 0o600)
		}, Docker, isMaterial("is not signed by the certkit CA", "")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPKI(t)
			root := filepath.Join(t.TempDir(), "certs.d")
			dir := filepath.Join(root, folder)
			tt.setup(t, p, dir)
			before := snapshot(t, root)
			var beforeDir map[string]fileState
			if before != nil {
				beforeDir = snapshot(t, dir)
			}
			_, err := Install(Options{Home: p.home, Registries: []host.Registry{r}, Roots: []Root{customRoot(t, tt.target, root)}})
			if err == nil {
				t.Fatal("install succeeded")
			}
			tt.check(t, err)
			if errs.HintOf(err) == "" {
				t.Errorf("no hint for %v", err)
			}
			if after := snapshot(t, root); !equalStates(before, after) {
				t.Errorf("the certs root changed: %s -> %s", names(before), names(after))
			}
			if beforeDir != nil && !equalStates(beforeDir, snapshot(t, dir)) {
				t.Errorf("the registry folder changed")
			}
		})
	}
}

func isConflict(foreign bool, file string) func(*testing.T, error) {
	return func(t *testing.T, err error) {
		var ce *ConflictError
		if !errors.As(err, &ce) || ce.Foreign != foreign || !strings.Contains(strings.Join(ce.Files, " "), file) {
			t.Errorf("got %v, want a conflict on %s (foreign %v)", err, file, foreign)
		}
	}
}

func isBroken(file, text string) func(*testing.T, error) {
	return func(t *testing.T, err error) {
		var be *BrokenFolderError
		if !errors.As(err, &be) {
			t.Fatalf("got %v, want a BrokenFolderError", err)
		}
		for _, p := range be.Problems {
			if p.File == file && strings.Contains(p.Message, text) {
				return
			}
		}
		t.Errorf("got %v, want a problem on %s saying %q", err, file, text)
	}
}

func isMaterial(text, hint string) func(*testing.T, error) {
	return func(t *testing.T, err error) {
		var me *MaterialError
		if !errors.As(err, &me) || !strings.Contains(me.Msg, text) || !strings.Contains(me.Hint(), hint) {
			t.Errorf("got %v (hint %q), want a material error saying %q with a hint containing %q", err, errs.HintOf(err), text, hint)
		}
	}
}

// TestInstallForce: a re-issued certificate is a change to certkit's own
// files, made only with --force, with the old files kept as backups. A
// foreign hosts.toml is never replaced, --force or not: foreign files stay.
func TestInstallForce(t *testing.T) {
	p := newPKI(t)
	reg := startRegistry(t, p)
	name := reg.Name.String()
	p.issueClient(t, name, "client")
	p.issueClient(t, name, "old")
	root := t.TempDir()
	roots := []Root{customRoot(t, Containerd, root)}
	dir := filepath.Join(root, name)
	os.MkdirAll(dir, 0o755)
	foreignTOML := []byte("server = \"https://" + name + "\"\n")
	testenv.WriteFile(t, filepath.Join(dir, "hosts.toml"), foreignTOML, 0o644)
	testenv.WriteFile(t, filepath.Join(dir, "NOTES"), []byte("x"), 0o644)

	// Without --force it stays, certkit's files go beside it, and
	// containerd does not use them: the warning says so.
	res, err := Install(Options{Home: p.home, Roots: roots})
	if err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(filepath.Join(dir, "hosts.toml")); string(data) != string(foreignTOML) {
		t.Fatalf("install without --force changed the user's hosts.toml: %q", data)
	}
	if ps := problemsOf(res.Folders[0].Problems, KindHiddenByHostsTOML); len(ps) != 1 {
		t.Errorf("problems %v, want one %s warning", res.Folders[0].Problems, KindHiddenByHostsTOML)
	}
	if err := reg.viaContainerd(root); err == nil {
		t.Fatal("containerd reached the registry through a hosts.toml that names no client pair")
	}
	// --force never replaces it either: it is kept byte for byte, with
	// the same warning.
	res, err = Install(Options{Home: p.home, Roots: roots, Force: true})
	if err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(filepath.Join(dir, "hosts.toml")); string(data) != string(foreignTOML) {
		t.Fatalf("install --force changed the user's hosts.toml: %q", data)
	}
	for _, f := range res.Folders[0].Files {
		if f.Name == HostsFile && (f.Action != Keep || f.Certkit || f.Backup != "") {
			t.Errorf("hosts.toml: %+v, want kept as the user's", f)
		}
	}
	if ps := problemsOf(res.Folders[0].Problems, KindHiddenByHostsTOML); len(ps) != 1 || strings.Contains(ps[0].Fix, "--force") {
		t.Errorf("problems %v, want one %s warning whose fix is the lines, not --force", res.Folders[0].Problems, KindHiddenByHostsTOML)
	}
	if _, own := mustManifest(t, dir).Has(HostsFile); own {
		t.Error("the manifest claims the user's hosts.toml")
	}
	// The user removes theirs: install writes certkit's.
	os.Remove(filepath.Join(dir, "hosts.toml"))
	if _, err := Install(Options{Home: p.home, Roots: roots}); err != nil {
		t.Fatal(err)
	}
	bothOracles(t, reg, root)

	// Re-issue client; drop "old" from the home.
	p.issueClient(t, name, "client")
	os.Remove(filepath.Join(home.HostDir(p.home, name), "old.cert"))
	os.Remove(filepath.Join(home.HostDir(p.home, name), "old.key"))
	oldCert, _ := os.ReadFile(filepath.Join(dir, "client.cert"))
	_, err = Install(Options{Home: p.home, Roots: roots})
	var ce *ConflictError
	if !errors.As(err, &ce) || ce.Foreign || strings.Join(ce.Files, " ") != "client.cert client.key" {
		t.Fatalf("got %v, want a conflict on certkit's client pair", err)
	}
	if !strings.Contains(ce.Hint(), "--force") {
		t.Errorf("hint %q", ce.Hint())
	}
	res, err = Install(Options{Home: p.home, Roots: roots, Force: true})
	if err != nil {
		t.Fatal(err)
	}
	actions := map[string]Action{}
	for _, f := range res.Folders[0].Files {
		actions[f.Name] = f.Action
	}
	want := map[string]Action{"client.cert": Update, "client.key": Update, "old.cert": Remove, "old.key": Remove,
		"ca.crt": Unchanged, "hosts.toml": Rewrite, "NOTES": Keep, ManifestFile: Rewrite}
	for n, a := range want {
		if actions[n] != a {
			t.Errorf("%s: %s, want %s", n, actions[n], a)
		}
	}
	if data, _ := os.ReadFile(backupOf(t, res, "client.cert")); string(data) != string(oldCert) {
		t.Error("the backup of client.cert is not the old certificate")
	}
	if fi, err := os.Stat(filepath.Dir(backupOf(t, res, "client.key"))); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("backup folder: %v %v, want 0700", err, fi.Mode().Perm())
	}
	if got := names(snapshot(t, dir)); got != ".certkit-manifest.json NOTES ca.crt client.cert client.key hosts.toml" {
		t.Errorf("folder holds %s", got)
	}
	f, err := ReadFolder(dir)
	if err != nil || len(f.Problems) != 0 {
		t.Errorf("problems after --force: %v %v", err, f.Problems)
	}
	bothOracles(t, reg, root)
}

func backupOf(t *testing.T, res *Result, name string) string {
	t.Helper()
	for _, f := range res.Folders[0].Files {
		if f.Name == name {
			if f.Backup == "" {
				t.Fatalf("%s has no backup", name)
			}
			return f.Backup
		}
	}
	t.Fatalf("%s not in the result", name)
	return ""
}

func TestInstallDryRunWritesNothing(t *testing.T) {
	p := newPKI(t)
	r := mustParse(t, "reg.example.com")
	p.issueClient(t, r.String(), "client")
	root := filepath.Join(t.TempDir(), "certs.d")
	res, err := Install(Options{Home: p.home, Roots: []Root{customRoot(t, Containerd, root)}, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(root); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the dry run made %s", root)
	}
	fr := res.Folders[0]
	if !res.DryRun || !fr.Changed || len(fr.Files) != 5 {
		t.Fatalf("plan %+v", fr)
	}
	for _, f := range fr.Files {
		if f.Action != Create || f.ModeStr != map[bool]string{true: "0600", false: "0644"}[strings.HasSuffix(f.Name, ".key")] {
			t.Errorf("planned %+v", f)
		}
	}
}

// TestInstallChownsToTheRootsOwner: run as root into a certs root that a
// user owns (sudo into ~/.config/...), what certkit makes belongs to that
// user: it is made with that user's rights, so the user must be able to
// reach the folder, as a user reaches their own home.
func TestInstallChownsToTheRootsOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to give files away")
	}
	p := newPKI(t)
	r := mustParse(t, "reg.example.com")
	p.issueClient(t, r.String(), "client")
	base := t.TempDir()
	if err := os.Chown(base, 4242, 4343); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Dir(base), 0o755); err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(base, "docker", "certs.d") // made by install
	if _, err := Install(Options{Home: p.home, Roots: []Root{customRoot(t, DockerRootless, root)}}); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{filepath.Dir(root), root, filepath.Join(root, r.String()), filepath.Join(root, r.String(), "client.key"), filepath.Join(root, r.String(), ManifestFile)} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if uid, gid, _ := ownerOf(fi); uid != 4242 || gid != 4343 {
			t.Errorf("%s belongs to %d:%d, want 4242:4343", path, uid, gid)
		}
	}
}

// TestInstallPermissionDenied: a certs root this user may not write gives
// a PermissionError that says to use sudo, and writes nothing.
func TestInstallPermissionDenied(t *testing.T) {
	p := newPKI(t)
	r := mustParse(t, "reg.example.com")
	p.issueClient(t, r.String(), "client")
	base := t.TempDir()
	root := filepath.Join(base, "etc", "docker", "certs.d")
	if err := os.MkdirAll(root, 0o755); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() != 0 {
		os.Chmod(root, 0o555)
		t.Cleanup(func() { os.Chmod(root, 0o755) })
		_, err := Install(Options{Home: p.home, Roots: []Root{{Target: Docker, Dir: root, System: true}}})
		checkPermissionError(t, err, root)
		return
	}
	// As root, the install runs in a child process as nobody.
	for _, d := range []string{base, p.home} {
		filepath.Walk(d, func(path string, fi os.FileInfo, err error) error {
			if err == nil && d == p.home {
				os.Chown(path, 65534, 65534)
			}
			return nil
		})
	}
	runAsNobody(t, "TestInstallPermissionDeniedChild", []string{"CERTKIT_PERM_HOME=" + p.home, "CERTKIT_PERM_ROOT=" + root}, base, p.home)
	if s := snapshot(t, root); len(s) != 0 {
		t.Errorf("the certs root holds %s", names(s))
	}
}

func TestInstallPermissionDeniedChild(t *testing.T) {
	h, root := os.Getenv("CERTKIT_PERM_HOME"), os.Getenv("CERTKIT_PERM_ROOT")
	if h == "" {
		t.Skip("run by TestInstallPermissionDenied")
	}
	_, err := Install(Options{Home: h, Roots: []Root{{Target: Docker, Dir: root, System: true}}})
	checkPermissionError(t, err, root)
}

func checkPermissionError(t *testing.T, err error, root string) {
	t.Helper()
	var pe *PermissionError
	if !errors.As(err, &pe) || pe.Dir != root || !strings.Contains(pe.Hint(), "sudo") {
		t.Fatalf("got %v, want a PermissionError on %s with a sudo hint", err, root)
	}
}

// TestBrokenFolderHintGivesEveryFix: a folder broken in two ways gets a
// hint that fixes both, so that the run after it goes through: for a
// world-readable stray key, moving it out (which ends its mode problem
// too), not a chmod that leaves it stray; for two files, both fixes.
func TestBrokenFolderHintGivesEveryFix(t *testing.T) {
	testenv.NeedTools(t, "sh")
	p := newPKI(t)
	other := newPKI(t)
	r := mustParse(t, "reg.example.com:5000")
	p.issueClient(t, r.String(), "client")
	_, strayKey := other.client(t, "old", nil)
	theirCert, _ := other.client(t, "theirs", nil)

	t.Run("world-readable stray key", func(t *testing.T) {
		root := filepath.Join(t.TempDir(), "certs.d")
		dir := filepath.Join(root, r.String())
		os.MkdirAll(dir, 0o755)
		testenv.WriteFile(t, filepath.Join(dir, "old.key"), strayKey, 0o644)
		roots := []Root{customRoot(t, Docker, root)}
		_, err := Install(Options{Home: p.home, Roots: roots})
		isBroken("old.key", "missing client certificate")(t, err)
		h := errs.HintOf(err)
		if strings.Contains(h, "chmod") || !strings.Contains(h, "move "+filepath.Join(dir, "old.key")+" out of certs.d") {
			t.Fatalf("hint %q, want the move that ends both problems", h)
		}
		if err := os.Rename(filepath.Join(dir, "old.key"), filepath.Join(t.TempDir(), "old.key")); err != nil {
			t.Fatal(err)
		}
		if _, err := Install(Options{Home: p.home, Roots: roots}); err != nil {
			t.Fatalf("after the hint: %v", err)
		}
	})

	t.Run("two broken files", func(t *testing.T) {
		root := filepath.Join(t.TempDir(), "certs.d")
		dir := filepath.Join(root, r.String())
		os.MkdirAll(dir, 0o755)
		// A client certificate without its key, and a readable key of
		// another pair: each has its own fix, and both are given.
		testenv.WriteFile(t, filepath.Join(dir, "theirs.cert"), theirCert, 0o644)
		testenv.WriteFile(t, filepath.Join(dir, "old.key"), strayKey, 0o600)
		roots := []Root{customRoot(t, Docker, root)}
		_, err := Install(Options{Home: p.home, Roots: roots})
		isBroken("theirs.cert", "has no theirs.key")(t, err)
		h := errs.HintOf(err)
		for _, f := range []string{"theirs.cert: ", "old.key: "} {
			if !strings.Contains(h, f) {
				t.Errorf("hint %q gives no fix for %s", h, f)
			}
		}
	})
}
