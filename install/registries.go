package install

import (
	"os"
	"path/filepath"
	"sort"

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
