package install

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sort"
)

// ManifestFile is certkit's record of the files it installed in a registry
// folder. Docker and podman read only *.crt, *.cert and *.key, containerd
// only hosts.toml (or those), so the loaders never see it.
const ManifestFile = ".certkit-manifest.json"

const manifestVersion = 1

// Manifest lists what certkit installed in one registry folder, so that
// uninstall removes exactly those files and install can tell its own files
// from the user's.
type Manifest struct {
	Version  int             `json:"version"`
	Registry string          `json:"registry"`
	Files    []ManifestEntry `json:"files"`
}

// ManifestEntry is one installed file.
type ManifestEntry struct {
	Name   string `json:"name"`
	SHA256 string `json:"sha256"`
}

// Has reports whether certkit installed name, and with which content.
func (m *Manifest) Has(name string) (sum string, ok bool) {
	if m == nil {
		return "", false
	}
	for _, e := range m.Files {
		if e.Name == name {
			return e.SHA256, true
		}
	}
	return "", false
}

func readManifest(dir string) (*Manifest, error) {
	data, err := readFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		return nil, err
	}
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("not a certkit manifest: %v", err)
	}
	if m.Version != manifestVersion {
		return nil, fmt.Errorf("manifest version %d; this certkit knows version %d", m.Version, manifestVersion)
	}
	for _, e := range m.Files {
		if e.Name == "" || e.Name != filepath.Base(e.Name) || e.Name == "." || e.Name == ".." || e.Name == ManifestFile {
			return nil, fmt.Errorf("manifest names %q, which is not a file of this folder", e.Name)
		}
	}
	return &m, nil
}

func (m *Manifest) encode() []byte {
	sort.Slice(m.Files, func(i, j int) bool { return m.Files[i].Name < m.Files[j].Name })
	data, _ := json.MarshalIndent(m, "", "  ") // plain strings and ints: cannot fail
	return append(data, '\n')
}

func sum(data []byte) string {
	s := sha256.Sum256(data)
	return hex.EncodeToString(s[:])
}
