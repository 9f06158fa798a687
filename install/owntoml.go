// A hosts.toml of the user's beside certkit's files: whether it names them,
// and the lines that would.

package install

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/certkit/certkit/internal/prose"
)

// named reports whether one of paths (absolute, as HostsTOML holds them) is
// name in the registry folder: by its path, or by a path whose folder is
// the registry folder reached another way (through a symbolic link to the
// folder or to its certs root), as containerd opens it.
func (fr *FolderResult) named(paths []string, name string) bool {
	var dir fs.FileInfo // the registry folder's, read once
	for _, p := range paths {
		if filepath.Base(p) != name {
			continue
		}
		parent := filepath.Dir(p)
		if slices.Contains(fr.dirs(), parent) {
			return true
		}
		if dir == nil {
			var err error
			if dir, err = os.Stat(fr.Dir); err != nil {
				continue
			}
		}
		if fi, err := os.Stat(parent); err == nil && os.SameFile(fi, dir) {
			return true
		}
	}
	return false
}

// missingFrom lists certkit's files that h does not name anywhere.
func (fr *FolderResult) missingFrom(h *HostsTOML) []string {
	uses := h.Uses()
	var out []string
	for _, n := range fr.certkitFiles() {
		if !fr.named(uses, n) {
			out = append(out, n)
		}
	}
	return out
}

// namesNew reports whether p is about a hosts.toml of the user's naming a
// file the plan creates, by a path where it does not exist yet: the file
// is there once the run is done.
func (fr *FolderResult) namesNew(p Problem) bool {
	if p.Kind != KindHostsTOMLUnreadableFile || p.File != HostsFile {
		return false
	}
	for _, f := range fr.Files {
		if f.Action == Create && fr.named([]string{p.Path}, f.Name) && !exists(p.Path) {
			return true
		}
	}
	return false
}

// hostsTOMLWarning is the warning about a hosts.toml of the user's that
// does not name all of certkit's files: containerd (and Docker's containerd
// image store) read only what it names, so they ignore the others. It says
// the exact lines that make them read certkit's files. nil when there is
// nothing to say.
func (fr *FolderResult) hostsTOMLWarning(h *HostsTOML) *Problem {
	if h == nil || h.Err != nil || len(h.Hosts) == 0 || fr.root.Target == Podman || !fr.keptForeign(HostsFile) {
		return nil
	}
	missing := fr.missingFrom(h)
	if len(missing) == 0 {
		return nil
	}
	path := filepath.Join(fr.Dir, HostsFile)
	var msg string
	switch {
	case fr.root.HostsTOML:
		msg = fmt.Sprintf("was not written by certkit (kept as it is) and does not name %s, which certkit installed beside it: containerd reads only the files hosts.toml names, so it will not use them until it does",
			prose.AndList(missing))
	default:
		readers := "Docker's containerd image store reads only the files hosts.toml names, so it ignores them"
		if fr.root.ContainerdReads() { // Docker's root
			readers = "containerd (which reads Docker's certs root too) and Docker's containerd image store read only the files hosts.toml names, so they ignore them"
		}
		msg = fmt.Sprintf("was not written by certkit and does not name %s, which certkit installed beside it: %s until it does (Docker's classic image store and podman read them)",
			prose.AndList(missing), readers)
	}
	fix := tomlLines(h, fr, path)
	return &Problem{Severity: SeverityWarning, Kind: KindHiddenByHostsTOML, File: HostsFile, Message: msg, Fix: fix}
}

// tomlLines says what to set in the user's hosts.toml so that it names
// certkit's files: ca and client at the top (the root fields, which apply
// to the server entry containerd appends last), and in each [host] entry
// for the registry. Each line keeps what the entry names already, so that it can
// replace the entry's own line.
func tomlLines(h *HostsTOML, fr *FolderResult, path string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "set these lines in %s, each in place of the entry's own ca or client line if it has one; ", path)
	// The root entry is last in Hosts; its lines go first, at the top.
	entries := append([]TOMLHost{h.Hosts[len(h.Hosts)-1]}, h.Hosts[:len(h.Hosts)-1]...)
	first := true
	for _, e := range entries {
		if !e.Root && !sameRegistry(e.URL, fr.Registry) {
			continue
		}
		lines := fr.entryLines(e)
		if len(lines) == 0 {
			continue
		}
		where := "at the top, before the first [table]:"
		if !e.Root {
			where = "under [host." + strconv.Quote(e.URL) + "]:"
		}
		if !first {
			b.WriteString("\nand ")
		}
		first = false
		b.WriteString(where)
		for _, l := range lines {
			b.WriteString("\n  " + l)
		}
	}
	return b.String()
}

