//go:build unix

package install

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"

	"go.podman.io/image/v5/pkg/tlsclientconfig"

	"crypto/tls"

	"github.com/certkit/certkit/host"
	"github.com/certkit/certkit/internal/testenv"
)

// crashEnv holds, in a re-executed test binary, the run to make and the
// step to die at (see crashChild).
const crashEnv = "CERTKIT_INSTALL_CRASH"

type crashRun struct {
	Home       string `json:"home"`
	Root       string `json:"root"`
	Target     Target `json:"target"`
	Registry   string `json:"registry"`
	Force      bool   `json:"force"`
	Uninstall  bool   `json:"uninstall"`
	NoExchange bool   `json:"no_exchange"` // use the two-rename fallback
	Step       string `json:"step"`        // die with SIGKILL when this step is reached
}

// crashChild runs one install or uninstall and kills itself, with SIGKILL
// (no deferred cleanup runs), at the step named. It exits 0 when the step
// never came, 3 on an error.
func crashChild() int {
	var c crashRun
	if err := json.Unmarshal([]byte(os.Getenv(crashEnv)), &c); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	step := func(s string) {
		if s == c.Step {
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
			select {}
		}
	}
	var xchg func(a, b string) error
	if c.NoExchange {
		xchg = func(a, b string) error { return errNoExchange }
	}
	reg, err := host.Parse(c.Registry)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	root, err := CustomRoot(c.Target, c.Root)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	if c.Uninstall {
		_, err = Uninstall(UninstallOptions{Registries: []host.Registry{reg}, Roots: []Root{root}, step: step, exchange: xchg})
	} else {
		_, err = Install(Options{Home: c.Home, Registries: []host.Registry{reg}, Roots: []Root{root}, Force: c.Force, step: step, exchange: xchg})
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	return 0
}

// runKilled runs c in a child process and reports whether it was killed
// at the step (false: it finished without reaching it).
func runKilled(t *testing.T, c crashRun) bool {
	t.Helper()
	data, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashEnv+"="+string(data))
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL {
			return true
		}
		t.Fatalf("child failed: %v\n%s", err, out)
	}
	if err != nil {
		t.Fatal(err)
	}
	return false
}

// content is a folder's names, modes and bytes; nil when it does not exist.
func content(t *testing.T, dir string) map[string]string {
	s := snapshot(t, dir)
	if s == nil {
		return nil
	}
	out := map[string]string{}
	for n, st := range s {
		out[n] = fmt.Sprintf("%v %x", st.mode, st.data)
	}
	return out
}

