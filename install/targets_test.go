package install

import (
	"errors"
	"strings"
	"testing"

	"github.com/certkit/certkit/internal/errs"
)

func TestResolveRoot(t *testing.T) {
	env := func(euid int, vars map[string]string) RootEnv {
		return RootEnv{
			Getenv:  func(k string) string { return vars[k] },
			HomeDir: func() (string, error) { return "/root-or-me", nil },
			LookupUser: func(name string) (string, error) {
				if name == "alice" {
					return "/home/alice", nil
				}
				return "", errors.New("no such user")
			},
			Geteuid: func() int { return euid },
		}
	}
	user := env(1000, map[string]string{})
	xdg := env(1000, map[string]string{"XDG_CONFIG_HOME": "/x/config"})
	root := env(0, map[string]string{})
	sudo := env(0, map[string]string{"SUDO_USER": "alice"})
	tests := []struct {
		target Target
		env    RootEnv
		dir    string
		system bool
		toml   bool
		note   bool
	}{
		{Docker, user, "/etc/docker/certs.d", true, false, false},
		{Docker, sudo, "/etc/docker/certs.d", true, false, false},
		{DockerRootless, user, "/root-or-me/.config/docker/certs.d", false, false, false},
		{DockerRootless, xdg, "/x/config/docker/certs.d", false, false, false},
		{DockerRootless, sudo, "/home/alice/.config/docker/certs.d", false, false, false},
		{DockerDesktop, user, "/root-or-me/.docker/certs.d", false, false, true},
		{DockerDesktop, sudo, "/home/alice/.docker/certs.d", false, false, true},
		{Podman, user, "/root-or-me/.config/containers/certs.d", false, false, false},
		{Podman, root, "/etc/containers/certs.d", true, false, false},
		{Podman, sudo, "/etc/containers/certs.d", true, false, false},
		{Containerd, user, "/etc/containerd/certs.d", true, true, false},
	}
	for _, tt := range tests {
		t.Run(string(tt.target), func(t *testing.T) {
			r, err := ResolveRoot(tt.target, tt.env)
			if err != nil {
				t.Fatal(err)
			}
			if r.Dir != tt.dir || r.System != tt.system || r.HostsTOML != tt.toml || (r.Note != "") != tt.note || r.Target != tt.target {
				t.Errorf("got %+v, want dir %s system %v hosts.toml %v note %v", r, tt.dir, tt.system, tt.toml, tt.note)
			}
		})
	}
}

func TestParseTarget(t *testing.T) {
	all, err := ParseTarget("all")
	if err != nil || len(all) != 5 {
		t.Fatalf("all = %v, %v", all, err)
	}
	if got, err := ParseTarget("Podman"); err != nil || len(got) != 1 || got[0] != Podman {
		t.Errorf("Podman = %v, %v", got, err)
	}
	_, err = ParseTarget("dockre")
	if !errs.IsInput(err) || errs.HintOf(err) == "" {
		t.Errorf("dockre: %v, want an input error with a hint", err)
	}
}

func TestCustomRoot(t *testing.T) {
	r, err := CustomRoot(Containerd, "rel")
	if err != nil || !r.HostsTOML || r.System || r.Dir[0] != '/' {
		t.Errorf("CustomRoot = %+v, %v", r, err)
	}
	if r, _ := CustomRoot(Docker, "/x"); r.HostsTOML || r.Dir != "/x" {
		t.Errorf("CustomRoot docker = %+v", r)
	}
}

func TestRoots(t *testing.T) {
	env := RootEnv{
		Getenv:  func(k string) string { return map[string]string{"XDG_CONFIG_HOME": "/x"}[k] },
		HomeDir: func() (string, error) { return "/home/u", nil },
		Geteuid: func() int { return 1000 },
	}
	rs, err := Roots([]Target{Podman, DockerRootless, Podman}, "", env)
	if err != nil || len(rs) != 2 || rs[0].Dir != "/home/u/.config/containers/certs.d" || rs[1].Dir != "/x/docker/certs.d" {
		t.Errorf("Roots = %+v, %v", rs, err)
	}
	if rs, err := Roots(nil, "", env); err != nil || len(rs) != 1 || rs[0].Target != Docker || rs[0].Dir != "/etc/docker/certs.d" {
		t.Errorf("default = %+v, %v", rs, err)
	}
	if rs, err := Roots([]Target{Containerd}, "/tmp/c", env); err != nil || len(rs) != 1 || rs[0].Dir != "/tmp/c" || !rs[0].HostsTOML {
		t.Errorf("--certs-dir = %+v, %v", rs, err)
	}
	if _, err := Roots(Targets(), "/tmp/c", env); !errs.IsInput(err) {
		t.Errorf("--certs-dir with every target: %v, want an input error", err)
	}
}