// entryLines are the ca and client lines a hosts.toml entry needs to name
// certkit's files too, with what it names already; none when it names
// them all.
func (fr *FolderResult) entryLines(e TOMLHost) []string {
	rel := func(p string) string {
		for _, d := range fr.dirs() {
			if filepath.Dir(p) == d {
				return filepath.Base(p)
			}
		}
		return p
	}
	// What an entry names of certkit's files in the wrong place (a key or
	// client certificate as a CA, a pair swapped or split) is dropped from
	// its line, and certkit's files are named where they belong.
	pairFile := func(p string) bool {
		for _, n := range fr.pairs {
			if fr.named([]string{p}, n+CertExt) || fr.named([]string{p}, n+KeyExt) {
				return true
			}
		}
		return false
	}
	var out []string
	cas, dropped := []string{}, false
	for _, c := range e.CA {
		if pairFile(c) {
			dropped = true
			continue
		}
		cas = append(cas, strconv.Quote(rel(c)))
	}
	if dropped || !fr.named(e.CA, CAFileName) {
		if !fr.named(e.CA, CAFileName) {
			cas = append(cas, strconv.Quote(CAFileName))
		}
		if len(cas) == 1 {
			out = append(out, "ca = "+cas[0])
		} else {
			out = append(out, "ca = ["+strings.Join(cas, ", ")+"]")
		}
	}
	var pairs, add []string
	right := func(p [2]string) bool {
		for _, n := range fr.pairs {
			if fr.named(p[:1], n+CertExt) && fr.named(p[1:], n+KeyExt) {
				return true
			}
		}
		return false
	}
	dropped = false
	for _, p := range e.Client {
		switch {
		case right(p):
		case pairFile(p[0]) || p[1] != "" && pairFile(p[1]):
			dropped = true
			continue
		case p[1] == "":
			pairs = append(pairs, strconv.Quote(rel(p[0])))
			continue
		}
		pairs = append(pairs, fmt.Sprintf("[%s, %s]", strconv.Quote(rel(p[0])), strconv.Quote(rel(p[1]))))
	}
	for _, n := range fr.pairs {
		found := false
		for _, p := range e.Client {
			found = found || fr.named(p[:1], n+CertExt) && fr.named(p[1:], n+KeyExt)
		}
		if !found {
			add = append(add, fmt.Sprintf("[%s, %s]", strconv.Quote(n+CertExt), strconv.Quote(n+KeyExt)))
		}
	}
	if len(add) > 0 || dropped {
		out = append(out, "client = ["+strings.Join(append(pairs, add...), ", ")+"]")
	}
	return out
}

// renderedByCertkit reports whether data, the hosts.toml of a registry
// folder dir (parsed as h), is byte for byte one certkit install writes
// for registry, naming files of the folder: certkit's, even when the
// manifest that would say so cannot be read. A hosts.toml the user wrote,
// or edited, or one certkit template containerd made (absolute paths,
// its own header), is not.
func renderedByCertkit(data []byte, registry string, h *HostsTOML, dir string) bool {
	if h == nil || h.Err != nil || len(h.Hosts) == 0 {
		return false
	}
	e := h.Hosts[0]
	var cas, pairs []string
	for _, c := range e.CA {
		if filepath.Dir(c) != filepath.Clean(dir) {
			return false
		}
		cas = append(cas, filepath.Base(c))
	}
	for _, p := range e.Client {
		stem, ok := strings.CutSuffix(p[0], CertExt)
		if !ok || filepath.Dir(p[0]) != filepath.Clean(dir) || p[1] != stem+KeyExt {
			return false
		}
		pairs = append(pairs, filepath.Base(stem))
	}
	return bytes.Equal(data, renderHostsTOML(registry, cas, pairs))
}

// sameRegistry reports whether a [host] URL of a hosts.toml is the
// registry itself (not a mirror).
func sameRegistry(url, registry string) bool {
	return url != "" && strings.EqualFold(serverHost(url), registry)
}
