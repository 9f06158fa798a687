package install

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sort"

	"github.com/certkit/certkit/internal/safefs"
	"github.com/certkit/certkit/internal/shellquote"
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

// maxManifestSize bounds a manifest: one entry is about 150 bytes, so a
// folder of a hundred thousand pairs still fits.
const maxManifestSize = 32 << 20

// readManifest reads the manifest of the registry folder dir. With reg
// set, a manifest written for another registry is an error: the folder is
// another registry's (reached through a link, or copied), and certkit
// must not change it as this one's.
func readManifest(dir, reg string) (*Manifest, error) {
	data, err := safefs.ReadFile(filepath.Join(dir, ManifestFile), maxManifestSize)
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
	if reg != "" && m.Registry != reg {
		return nil, fmt.Errorf("it is the manifest of registry %s, not %s: this folder is another registry's (reached through a link, or copied)", shellquote.Quote(m.Registry), reg)
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
