//go:build unix

package install

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/certkit/certkit/host"
	"github.com/certkit/certkit/internal/errs"
)

// linkedRoots makes Docker's certs root and a containerd root that is a
// symbolic link to it (containerd's root linked to Docker's, say).
func linkedRoots(t *testing.T) (base string, docker, containerd Root) {
	t.Helper()
	base = t.TempDir()
	real := filepath.Join(base, "docker", "certs.d")
	if err := os.MkdirAll(real, 0o755); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(base, "containerd-certs.d")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	return base, customRoot(t, Docker, real), customRoot(t, Containerd, link)
}

// TestInstallTwoRootsOneFolderDifferentPlans: two certs roots that are
// one folder, with layouts that differ there (containerd's has
// hosts.toml): swapped in one after the other, the second would undo the
// first. The run is refused before anything is written, naming both
// roots, in a dry run too; with --force on a folder installed for one of
// them, likewise (each run would flip the folder).
func TestInstallTwoRootsOneFolderDifferentPlans(t *testing.T) {
	p := newPKI(t)
	r := mustParse(t, "reg.example.com:5000")
	p.issueClient(t, r.String(), "client")

	check := func(t *testing.T, base, link string, roots []Root, opt Options) {
		t.Helper()
		before := tree(t, base)
		opt.Home, opt.Roots = p.home, roots
		res, err := Install(opt)
		var se *SharedFolderError
		if !errors.As(err, &se) {
			t.Fatalf("got %v (result: %v), want a SharedFolderError", err, res != nil)
		}
		for _, root := range roots {
			if !strings.Contains(err.Error(), root.Dir) {
				t.Errorf("the error does not name %s: %v", root.Dir, err)
			}
		}
		if h := errs.HintOf(err); !strings.Contains(h, "install only --target containerd") || !strings.Contains(h, "make "+link+" a folder of its own rather than a link") {
			t.Errorf("hint %q: want --target containerd alone, or the link %s made a folder", h, link)
		}
		sameTree(t, "the certs roots", before, tree(t, base))
	}
	for _, order := range []string{"docker first", "containerd first"} {
		t.Run(order, func(t *testing.T) {
			base, docker, containerd := linkedRoots(t)
			roots := []Root{docker, containerd}
			if order == "containerd first" {
				roots = []Root{containerd, docker}
			}
			check(t, base, containerd.Dir, roots, Options{DryRun: true})
			check(t, base, containerd.Dir, roots, Options{})
		})
	}
	t.Run("force over one of them", func(t *testing.T) {
		base, docker, containerd := linkedRoots(t)
		if _, err := Install(Options{Home: p.home, Roots: []Root{containerd}}); err != nil {
			t.Fatal(err)
		}
		// Without --force Docker's plan keeps hosts.toml: one outcome.
		res, err := Install(Options{Home: p.home, Roots: []Root{docker, containerd}})
		if err != nil {
			t.Fatal(err)
		}
		if res.Changed() {
			t.Errorf("a second run changed %+v", res.Folders)
		}
		check(t, base, containerd.Dir, []Root{containerd, docker}, Options{Force: true})
		if !exists(filepath.Join(docker.Dir, r.String(), HostsFile)) {
			t.Error("hosts.toml is gone")
		}
	})
}

// TestUninstallTwoRootsOneFolder: the registry folder of one certs root is
// a symbolic link to the folder of another; uninstall from both takes
// certkit's files away and keeps the folder, so the link does not
// dangle, in either order.
func TestUninstallTwoRootsOneFolder(t *testing.T) {
	p := newPKI(t)
	r := mustParse(t, "reg.example.com:5000")
	p.issueClient(t, r.String(), "client")
	for _, order := range []string{"real first", "link first"} {
		t.Run(order, func(t *testing.T) {
			base := t.TempDir()
			real, other := filepath.Join(base, "docker"), filepath.Join(base, "other")
			os.MkdirAll(other, 0o755)
			roots := []Root{customRoot(t, Docker, real), customRoot(t, Docker, other)}
			if _, err := Install(Options{Home: p.home, Roots: roots[:1]}); err != nil {
				t.Fatal(err)
			}
			dir := filepath.Join(real, r.String())
			if err := os.Symlink(dir, filepath.Join(other, r.String())); err != nil {
				t.Fatal(err)
			}
			if order == "link first" {
				roots = []Root{roots[1], roots[0]}
			}
			opt := UninstallOptions{Registries: []host.Registry{r}, Roots: roots}
			opt.DryRun = true
			res, err := Uninstall(opt)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range res.Folders {
				if f.Removed {
					t.Errorf("dry run: %s would be removed, under a link", f.Dir)
				}
			}
			opt.DryRun = false
			if res, err = Uninstall(opt); err != nil {
				t.Fatal(err)
			}
			for _, f := range res.Folders {
				if !f.Changed || f.Removed {
					t.Errorf("%s: changed %v, removed %v; want changed and kept", f.Dir, f.Changed, f.Removed)
				}
			}
			if s := snapshot(t, dir); s == nil || len(s) != 0 {
				t.Errorf("the folder holds %v, want it empty and present", names(s))
			}
			if _, err := os.Stat(filepath.Join(other, r.String())); err != nil {
				t.Errorf("the link dangles: %v", err)
			}
		})
	}
}
