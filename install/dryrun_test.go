//go:build unix

package install

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/certkit/certkit/host"
)

// TestDryRunUnwritableRoot: a dry run into a system certs root this user
// may not write (sudo-less certkit install --dry-run into /etc) shows the
// plan, with a warning and NeedsRoot, where the run itself stops with a
// PermissionError; install and uninstall alike. A dry run that would
// change nothing says nothing of it, and one that cannot read a file it
// must compare (a key root installed) stops with a PermissionError that
// says so. As root, the runs are made by a child process as nobody (uid
// 65534).
func TestDryRunUnwritableRoot(t *testing.T) {
	p := newPKI(t)
	r := mustParse(t, "reg.example.com:5000")
	p.issueClient(t, r.String(), "client")
	base := t.TempDir()
	roots := dryRunRoots{
		fresh:  filepath.Join(base, "fresh", "etc", "docker", "certs.d"),  // nothing installed yet
		used:   filepath.Join(base, "used", "etc", "docker", "certs.d"),   // installed, files readable by the user
		locked: filepath.Join(base, "locked", "etc", "docker", "certs.d"), // installed, the key not readable by the user
	}
	for _, d := range []string{roots.fresh, roots.used, roots.locked} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []string{roots.used, roots.locked} {
		if _, err := Install(Options{Home: p.home, Roots: []Root{{Target: Docker, Dir: d, System: true}}}); err != nil {
			t.Fatal(err)
		}
	}
	if os.Geteuid() != 0 {
		if err := os.Chmod(filepath.Join(roots.locked, r.String(), "client.key"), 0); err != nil {
			t.Fatal(err)
		}
		for _, d := range []string{roots.fresh, roots.used, roots.locked} {
			os.Chmod(d, 0o555)
			t.Cleanup(func() { os.Chmod(d, 0o755) })
		}
		dryRunUnwritable(t, p.home, roots)
		return
	}
	// The home, and the files of the used folder, are nobody's; the certs
	// roots, and the locked folder's files, stay root's.
	for _, d := range []string{p.home, filepath.Join(roots.used, r.String())} {
		filepath.Walk(d, func(path string, fi os.FileInfo, err error) error {
			if err == nil {
				os.Chown(path, 65534, 65534)
			}
			return nil
		})
	}
	runAsNobody(t, "TestDryRunUnwritableRootChild", []string{"CERTKIT_DRYRUN_HOME=" + p.home,
		"CERTKIT_DRYRUN_ROOTS=" + strings.Join([]string{roots.fresh, roots.used, roots.locked}, string(filepath.ListSeparator))},
		base, p.home)
}

func TestDryRunUnwritableRootChild(t *testing.T) {
	h, roots := os.Getenv("CERTKIT_DRYRUN_HOME"), filepath.SplitList(os.Getenv("CERTKIT_DRYRUN_ROOTS"))
	if h == "" {
		t.Skip("run by TestDryRunUnwritableRoot")
	}
	dryRunUnwritable(t, h, dryRunRoots{roots[0], roots[1], roots[2]})
}

// dryRunRoots are the certs roots of TestDryRunUnwritableRoot, none of
// them writable by the user who runs dryRunUnwritable.
type dryRunRoots struct{ fresh, used, locked string }

// dryRunUnwritable makes the runs of TestDryRunUnwritableRoot.
func dryRunUnwritable(t *testing.T, home string, roots dryRunRoots) {
	reg := mustParse(t, "reg.example.com:5000")
	system := func(dir string) []Root { return []Root{{Target: Docker, Dir: dir, System: true}} }
	plan := func(t *testing.T, res *Result, err error, root, cmd string) {
		t.Helper()
		if err != nil {
			t.Fatalf("dry run: %v", err)
		}
		f := res.Folders[0]
		if !f.NeedsRoot || !f.Changed {
			t.Errorf("dry run: needs root %v, changed %v; want both", f.NeedsRoot, f.Changed)
		}
		want := "this user cannot write " + root + " (permission denied): the " + cmd + " itself needs root"
		ws := problemsOf(f.Problems, KindNotWritable)
		if len(ws) != 1 || ws[0].Severity != SeverityWarning || ws[0].Message != want || !strings.Contains(ws[0].Fix, "sudo") {
			t.Errorf("dry run: problems %+v, want one not-writable warning: %s, with sudo in its fix", f.Problems, want)
		}
	}
	denied := func(t *testing.T, err error, root string, read bool) {
		t.Helper()
		var pe *PermissionError
		if !errors.As(err, &pe) || pe.Dir != root || !pe.System || pe.Read != read || !strings.Contains(pe.Hint(), "sudo") {
			t.Errorf("got %v, want a PermissionError on %s (read %v) with a sudo hint", err, root, read)
		}
	}

	t.Run("install", func(t *testing.T) {
		res, err := Install(Options{Home: home, Roots: system(roots.fresh), DryRun: true})
		plan(t, res, err, roots.fresh, "install")
		if err == nil {
			for _, f := range res.Folders[0].Files {
				if f.Action != Create {
					t.Errorf("planned %+v, want every file created", f)
				}
			}
		}
		_, err = Install(Options{Home: home, Roots: system(roots.fresh)})
		denied(t, err, roots.fresh, false)
	})
	t.Run("install, nothing to change", func(t *testing.T) {
		res, err := Install(Options{Home: home, Roots: system(roots.used), DryRun: true})
		if err != nil {
			t.Fatal(err)
		}
		if f := res.Folders[0]; f.Changed || f.NeedsRoot || len(problemsOf(f.Problems, KindNotWritable)) != 0 {
			t.Errorf("a dry run that changes nothing: changed %v, needs root %v, problems %+v", f.Changed, f.NeedsRoot, f.Problems)
		}
	})
	t.Run("uninstall", func(t *testing.T) {
		opt := UninstallOptions{Registries: []host.Registry{reg}, Roots: system(roots.used), DryRun: true}
		res, err := Uninstall(opt)
		plan(t, res, err, roots.used, "uninstall")
		opt.DryRun = false
		_, err = Uninstall(opt)
		denied(t, err, roots.used, false)
	})
	t.Run("a key it cannot read", func(t *testing.T) {
		_, err := Install(Options{Home: home, Roots: system(roots.locked), DryRun: true})
		denied(t, err, roots.locked, true)
		if err != nil && !strings.HasPrefix(err.Error(), "cannot read "+filepath.Join(roots.locked, reg.String(), "client.key")+": permission denied") {
			t.Errorf("error %q does not name the key it cannot read", err)
		}
		_, err = Uninstall(UninstallOptions{Registries: []host.Registry{reg}, Roots: system(roots.locked), DryRun: true})
		denied(t, err, roots.locked, true)
	})
}
