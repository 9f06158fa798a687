package install

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"github.com/certkit/certkit/host"
	"github.com/certkit/certkit/internal/shellquote"
)

// The runtimes' searches for a registry's folder (certsd.md §2): install
// checks them for folders that hide the one it writes, verify reads the
// folder they pick. One implementation, here.

// ContainerdDefaultDir is the folder containerd reads in a certs root for a
// registry that has none of its own there.
const ContainerdDefaultDir = "_default"

// ContainerdSearch returns the registry folders containerd tries for reg,
// in order (hostDirFromRoots and hostPaths in containerd): in each certs
// root of roots, given in its config_path order, <host>_<port>_, then
// <host:port>, then _default. containerd reads the first that exists and
// no other, so the first root with one of them wins.
func ContainerdSearch(roots []string, reg host.Registry) []string {
	var out []string
	for _, r := range roots {
		for _, d := range append(reg.ContainerdDirs(), ContainerdDefaultDir) {
			out = append(out, filepath.Join(r, d))
		}
	}
	return out
}

// ContainerdReads reports whether containerd reads the certs root r:
// a root with the containerd layout (hosts.toml), or one its default
// config_path names after others (Docker's /etc/docker/certs.d, after
// /etc/containerd/certs.d: ContainerdFirst lists them; certsd.md §2). A
// root given with --certs-dir in another layout is read by containerd
// only if its config_path names it, which certkit cannot know: it is not
// taken as read.
func (r Root) ContainerdReads() bool { return r.HostsTOML || len(r.ContainerdFirst) > 0 }

// ContainerdLookup returns how containerd finds reg's folder when it
// reads root (see ContainerdReads): search, the folders it tries
// (ContainerdSearch over root.ContainerdFirst, then root); used, the
// index of the one it reads (FirstExisting, with its error), -1 when none
// exists; own, the index of root.Folder(reg), where certkit installs. A
// folder before own that exists hides it from containerd. search is nil,
// and used and own are -1, when containerd does not read root.
func ContainerdLookup(root Root, reg host.Registry) (search []string, used, own int, err error) {
	if !root.ContainerdReads() {
		return nil, -1, -1, nil
	}
	search = ContainerdSearch(append(slices.Clone(root.ContainerdFirst), root.Dir), reg)
	used, err = FirstExisting(search)
	return search, used, slices.Index(search, root.Folder(reg)), err
}

// PodmanSearch returns the registry folders podman, skopeo and buildah
// (containers/image) try for reg, in order: <reg> in
// ~/.config/containers/certs.d of whoever runs them (found through the
// home, as they find it: root's own when run as root, sudo included),
// then /etc/containers/certs.d, then Docker's /etc/docker/certs.d. They
// read the first that exists and no other. The per-user folder is left
// out when env finds no home.
func PodmanSearch(env RootEnv, reg host.Registry) []string {
	var out []string
	for _, r := range podmanRoots(env) {
		if d := filepath.Join(r, reg.String()); !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	return out
}

// podmanRoots are the certs roots of PodmanSearch, in its order.
func podmanRoots(env RootEnv) []string {
	var roots []string
	if env.HomeDir != nil {
		if h, err := env.HomeDir(); err == nil && h != "" {
			roots = append(roots, filepath.Join(h, podmanUserDir))
		}
	}
	return append(roots, podmanSystemDir, dockerRootDir)
}

// podmanShadows warns about a folder podman, skopeo and buildah read for
// reg instead of the one certkit installs into root: the registry's
// folder in a certs root they search first (root.PodmanFirst: the
// per-user root of whoever runs them, when certkit installs into
// /etc/containers/certs.d as root). A root the run installs into too is
// no shadow; nor is a folder certkit installed there.
func podmanShadows(root Root, reg host.Registry, roots []Root) []Problem {
	name := reg.String()
	for _, first := range root.PodmanFirst {
		if slices.ContainsFunc(roots, func(r Root) bool { return filepath.Clean(r.Dir) == filepath.Clean(first) }) {
			return nil
		}
		shadow := filepath.Join(first, name)
		if i, _ := FirstExisting([]string{shadow}); i < 0 || CertkitFolder(shadow, reg) {
			continue
		}
		return []Problem{{Severity: SeverityWarning, Kind: KindShadowFolder,
			Message: fmt.Sprintf("podman, skopeo and buildah, run as the user whose home holds %s, read %s for %s and never this folder (they read the first folder for the registry that exists, per-user first)",
				first, shadow, name),
			Fix: fmt.Sprintf("install into that folder too: certkit install --target podman --host %s --certs-dir %s; or move it out of the way: %s",
				shellquote.Quote(name), shellquote.Quote(first), ShadowMove(shadow))}}
	}
	return nil
}

// FirstExisting returns the index of the folder of search that a runtime
// reads: the first that exists, looked up with stat (a link counts as what
// it points to). Folders that do not exist, and those this process may
// not look into, are passed over, as containers/image does; any other
// failure ends the search there, and is returned with that folder's
// index. -1 when none exists.
func FirstExisting(search []string) (int, error) {
	for i, d := range search {
		_, err := os.Stat(d)
		switch {
		case err == nil:
			return i, nil
		case errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission):
			continue
		}
		return i, err
	}
	return -1, nil
}

// ShadowMove is the command that moves a folder a runtime reads instead
// of the one certkit installs (a shadow folder) out of the way: out of its
// certs root, to NAME.certkit-old beside the root, where no runtime looks
// (inside the root, a key in it would still be in certs.d, and a name a
// registry could have would still be listed as one). The name is a free
// one (NAME.certkit-old2, …), so that the move overwrites nothing and
// never moves the folder into another.
func ShadowMove(folder string) string {
	folder = filepath.Clean(folder)
	return moveAside(folder, filepath.Join(filepath.Dir(filepath.Dir(folder)), filepath.Base(folder)+shadowSuffix))
}

// shadowSuffix ends the name ShadowMove gives a shadow folder.
const shadowSuffix = ".certkit-old"
