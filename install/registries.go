package install

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/certkit/certkit/host"
)

// Folder is the registry's folder under this certs root: <root>/<host[:port]>.
func (r Root) Folder(reg host.Registry) string {
	return filepath.Join(r.Dir, reg.String())
}

// Registries lists the registry folders in a certs root, sorted: folders
// (or links to folders) whose name is a registry exactly as host.Parse
// writes it. Others (containerd's host_port_ and _default forms,
// certkit's .certkit-backup, stray names) are left out.
func Registries(root string) ([]host.Registry, error) {
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, err
	}
	var out []host.Registry
	for _, e := range entries {
		fi, err := os.Stat(filepath.Join(root, e.Name())) // follows links
		if err != nil || !fi.IsDir() {
			continue
		}
		r, err := host.Parse(e.Name())
		if err != nil || r.String() != e.Name() {
			continue
		}
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out, nil
}

// misspelledPort matches a folder name with '_' or '-' where the ':'
// before the port belongs: reg_5443, reg-5443.
var misspelledPort = regexp.MustCompile(`^(.+)[_-]([0-9]{1,5})$`)

// SuggestRegistry returns the registry a folder name that is not one was
// most likely meant to be: the name without spaces around it, in lower
// case, with ':' where '_' or '-' stands before the port. ok is false
// when the name is a registry already, or nothing close to one.
// containerd's own spelling, host_port_, is not a misspelling.
func SuggestRegistry(name string) (host.Registry, bool) {
	cand := strings.ToLower(strings.TrimSpace(name))
	if m := misspelledPort.FindStringSubmatch(cand); m != nil {
		cand = m[1] + ":" + m[2]
	}
	r, err := host.Parse(cand)
	if err != nil || r.String() == name {
		return host.Registry{}, false
	}
	return r, true
}

// StrayFolders lists the folders of a certs root that no runtime looks
// up as a registry and that are not containerd's (host_port_, _default)
// or certkit's own (a leading dot): a misspelled registry folder, as a
// rule. Sorted.
func StrayFolders(root string) ([]string, error) {
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		name := e.Name()
		fi, err := os.Stat(filepath.Join(root, name))
		if err != nil || !fi.IsDir() || strings.HasPrefix(name, ".") || name == "_default" || strings.HasSuffix(name, "_") {
			continue
		}
		if r, err := host.Parse(name); err == nil && r.String() == name {
			continue
		}
		out = append(out, name)
	}
	sort.Strings(out)
	return out, nil
}