func sameContent(a, b map[string]string) bool {
	if (a == nil) != (b == nil) || len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func keys(m map[string]string) string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

// copyTree copies a folder tree (files and folders, with modes).
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.Walk(src, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		d := filepath.Join(dst, rel)
		if fi.IsDir() {
			if err := os.MkdirAll(d, fi.Mode().Perm()); err != nil {
				return err
			}
			return os.Chmod(d, fi.Mode().Perm())
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		testenv.WriteFile(t, d, data, fi.Mode().Perm())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestInstallKilledAtEveryStep kills install and uninstall at each step of
// a folder swap and checks that the registry folder is always either the
// old complete folder or the new complete one, that both real loaders
// accept it and reach the registry, and that the next run finishes the
// job and leaves nothing behind.
func TestInstallKilledAtEveryStep(t *testing.T) {
	p := newPKI(t)
	reg := startRegistry(t, p)
	name := reg.Name.String()
	p.issueClient(t, name, "client")

	// The old state: one pair, installed with a foreign file beside it.
	base := t.TempDir()
	oldRoots := map[Target]string{}
	for _, target := range []Target{Docker, Containerd} {
		root := filepath.Join(base, "old-"+string(target))
		if err := os.MkdirAll(filepath.Join(root, name), 0o755); err != nil {
			t.Fatal(err)
		}
		testenv.WriteFile(t, filepath.Join(root, name, "NOTES.txt"), []byte("the user's\n"), 0o644)
		if _, err := Install(Options{Home: p.home, Roots: []Root{customRoot(t, target, root)}}); err != nil {
			t.Fatal(err)
		}
		oldRoots[target] = root
	}
	// The new material: the pair re-issued, and a second client.
	p.issueClient(t, name, "client")
	p.issueClient(t, name, "second")

	swapSteps := []string{"temp-created", "file:.certkit-manifest.json", "file:NOTES.txt", "file:ca.crt",
		"file:client.cert", "file:client.key", "file:second.cert", "file:second.key", "temp-written"}
	type scenario struct {
		name   string
		target Target
		fresh  bool // no folder before
		run    crashRun
		steps  []string
		// absentAt are steps where the fallback leaves no folder for an
		// instant; the next run puts the old one back.
		absentAt string
	}
	var scenarios []scenario
	for _, target := range []Target{Docker, Containerd} {
		steps := append([]string{}, swapSteps...)
		if target == Containerd {
			steps = append(steps[:8:8], "file:hosts.toml", "temp-written")
		}
		scenarios = append(scenarios,
			scenario{name: "update-" + string(target), target: target, run: crashRun{Force: true},
				steps: append(append([]string{}, steps...), "backed-up", "exchanged", "before-cleanup", "cleaned-up")},
			scenario{name: "fallback-" + string(target), target: target, run: crashRun{Force: true, NoExchange: true},
				steps: append(append([]string{}, steps...), "backed-up", "moved-away", "exchanged", "before-cleanup", "cleaned-up"), absentAt: "moved-away"},
			scenario{name: "fresh-" + string(target), target: target, fresh: true,
				steps: []string{"temp-created", "file:.certkit-manifest.json", "file:ca.crt", "file:client.cert", "temp-written", "backed-up", "renamed"}},
			scenario{name: "uninstall-" + string(target), target: target, run: crashRun{Uninstall: true},
				steps: []string{"temp-created", "file:NOTES.txt", "temp-written", "exchanged", "before-cleanup", "cleaned-up"}},
		)
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			for _, step := range sc.steps {
				t.Run(strings.ReplaceAll(step, ":", "="), func(t *testing.T) {
					root := filepath.Join(t.TempDir(), "certs.d")
					if sc.fresh {
						if err := os.Mkdir(root, 0o755); err != nil {
							t.Fatal(err)
						}
					} else {
						copyTree(t, oldRoots[sc.target], root)
					}
					dir := filepath.Join(root, name)
					old := content(t, dir)

					c := sc.run
					c.Home, c.Root, c.Target, c.Registry, c.Step = p.home, root, sc.target, name, step
					if !runKilled(t, c) {
						t.Fatalf("the run finished without reaching step %s", step)
					}
					killed := content(t, dir)

					if sc.absentAt == step {
						if killed != nil {
							t.Fatalf("expected the folder moved away at %s", step)
						}
						// What the next run does first, under the lock.
						if err := recoverLeftovers(root, name); err != nil {
							t.Fatal(err)
						}
						if killed = content(t, dir); !sameContent(killed, old) {
							t.Fatalf("recovery did not put the old folder back: %s", keys(killed))
						}
					}

					// The folder as the kill left it must be usable by the
					// real loaders.
					if killed != nil && killed["client.cert"] != "" {
						bothOracles(t, reg, root)
					} else if killed != nil {
						if err := tlsclientconfig.SetupCertificates(dir, &tls.Config{}); err != nil {
							t.Errorf("podman's loader refuses the folder: %v", err)
						}
						if err := containerdLoad(root, name); err != nil {
							t.Errorf("containerd's loader refuses the folder: %v", err)
						}
					}

					// The next run completes the job.
					c.Step = ""
					if runKilled(t, c) {
						t.Fatal("the second run was killed")
					}
					final := content(t, dir)
					if !sameContent(killed, old) && !sameContent(killed, final) {
						t.Fatalf("killed at %s, the folder is neither the old nor the new one:\nold    %s\nkilled %s\nnew    %s",
							step, keys(old), keys(killed), keys(final))
					}
					// Nothing is left behind in the certs root.
					des, err := os.ReadDir(root)
					if err != nil {
						t.Fatal(err)
					}
					for _, d := range des {
						if n := d.Name(); n != name && n != backupDir {
							t.Errorf("left behind in the certs root: %s", n)
						}
					}
				})
			}
		})
	}
}
