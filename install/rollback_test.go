//go:build unix

package install

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"

	"github.com/certkit/certkit/host"
	"github.com/certkit/certkit/internal/home"
	"github.com/certkit/certkit/internal/testenv"
)

// tree is every entry under dir, by path relative to dir: files with
// their mode, bytes, inode and time; folders and links with their mode
// only. nil when dir does not exist.
func tree(t testing.TB, dir string) map[string]fileState {
	t.Helper()
	if _, err := os.Lstat(dir); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	out := map[string]fileState{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		st := fileState{mode: fi.Mode()}
		if fi.Mode().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			st.data, st.mtime = string(b), fi.ModTime()
			if s, ok := fi.Sys().(*syscall.Stat_t); ok {
				st.ino = s.Ino
			}
		}
		out[rel] = st
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// sameTree fails the test when a tree changed, naming what changed.
func sameTree(t testing.TB, what string, before, after map[string]fileState) {
	t.Helper()
	if (before == nil) != (after == nil) {
		t.Errorf("%s: existed before %v, after %v", what, before != nil, after != nil)
		return
	}
	var diffs []string
	for p, b := range before {
		a, ok := after[p]
		switch {
		case !ok:
			diffs = append(diffs, "gone: "+p)
		case a.mode != b.mode:
			diffs = append(diffs, fmt.Sprintf("%s: mode %v, was %v", p, a.mode, b.mode))
		case a.data != b.data:
			diffs = append(diffs, p+": content changed")
		case a.ino != b.ino || !a.mtime.Equal(b.mtime):
			diffs = append(diffs, p+": rewritten")
		}
	}
	for p := range after {
		if _, ok := before[p]; !ok {
			diffs = append(diffs, "new: "+p)
		}
	}
	sort.Strings(diffs)
	if len(diffs) > 0 {
		t.Errorf("%s changed:\n  %s", what, strings.Join(diffs, "\n  "))
	}
}

// failedRun is the state shared by the tests of a run that fails.
type failedRun struct {
	p     *testPKI
	reg   host.Registry
	base  string
	roots []Root
}

// newFailedRun makes two certs roots in which certkit installed the pairs
// "client" and "old" for reg.example.com:5000 (with a file of the user's
// beside them), then re-issues "client" and drops "old" from the home:
// install --force updates the first pair and removes the second.
func newFailedRun(t *testing.T, targets ...Target) *failedRun {
	t.Helper()
	f := &failedRun{p: newPKI(t), reg: mustParse(t, "reg.example.com:5000"), base: t.TempDir()}
	name := f.reg.String()
	f.p.issueClient(t, name, "client")
	f.p.issueClient(t, name, "old")
	for i, target := range targets {
		root := customRoot(t, target, filepath.Join(f.base, fmt.Sprintf("root%d", i), "certs.d"))
		if err := os.MkdirAll(filepath.Join(root.Dir, name), 0o750); err != nil {
			t.Fatal(err)
		}
		testenv.WriteFile(t, filepath.Join(root.Dir, name, "NOTES"), []byte("the user's\n"), 0o640)
		if _, err := Install(Options{Home: f.p.home, Roots: []Root{root}}); err != nil {
			t.Fatal(err)
		}
		f.roots = append(f.roots, root)
	}
	f.p.issueClient(t, name, "client")
	hd := home.HostDir(f.p.home, name)
	for _, n := range []string{"old.cert", "old.key"} {
		if err := os.Remove(filepath.Join(hd, n)); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

func (f *failedRun) dir(i int) string { return filepath.Join(f.roots[i].Dir, f.reg.String()) }

// breakAfterWrite gives the folder in root i a hosts.toml of the user's
// that names certkit's old pair: the folder works now, and would break
// once install --force removes the pair, which install finds only in the
// new folder it wrote.
func (f *failedRun) breakAfterWrite(t *testing.T, i int) {
	t.Helper()
	testenv.WriteFile(t, filepath.Join(f.dir(i), HostsFile), []byte(`[host."https://`+f.reg.String()+`"]
  capabilities = ["pull", "resolve"]
  ca = "ca.crt"
  client = [["old.cert", "old.key"]]
`), 0o644)
}

// checkNothingChanged asserts that err is the run's failure and that
// every folder of res says it is unchanged, with no backup.
func checkNothingChanged(t *testing.T, res *Result, err error) {
	t.Helper()
	if err == nil {
		t.Fatal("the run succeeded")
	}
	if res == nil {
		t.Fatalf("no result with %v", err)
	}
	for _, fr := range res.Folders {
		if fr.Changed {
			t.Errorf("%s: the result says the folder changed", fr.Dir)
		}
		if fr.Removed {
			t.Errorf("%s: the result says the folder was removed", fr.Dir)
		}
		for _, fc := range fr.Files {
			if fc.Backup != "" {
				t.Errorf("%s: the result names a backup %s", fc.Path, fc.Backup)
			}
		}
	}
}

func checkRestored(t *testing.T, err error, dirs ...string) {
	t.Helper()
	var re *RestoredError
	if !errors.As(err, &re) {
		t.Fatalf("got %v, want a RestoredError", err)
	}
	if len(re.NotRestored) != 0 || strings.Join(re.Restored, " ") != strings.Join(dirs, " ") {
		t.Errorf("restored %v (not %v), want %v", re.Restored, re.NotRestored, dirs)
	}
	if !strings.Contains(err.Error(), "nothing was changed: certkit put back "+dirs[0]) {
		t.Errorf("the error does not say the folders were put back: %v", err)
	}
}

// failSwapOf makes the swap of the registry folder dir fail: its new copy
// vanishes once every folder is prepared, as if another program took it.
func failSwapOf(dir string) func(string, string) {
	return func(at, step string) {
		if at == "" && step == "prepared" {
			tmps, _ := filepath.Glob(filepath.Join(filepath.Dir(dir), tmpPrefix+filepath.Base(dir)+".*"))
			for _, t := range tmps {
				os.RemoveAll(t)
			}
		}
	}
}

// TestInstallFailedRunChangesNothing: when one folder of a run fails, the
// folders before it are put back byte for byte and mode for mode, the
// backups the run made are gone (nothing was replaced), a folder and a
// certs root the run made are gone, and the result says nothing changed.
func TestInstallFailedRunChangesNothing(t *testing.T) {
	eio := errors.New("input/output error")
	tests := []struct {
		name string
		// setup returns the options of the failing run, the folders it
		// should put back, and a check of its error.
		setup func(t *testing.T, f *failedRun) (Options, []string, func(*testing.T, error))
	}{
		{"broken found after writing, two roots", func(t *testing.T, f *failedRun) (Options, []string, func(*testing.T, error)) {
			f.breakAfterWrite(t, 1)
			return Options{}, nil, isBroken(HostsFile, "old.cert")
		}},
		{"second swap fails", func(t *testing.T, f *failedRun) (Options, []string, func(*testing.T, error)) {
			dir := f.dir(1)
			xchg := func(a, b string) error {
				if b == dir {
					return &os.LinkError{Op: "renameat2", Old: a, New: b, Err: eio}
				}
				return exchange(a, b)
			}
			return Options{exchange: xchg}, []string{f.dir(0)}, func(t *testing.T, err error) {
				if !errors.Is(err, eio) {
					t.Errorf("got %v, want the failed exchange", err)
				}
			}
		}},
		{"second swap fails, two-rename fallback", func(t *testing.T, f *failedRun) (Options, []string, func(*testing.T, error)) {
			return Options{step: failSwapOf(f.dir(1)), exchange: func(a, b string) error { return errNoExchange }}, []string{f.dir(0)},
				func(t *testing.T, err error) {
					if !errors.Is(err, fs.ErrNotExist) {
						t.Errorf("got %v, want the failed rename", err)
					}
				}
		}},
		{"first folder new, second swap fails", func(t *testing.T, f *failedRun) (Options, []string, func(*testing.T, error)) {
			// The first root does not exist: install makes it, and its
			// parent.
			f.roots[0] = customRoot(t, Docker, filepath.Join(f.base, "new", "certs.d"))
			return Options{step: failSwapOf(f.dir(1))}, []string{f.dir(0)}, func(t *testing.T, err error) {
				if !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("got %v, want the failed exchange", err)
				}
			}
		}},
		{"first folder new, second broken after writing", func(t *testing.T, f *failedRun) (Options, []string, func(*testing.T, error)) {
			f.roots[0] = customRoot(t, Containerd, filepath.Join(f.base, "new", "certs.d"))
			f.breakAfterWrite(t, 1)
			return Options{}, nil, isBroken(HostsFile, "old.cert")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFailedRun(t, Docker, Docker)
			opt, restored, check := tt.setup(t, f)
			before := tree(t, f.base)
			opt.Home, opt.Roots, opt.Force = f.p.home, f.roots, true
			res, err := Install(opt)
			checkNothingChanged(t, res, err)
			check(t, err)
			if restored != nil {
				checkRestored(t, err, restored...)
			}
			sameTree(t, "the certs roots", before, tree(t, f.base))

			// Without the fault, the same run goes through.
			opt.step, opt.exchange = nil, nil
			if strings.Contains(tt.name, "broken") {
				os.Remove(filepath.Join(f.dir(1), HostsFile))
			}
			res, err = Install(opt)
			if err != nil || !res.Changed() {
				t.Fatalf("the run without the fault: %v", err)
			}
			for i := range f.roots {
				if got := names(snapshot(t, f.dir(i))); !strings.Contains(got, "client.cert") || strings.Contains(got, "old.cert") {
					t.Errorf("%s holds %s", f.dir(i), got)
				}
			}
		})
	}
}

// TestInstallFailedRunSharedRoot: two registries in one certs root (one
// lock for both); the second is broken only once written, or its swap
// fails after the first was swapped: the first is put back.
func TestInstallFailedRunSharedRoot(t *testing.T) {
	for _, fault := range []string{"broken", "swap"} {
		t.Run(fault, func(t *testing.T) {
			f := newFailedRun(t, Docker)
			other := mustParse(t, "other.example.com")
			f.p.issueClient(t, other.String(), "client")
			if _, err := Install(Options{Home: f.p.home, Registries: []host.Registry{other}, Roots: f.roots}); err != nil {
				t.Fatal(err)
			}
			f.p.issueClient(t, other.String(), "client") // re-issued: --force updates it
			opt := Options{Home: f.p.home, Registries: []host.Registry{other, f.reg}, Roots: f.roots, Force: true}
			if fault == "broken" {
				f.breakAfterWrite(t, 0)
			} else {
				opt.step = failSwapOf(f.dir(0))
			}
			before := tree(t, f.base)
			res, err := Install(opt)
			checkNothingChanged(t, res, err)
			if fault == "broken" {
				isBroken(HostsFile, "old.cert")(t, err)
			} else {
				checkRestored(t, err, filepath.Join(f.roots[0].Dir, other.String()))
			}
			sameTree(t, "the certs root", before, tree(t, f.base))
		})
	}
}

// TestInstallTwoPathsToOneRoot: a certs root that is a symbolic link to
// another (podman's to Docker's, say) holds the same registry folder: the
// run changes it once, and neither waits for its own lock nor trips over
// its own new folder.
func TestInstallTwoPathsToOneRoot(t *testing.T) {
	p := newPKI(t)
	r := mustParse(t, "reg.example.com")
	p.issueClient(t, r.String(), "client")
	base := t.TempDir()
	real := filepath.Join(base, "docker", "certs.d")
	if err := os.MkdirAll(real, 0o755); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(base, "containers-certs.d")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	roots := []Root{customRoot(t, Docker, real), customRoot(t, Podman, link)}
	for _, run := range []string{"new folder", "same again", "re-issued"} {
		if run == "re-issued" {
			p.issueClient(t, r.String(), "client")
		}
		res, err := Install(Options{Home: p.home, Roots: roots, Force: true})
		if err != nil {
			t.Fatalf("%s: %v", run, err)
		}
		if len(res.Folders) != 2 || res.Folders[0].Changed != res.Folders[1].Changed || res.Folders[1].Changed == (run == "same again") {
			t.Errorf("%s: result %+v", run, res.Folders)
		}
		if got := names(snapshot(t, filepath.Join(real, r.String()))); got != ".certkit-manifest.json ca.crt client.cert client.key" {
			t.Errorf("%s: the folder holds %s", run, got)
		}
		if s := snapshot(t, real); len(s) != 2 && run == "re-issued" || len(s) != 1 && run != "re-issued" {
			t.Errorf("%s: the certs root holds %s", run, names(s))
		}
	}
}

// TestUninstallFailedRunChangesNothing: uninstall over two roots, where
// taking certkit's files away would break the second folder (a hosts.toml
// of the user's names them), or its swap fails: the first folder, which
// uninstall would take away whole, is still there as it was.
func TestUninstallFailedRunChangesNothing(t *testing.T) {
	for _, fault := range []string{"broken", "swap"} {
		t.Run(fault, func(t *testing.T) {
			p := newPKI(t)
			r := mustParse(t, "reg.example.com:5000")
			p.issueClient(t, r.String(), "client")
			base := t.TempDir()
			roots := []Root{customRoot(t, Docker, filepath.Join(base, "a")), customRoot(t, Containerd, filepath.Join(base, "b"))}
			if _, err := Install(Options{Home: p.home, Roots: roots}); err != nil {
				t.Fatal(err)
			}
			dirs := []string{filepath.Join(roots[0].Dir, r.String()), filepath.Join(roots[1].Dir, r.String())}
			opt := UninstallOptions{Registries: []host.Registry{r}, Roots: roots}
			var restored []string
			if fault == "broken" {
				// containerd reads only hosts.toml: the user's, naming
				// certkit's CA.
				testenv.WriteFile(t, filepath.Join(dirs[1], HostsFile), []byte(`server = "https://`+r.String()+`"
[host."https://`+r.String()+`"]
  ca = "ca.crt"
`), 0o644)
			} else {
				// A file of the user's keeps the second folder (it is
				// swapped, not taken away), and its swap fails.
				testenv.WriteFile(t, filepath.Join(dirs[1], "NOTES"), []byte("x"), 0o600)
				opt.step = failSwapOf(dirs[1])
				restored = []string{dirs[0]}
			}
			before := tree(t, base)
			res, err := Uninstall(opt)
			checkNothingChanged(t, res, err)
			if fault == "broken" {
				isBroken(HostsFile, "ca.crt")(t, err)
			} else {
				checkRestored(t, err, restored...)
			}
			sameTree(t, "the certs roots", before, tree(t, base))
			if !res.Folders[0].Existed || snapshot(t, dirs[0]) == nil {
				t.Errorf("the first folder is gone")
			}
		})
	}
}
