package install

import (
	"errors"
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
