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
	Home       string      `json:"home"`
	Roots      []crashRoot `json:"roots"`
	Registry   string      `json:"registry"`
	Force      bool        `json:"force"`
	Uninstall  bool        `json:"uninstall"`
	NoExchange bool        `json:"no_exchange"` // use the two-rename fallback
	Step       string      `json:"step"`        // die with SIGKILL when this step is reached
	StepDir    string      `json:"step_dir"`    // in this registry folder ("" for a step of the whole run, or any with one folder)
	// Break is a registry folder whose new copy vanishes once every
	// folder is prepared, so that its swap fails and the run rolls back.
	Break string `json:"break"`
}

type crashRoot struct {
	Dir    string `json:"dir"`
	Target Target `json:"target"`
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
	step := func(dir, s string) {
		if c.Break != "" && dir == "" && s == "prepared" {
			tmps, _ := filepath.Glob(filepath.Join(filepath.Dir(c.Break), tmpPrefix+filepath.Base(c.Break)+".*"))
			for _, t := range tmps {
				os.RemoveAll(t)
			}
		}
		if s == c.Step && (dir == c.StepDir || c.StepDir == "" && len(c.Roots) == 1) {
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
	var roots []Root
	for _, r := range c.Roots {
		root, err := CustomRoot(r.Target, r.Dir)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 3
		}
		roots = append(roots, root)
	}
	if c.Uninstall {
		_, err = Uninstall(UninstallOptions{Registries: []host.Registry{reg}, Roots: roots, step: step, exchange: xchg})
	} else {
		_, err = Install(Options{Home: c.Home, Registries: []host.Registry{reg}, Roots: roots, Force: c.Force, step: step, exchange: xchg})
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	return 0
}

// noRaceExitSleep is the GORACE setting of a child test process: the
// caller's options, without the race detector's 1 s wait at exit.
func noRaceExitSleep() string {
	return "GORACE=" + strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0")
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
	// Under -race a process that ends waits 1 s (atexit_sleep_ms) for late
	// reports: over the 138 runs of the kill test that was two minutes of
	// the CI run. The children still run with the race detector on.
	cmd.Env = append(os.Environ(), crashEnv+"="+string(data), noRaceExitSleep())
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
// a run (writing each new folder, swapping them in, removing the old ones,
// and swapping them back when a later folder fails) and checks that each
// registry folder is always either the old complete folder or the new
// complete one, that both real loaders accept it and reach the registry,
// and that the next run finishes the job and leaves nothing behind.
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

	// killAt is a step in the folder of one root of the run (root -1: a
	// step of the whole run).
	type killAt struct {
		root int
		step string
	}
	in := func(root int, steps ...string) []killAt {
		var out []killAt
		for _, s := range steps {
			out = append(out, killAt{root, s})
		}
		return out
	}
	run := func(steps ...string) []killAt { return in(-1, steps...) }
	cat := func(parts ...[]killAt) []killAt {
		var out []killAt
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	type rootSpec struct {
		target Target
		fresh  bool // no folder before
		bare   bool // only certkit's files: uninstall takes the folder away
	}
	type scenario struct {
		name  string
		roots []rootSpec
		run   crashRun
		brk   int // the root whose swap fails (-1: none)
		steps []killAt
		// absentAt are steps where the fallback leaves no folder for an
		// instant; the next run puts the old one back.
		absentAt map[killAt]bool
	}
	swapSteps := []string{"temp-created", "file:.certkit-manifest.json", "file:NOTES.txt", "file:ca.crt",
		"file:client.cert", "file:client.key", "file:second.cert", "file:second.key", "temp-written"}
	var scenarios []scenario
	for _, target := range []Target{Docker, Containerd} {
		steps := append([]string{}, swapSteps...)
		if target == Containerd {
			steps = append(steps[:8:8], "file:hosts.toml", "temp-written")
		}
		one := []rootSpec{{target: target}}
		scenarios = append(scenarios,
			scenario{name: "update-" + string(target), roots: one, run: crashRun{Force: true}, brk: -1,
				steps: cat(in(0, steps...), in(0, "backed-up", "exchanged", "before-cleanup", "cleaned-up"))},
			scenario{name: "fallback-" + string(target), roots: one, run: crashRun{Force: true, NoExchange: true}, brk: -1,
				steps:    cat(in(0, steps...), in(0, "backed-up", "moved-away", "exchanged", "before-cleanup", "cleaned-up")),
				absentAt: map[killAt]bool{{0, "moved-away"}: true}},
			scenario{name: "fresh-" + string(target), roots: []rootSpec{{target: target, fresh: true}}, brk: -1,
				steps: cat(in(0, "temp-created", "file:.certkit-manifest.json", "file:ca.crt", "file:client.cert", "temp-written", "backed-up", "renamed"))},
			scenario{name: "uninstall-" + string(target), roots: one, run: crashRun{Uninstall: true}, brk: -1,
				steps: cat(in(0, "temp-created", "file:NOTES.txt", "temp-written", "exchanged", "before-cleanup", "cleaned-up"))},
			scenario{name: "uninstall-whole-" + string(target), roots: []rootSpec{{target: target, bare: true}}, run: crashRun{Uninstall: true}, brk: -1,
				steps: in(0, "moved-away", "before-cleanup", "cleaned-up")},
		)
	}
	// Two roots: every folder is prepared, then they are swapped one after
	// the other ("prepared" and "swapped" are the steps between), and when
	// the second swap fails the first is swapped back.
	two := []rootSpec{{target: Docker}, {target: Containerd}}
	scenarios = append(scenarios,
		scenario{name: "two-roots", roots: two, run: crashRun{Force: true}, brk: -1,
			steps: cat(in(0, "backed-up"), in(1, "temp-created", "backed-up"), run("prepared"), in(0, "exchanged"), in(1, "exchanged"), run("swapped"),
				in(0, "before-cleanup", "cleaned-up"), in(1, "before-cleanup", "cleaned-up"))},
		scenario{name: "rollback", roots: two, run: crashRun{Force: true}, brk: 1,
			steps: cat(run("prepared"), in(0, "exchanged", "swapped-back"), run("rolled-back"))},
		scenario{name: "rollback-fallback", roots: two, run: crashRun{Force: true, NoExchange: true}, brk: 1,
			steps:    cat(in(0, "moved-away", "exchanged", "moved-back", "swapped-back"), run("rolled-back")),
			absentAt: map[killAt]bool{{0, "moved-away"}: true, {0, "moved-back"}: true}},
		scenario{name: "rollback-fresh", roots: []rootSpec{{target: Docker, fresh: true}, {target: Containerd}}, run: crashRun{Force: true}, brk: 1,
			steps: cat(in(0, "renamed", "swapped-back"), run("rolled-back"))},
		scenario{name: "rollback-uninstall", roots: two, run: crashRun{Uninstall: true}, brk: 1,
			steps: cat(in(0, "exchanged", "swapped-back"), run("rolled-back"))},
		scenario{name: "rollback-uninstall-whole", roots: []rootSpec{{target: Docker, bare: true}, {target: Containerd}}, run: crashRun{Uninstall: true}, brk: 1,
			steps: cat(in(0, "moved-away", "swapped-back"), run("rolled-back"))},
	)
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			for _, at := range sc.steps {
				label := at.step
				if at.root >= 0 && len(sc.roots) > 1 {
					label = fmt.Sprintf("%d-%s", at.root, at.step)
				}
				t.Run(strings.ReplaceAll(label, ":", "="), func(t *testing.T) {
					tmp := t.TempDir()
					c := sc.run
					c.Home, c.Registry = p.home, name
					var roots, dirs []string
					var old []map[string]string
					for i, rs := range sc.roots {
						root := filepath.Join(tmp, fmt.Sprintf("certs%d.d", i))
						if rs.fresh {
							if err := os.Mkdir(root, 0o755); err != nil {
								t.Fatal(err)
							}
						} else {
							copyTree(t, oldRoots[rs.target], root)
						}
						if rs.bare {
							os.Remove(filepath.Join(root, name, "NOTES.txt"))
						}
						dir := filepath.Join(root, name)
						roots, dirs = append(roots, root), append(dirs, dir)
						old = append(old, content(t, dir))
						c.Roots = append(c.Roots, crashRoot{Dir: root, Target: rs.target})
					}
					if sc.brk >= 0 {
						c.Break = dirs[sc.brk]
					}
					c.Step = at.step
					if at.root >= 0 {
						c.StepDir = dirs[at.root]
					}
					if !runKilled(t, c) {
						t.Fatalf("the run finished without reaching step %s", label)
					}
					var killed []map[string]string
					for i, dir := range dirs {
						k := content(t, dir)
						if sc.absentAt[killAt{i, at.step}] {
							if k != nil {
								t.Fatalf("expected the folder moved away at %s", label)
							}
							// What the next run does first, under the lock.
							if err := recoverLeftovers(roots[i], name); err != nil {
								t.Fatal(err)
							}
							if k = content(t, dir); !sameContent(k, old[i]) {
								t.Fatalf("recovery did not put the old folder back: %s", keys(k))
							}
						}
						killed = append(killed, k)

						// The folder as the kill left it must be usable by
						// the real loaders.
						if k != nil && k["client.cert"] != "" {
							bothOracles(t, reg, roots[i])
						} else if k != nil {
							if err := tlsclientconfig.SetupCertificates(dir, &tls.Config{}); err != nil {
								t.Errorf("podman's loader refuses the folder: %v", err)
							}
							if err := containerdLoad(roots[i], name); err != nil {
								t.Errorf("containerd's loader refuses the folder: %v", err)
							}
						}
					}

					// The next run completes the job.
					c.Step, c.StepDir, c.Break = "", "", ""
					if runKilled(t, c) {
						t.Fatal("the second run was killed")
					}
					for i, dir := range dirs {
						final := content(t, dir)
						if !sameContent(killed[i], old[i]) && !sameContent(killed[i], final) {
							t.Fatalf("killed at %s, %s is neither the old nor the new folder:\nold    %s\nkilled %s\nnew    %s",
								label, dir, keys(old[i]), keys(killed[i]), keys(final))
						}
						// Nothing is left behind in the certs root.
						des, err := os.ReadDir(roots[i])
						if err != nil {
							t.Fatal(err)
						}
						for _, d := range des {
							if n := d.Name(); n != name && n != backupDir {
								t.Errorf("left behind in %s: %s", roots[i], n)
							}
						}
					}
				})
			}
		})
	}
}
