//go:build unix

package install

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/certkit/certkit/internal/testenv"
)

// TestInstallPodmanUserFolder: installing for podman as root into
// /etc/containers/certs.d, a folder for the registry in the per-user
// certs root podman reads first (of the user whose home it finds) hides
// certkit's folder: a warning, whose fixes each end it (installing there
// too, or moving the folder out of the certs root).
func TestInstallPodmanUserFolder(t *testing.T) {
	env := RootEnv{
		Getenv:  func(string) string { return "" },
		HomeDir: func() (string, error) { return "/home/t", nil },
		Geteuid: func() int { return 0 },
	}
	r, err := ResolveRoot(Podman, env)
	if err != nil || r.Dir != podmanSystemDir || len(r.PodmanFirst) != 1 || r.PodmanFirst[0] != "/home/t/"+podmanUserDir {
		t.Fatalf("ResolveRoot(podman) as root = %+v, %v; want /home/t's per-user root searched first", r, err)
	}
	env.Geteuid = func() int { return 1000 }
	if r, err := ResolveRoot(Podman, env); err != nil || len(r.PodmanFirst) != 0 {
		t.Errorf("ResolveRoot(podman) as a user = %+v, %v; want no root searched first", r, err)
	}

	testenv.NeedTools(t, "sh")
	p := newPKI(t)
	reg := mustParse(t, "reg.example.com:5000")
	p.issueClient(t, reg.String(), "client")
	base := t.TempDir()
	userRoot := filepath.Join(base, "home", podmanUserDir)
	root := Root{Target: Podman, Dir: filepath.Join(base, "etc", "certs.d"), PodmanFirst: []string{userRoot}}
	shadow := filepath.Join(userRoot, reg.String())
	warning := func(t *testing.T) *Problem {
		t.Helper()
		res, err := Install(Options{Home: p.home, Roots: []Root{root}})
		if err != nil {
			t.Fatal(err)
		}
		ws := problemsOf(res.Folders[0].Problems, KindShadowFolder)
		if len(ws) == 0 {
			return nil
		}
		return &ws[0]
	}
	if w := warning(t); w != nil {
		t.Fatalf("warns %v with no per-user folder", w)
	}

	t.Run("install there too", func(t *testing.T) {
		if err := os.MkdirAll(shadow, 0o755); err != nil {
			t.Fatal(err)
		}
		w := warning(t)
		if w == nil || !strings.Contains(w.Message, shadow) {
			t.Fatalf("warning %v, want one naming %s", w, shadow)
		}
		want := "certkit install --target podman --host reg.example.com:5000 --certs-dir " + userRoot
		if !strings.Contains(w.Fix, want) {
			t.Fatalf("fix %q, want %q", w.Fix, want)
		}
		if _, err := Install(Options{Home: p.home, Roots: []Root{customRoot(t, Podman, userRoot)}}); err != nil {
			t.Fatal(err)
		}
		if w := warning(t); w != nil {
			t.Errorf("still warns %v once certkit's files are in the per-user folder", w)
		}
		os.RemoveAll(shadow)
	})

	t.Run("move it out", func(t *testing.T) {
		if err := os.MkdirAll(shadow, 0o755); err != nil {
			t.Fatal(err)
		}
		w := warning(t)
		if w == nil {
			t.Fatal("no warning")
		}
		runShell(t, mvCommand(t, w.Fix[strings.Index(w.Fix, "move it out"):]))
		if exists(shadow) {
			t.Fatalf("the fix %q left %s", w.Fix, shadow)
		}
		if w := warning(t); w != nil {
			t.Errorf("still warns %v after the move", w)
		}
	})
}
