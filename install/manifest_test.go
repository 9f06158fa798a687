package install

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReadManifestLarge: a folder of ten thousand pairs has a manifest of
// about 2.5 MiB; certkit must still read its own record (a 1 MiB limit
// locked it out of the folder at about 4,200 pairs).
func TestReadManifestLarge(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "reg.example.com:5000")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	m := &Manifest{Version: manifestVersion, Registry: "reg.example.com:5000"}
	for i := range 10000 {
		for _, ext := range []string{CertExt, KeyExt} {
			m.Files = append(m.Files, ManifestEntry{Name: fmt.Sprintf("client-%05d%s", i, ext), SHA256: strings.Repeat("ab", 32)})
		}
	}
	data := m.encode()
	if len(data) <= maxFileSize {
		t.Fatalf("the manifest is only %d bytes", len(data))
	}
	if err := os.WriteFile(filepath.Join(dir, ManifestFile), data, 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := readManifest(dir, "reg.example.com:5000")
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Files) != len(m.Files) {
		t.Errorf("read %d entries, want %d", len(got.Files), len(m.Files))
	}
	// The same manifest in another registry's folder is not that one's.
	if _, err := readManifest(dir, "other.example.com"); err == nil || !strings.Contains(err.Error(), "another registry's") {
		t.Errorf("read as other.example.com's: %v", err)
	}
}
