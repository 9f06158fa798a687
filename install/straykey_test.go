package install

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/certkit/certkit/internal/testenv"
)

// TestStrayKeyByRoot: a key without its certificate makes Docker and
// podman fail every pull, an error; in containerd's layout, a root only
// containerd reads, it is ignored, a warning; but the CA's key stays an
// error in any root: whoever reads it can issue certificates.
func TestStrayKeyByRoot(t *testing.T) {
	p := newPKI(t)
	_, keyPEM := p.client(t, "client", nil)
	caKey, err := os.ReadFile(filepath.Join(p.home, "ca", "ca.key"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name      string
		file      string
		data      []byte
		hostsTOML bool
		sev       Severity
		kind      Kind
	}{
		{"client key, Docker's layout", "lost.key", keyPEM, false, SeverityError, KindStrayKey},
		{"client key, containerd's layout", "lost.key", keyPEM, true, SeverityWarning, KindStrayKey},
		{"CA key, containerd's layout", "ca.key", caKey, true, SeverityError, KindCAKey},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "reg.example.com:5000")
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			testenv.WriteFile(t, filepath.Join(dir, "ca.crt"), p.ca.CertPEM, 0o644)
			testenv.WriteFile(t, filepath.Join(dir, tt.file), tt.data, 0o600)
			f, err := ReadFolderWith(dir, ReadOptions{Name: "reg.example.com:5000", HostsTOML: tt.hostsTOML})
			if err != nil {
				t.Fatal(err)
			}
			for _, pr := range f.Problems {
				if pr.File == tt.file {
					if pr.Severity != tt.sev || pr.Kind != tt.kind {
						t.Errorf("%s: %s %s, want %s %s (%s)", tt.file, pr.Severity, pr.Kind, tt.sev, tt.kind, pr.Message)
					}
					return
				}
			}
			t.Errorf("no problem for %s: %v", tt.file, f.Problems)
		})
	}
}
