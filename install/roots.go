package install

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/certkit/certkit/internal/errs"
	"github.com/certkit/certkit/internal/shellquote"
)

// Roots turns targets and an optional certs-dir override into certs roots:
// with certsDir, the layout of the one target (docker when none) written
// into certsDir; otherwise each target's root on this machine. Targets are
// de-duplicated in order; none means docker.
func Roots(targets []Target, certsDir string, env RootEnv) ([]Root, error) {
	var uniq []Target
	seen := map[Target]bool{}
	for _, t := range targets {
		if !seen[t] {
			seen[t] = true
			uniq = append(uniq, t)
		}
	}
	if len(uniq) == 0 {
		uniq = []Target{Docker}
	}
	if certsDir != "" {
		if len(uniq) > 1 {
			return nil, errs.Input(fmt.Sprintf("--certs-dir takes one --target (the layout to write), got %d", len(uniq)),
				"run once per target, e.g. --certs-dir DIR --target containerd")
		}
		r, err := CustomRoot(uniq[0], certsDir)
		if err != nil {
			return nil, err
		}
		// The target's own root named with --certs-dir is read as that
		// root is.
		if d, err := ResolveRoot(r.Target, env); err == nil && filepath.Clean(d.Dir) == r.Dir {
			r.ContainerdFirst, r.PodmanFirst = d.ContainerdFirst, d.PodmanFirst
		}
		return []Root{r}, nil
	}
	var roots []Root
	for _, t := range uniq {
		r, err := ResolveRoot(t, env)
		if err != nil {
			return nil, err
		}
		roots = append(roots, r)
	}
	return roots, nil
}

// Notes are what the user should know about where the run's folders are
// read (certsd.md §2): how containerd and ctr find a containerd root, and
// that the docker CLI reads /etc/docker/certs.d, not a per-user root.
func (r *Result) Notes() []string {
	var out []string
	seen := map[string]bool{}
	dockerCLI := len(r.Folders) > 0
	var regs []string
	for _, f := range r.Folders {
		if !seen["reg\x00"+f.Registry] {
			seen["reg\x00"+f.Registry] = true
			regs = append(regs, "--host "+shellquote.Quote(f.Registry))
		}
		if f.root.Target != DockerRootless && f.root.Target != DockerDesktop {
			dockerCLI = false
		}
		if !f.root.HostsTOML || seen["root\x00"+f.Root] {
			continue
		}
		seen["root\x00"+f.Root] = true
		if f.Root == containerdRootDir {
			out = append(out, fmt.Sprintf("containerd's CRI plugin finds %s through its config_path, which is %s by default in containerd 2.2 and later (an older containerd reads it only when its config_path names it); ctr reads it only when given --hosts-dir %s",
				f.Root, containerdConfigPath, shellquote.Quote(f.Root)))
			continue
		}
		out = append(out, fmt.Sprintf("containerd's CRI plugin reads %s only when its config_path names it (by default, in containerd 2.2 and later, config_path is %s); ctr reads it only when given --hosts-dir %s",
			f.Root, containerdConfigPath, shellquote.Quote(f.Root)))
	}
	if dockerCLI {
		out = append(out, "the docker CLI's own client-side operations (docker manifest, client-side docker login) read /etc/docker/certs.d on this machine, not a per-user certs root: for them, also run sudo certkit install --target docker "+strings.Join(regs, " "))
	}
	return out
}

// containerdConfigPath is containerd's default list of certs roots
// (certsd.md §2), searched in order.
const containerdConfigPath = containerdRootDir + ":" + dockerRootDir

// ContainerdConfigPath returns the certs roots containerd (CRI, 2.2 and
// later) reads by default, in the order it searches them: its
// config_path, /etc/containerd/certs.d then /etc/docker/certs.d. With
// ContainerdSearch, the folders it tries for a registry.
func ContainerdConfigPath() []string { return strings.Split(containerdConfigPath, ":") }

// The system certs roots of Docker, containerd and podman, and podman's
// per-user one, under the home.
const (
	dockerRootDir     = "/etc/docker/certs.d"
	containerdRootDir = "/etc/containerd/certs.d"
	podmanSystemDir   = "/etc/containers/certs.d"
	podmanUserDir     = ".config/containers/certs.d"
)
