package install

import (
	"errors"
	"path/filepath"
	"strings"

	"github.com/certkit/certkit/internal/errs"
	"github.com/certkit/certkit/internal/home"
)

// Target is a consumer of certs.d folders (certsd.md §2).
type Target string

// The targets install knows.
const (
	Docker         Target = "docker"          // Docker Engine, rootful: /etc/docker/certs.d
	DockerRootless Target = "docker-rootless" // $XDG_CONFIG_HOME/docker/certs.d
	DockerDesktop  Target = "docker-desktop"  // ~/.docker/certs.d, copied into Desktop's VM at start
	Podman         Target = "podman"          // podman, skopeo, buildah
	Containerd     Target = "containerd"      // /etc/containerd/certs.d, with hosts.toml
	All            Target = "all"             // every target above
)

// Targets lists every target, in the order install writes them.
func Targets() []Target {
	return []Target{Docker, DockerRootless, DockerDesktop, Podman, Containerd}
}

// ParseTarget reads a --target value.
func ParseTarget(s string) ([]Target, error) {
	t := Target(strings.ToLower(strings.TrimSpace(s)))
	if t == All {
		return Targets(), nil
	}
	for _, k := range Targets() {
		if t == k {
			return []Target{t}, nil
		}
	}
	names := []string{}
	for _, k := range Targets() {
		names = append(names, string(k))
	}
	return nil, errs.Input("unknown target "+quote(s), "use one of "+strings.Join(names, ", ")+" or all")
}

// Root is one certs root: the folder that holds a folder per registry.
type Root struct {
	Target Target `json:"target"`
	Dir    string `json:"dir"`
	// HostsTOML: containerd reads hosts.toml, so install writes one that
	// names the files.
	HostsTOML bool `json:"hosts_toml,omitempty"`
	// System is a machine-wide root (under /etc), writable only by root.
	System bool `json:"system,omitempty"`
	// Note is what the user must do after a change, if anything.
	Note string `json:"note,omitempty"`
	// ContainerdFirst are the certs roots containerd searches before this
	// one (its config_path order): a folder for a registry there, or
	// _default, hides this root's folder from containerd.
	ContainerdFirst []string `json:"containerd_first,omitempty"`
	// PodmanFirst are the certs roots podman, skopeo and buildah search
	// before this one (PodmanSearch): a folder for a registry there hides
	// this root's folder from them.
	PodmanFirst []string `json:"podman_first,omitempty"`
}

// RootEnv is the part of the environment the certs roots depend on: the
// same as the certkit home's (under sudo, user-scoped roots belong to the
// invoking user, as the certkit home does).
type RootEnv = home.Env

// ResolveRoot returns the certs root of a target on this machine.
func ResolveRoot(t Target, env RootEnv) (Root, error) {
	r := Root{Target: t}
	switch t {
	case Docker:
		r.Dir, r.System = dockerRootDir, true
		// containerd's config_path: /etc/containerd/certs.d, then this.
		r.ContainerdFirst = []string{containerdRootDir}
	case DockerRootless:
		cfg, err := configHome(env)
		if err != nil {
			return r, err
		}
		r.Dir = filepath.Join(cfg, "docker", "certs.d")
	case DockerDesktop:
		h, err := userHome(env)
		if err != nil {
			return r, err
		}
		r.Dir = filepath.Join(h, ".docker", "certs.d")
		r.Note = "restart Docker Desktop: it copies ~/.docker/certs.d into its VM only when it starts"
	case Podman:
		if euid(env) == 0 {
			r.Dir, r.System = podmanSystemDir, true
			// As root, podman reads root's own per-user root first.
			for _, d := range podmanRoots(env) {
				if d == podmanSystemDir {
					break
				}
				r.PodmanFirst = append(r.PodmanFirst, d)
			}
			break
		}
		h, err := userHome(env)
		if err != nil {
			return r, err
		}
		r.Dir = filepath.Join(h, podmanUserDir)
	case Containerd:
		r.Dir, r.System, r.HostsTOML = containerdRootDir, true, true
	default:
		return r, errs.Input("unknown target "+quote(string(t)), "")
	}
	return r, nil
}

// CustomRoot is --certs-dir: the layout of target t written into dir.
func CustomRoot(t Target, dir string) (Root, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return Root{}, err
	}
	return Root{Target: t, Dir: abs, HostsTOML: t == Containerd}, nil
}

func euid(env RootEnv) int {
	if env.Geteuid == nil {
		return -1
	}
	return env.Geteuid()
}

// userHome is the home folder of the user the files are for: under sudo,
// the invoking user's, since a rootless daemon or Docker Desktop runs as
// that user.
func userHome(env RootEnv) (string, error) {
	if su := env.Getenv("SUDO_USER"); su != "" && su != "root" && euid(env) == 0 && env.LookupUser != nil {
		if dir, err := env.LookupUser(su); err == nil && dir != "" {
			return dir, nil
		}
	}
	if env.HomeDir != nil {
		if dir, err := env.HomeDir(); err == nil && dir != "" {
			return dir, nil
		}
	}
	return "", errors.New("cannot find the home folder for a per-user certs root; pass --certs-dir")
}

// configHome is $XDG_CONFIG_HOME, else ~/.config (of the invoking user
// under sudo, whose environment sudo resets).
func configHome(env RootEnv) (string, error) {
	if x := env.Getenv("XDG_CONFIG_HOME"); x != "" && filepath.IsAbs(x) {
		return x, nil
	}
	h, err := userHome(env)
	if err != nil {
		return "", err
	}
	return filepath.Join(h, ".config"), nil
}

func quote(s string) string { return "\"" + s + "\"" }