// TestRootsContainerdFirst: containerd searches /etc/containerd/certs.d
// before Docker's root (its default config_path), so Docker's root, named
// by --target or by --certs-dir, says so; other roots do not.
func TestRootsContainerdFirst(t *testing.T) {
	env := RootEnv{
		Getenv:  func(string) string { return "" },
		HomeDir: func() (string, error) { return "/home/u", nil },
		Geteuid: func() int { return 1000 },
	}
	ctr, err := ResolveRoot(Containerd, env)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		targets  []Target
		certsDir string
		want     []string // ContainerdFirst of each root
	}{
		{[]Target{Docker}, "", []string{ctr.Dir}},
		{Targets(), "", []string{ctr.Dir, "", "", "", ""}},
		{[]Target{Docker}, "/etc/docker/certs.d/", []string{ctr.Dir}},
		{[]Target{Docker}, "/srv/certs.d", []string{""}},
		{[]Target{Containerd}, "/etc/containerd/certs.d", []string{""}},
	}
	for _, tt := range tests {
		rs, err := Roots(tt.targets, tt.certsDir, env)
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range rs {
			if got := strings.Join(r.ContainerdFirst, ":"); got != tt.want[i] {
				t.Errorf("%v %q: root %s: containerd first %q, want %q", tt.targets, tt.certsDir, r.Dir, got, tt.want[i])
			}
		}
	}
}

// TestResultNotes: what install says about where its folders are read
// (certsd.md §2).
func TestResultNotes(t *testing.T) {
	folder := func(root Root, reg string) FolderResult {
		return FolderResult{Target: root.Target, Registry: reg, Root: root.Dir, root: root}
	}
	sys := Root{Target: Containerd, Dir: "/etc/containerd/certs.d", HostsTOML: true, System: true}
	custom := Root{Target: Containerd, Dir: "/srv/my certs", HostsTOML: true}
	rootless := Root{Target: DockerRootless, Dir: "/home/u/.config/docker/certs.d"}
	desktop := Root{Target: DockerDesktop, Dir: "/home/u/.docker/certs.d"}
	docker := Root{Target: Docker, Dir: "/etc/docker/certs.d"}
	tests := []struct {
		name    string
		folders []FolderResult
		n       int      // how many notes
		want    []string // substrings of the notes
	}{
		{"containerd", []FolderResult{folder(sys, "a:5000"), folder(sys, "b")}, 1,
			[]string{"finds /etc/containerd/certs.d through its config_path, which is /etc/containerd/certs.d:/etc/docker/certs.d by default in containerd 2.2 and later (an older containerd reads it only when its config_path names it); ctr reads it only when given --hosts-dir /etc/containerd/certs.d"}},
		{"containerd layout elsewhere", []FolderResult{folder(custom, "a:5000")}, 1,
			[]string{"reads /srv/my certs only when its config_path names it", "--hosts-dir '/srv/my certs'"}},
		{"docker and containerd", []FolderResult{folder(docker, "a:5000"), folder(sys, "a:5000")}, 1, []string{"config_path"}},
		{"per-user Docker only", []FolderResult{folder(rootless, "a:5000"), folder(desktop, "a:5000"), folder(rootless, "[fd00::1]:5000")}, 1,
			[]string{"the docker CLI's own client-side operations (docker manifest, client-side docker login) read /etc/docker/certs.d on this machine, not a per-user certs root: for them, also run sudo certkit install --target docker --host a:5000 --host '[fd00::1]:5000'"}},
		{"per-user and system Docker", []FolderResult{folder(rootless, "a:5000"), folder(docker, "a:5000")}, 0, nil},
		{"docker", []FolderResult{folder(docker, "a:5000")}, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := (&Result{Folders: tt.folders}).Notes()
			if len(got) != tt.n {
				t.Fatalf("notes %q, want %d", got, tt.n)
			}
			for _, w := range tt.want {
				if !strings.Contains(strings.Join(got, "\n"), w) {
					t.Errorf("notes %q, want %q in them", got, w)
				}
			}
		})
	}
}
