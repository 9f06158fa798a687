package install

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/certkit/certkit/internal/testenv"
)

// TestStrayKeyByRoot: a key without its certificate is an error in every
// root: Docker and podman fail every pull on it; in containerd's layout, a
// root only containerd reads, containerd ignores it, which the message
// says, but a private key still does not belong there (it may be the
// registry's server key under another name). No hosts.toml entry can
// name it, so it is not also called hidden from containerd.
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
		{"client key, containerd's layout", "lost.key", keyPEM, true, SeverityError, KindStrayKey},
		{"CA key, containerd's layout", "ca.key", caKey, true, SeverityError, KindCAKey},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "reg.example.com:5000")
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			testenv.WriteFile(t, filepath.Join(dir, "ca.crt"), p.ca.CertPEM, 0o644)
			testenv.WriteFile(t, filepath.Join(dir, tt.file), tt.data, 0o600)
			if tt.hostsTOML {
				testenv.WriteFile(t, filepath.Join(dir, HostsFile), renderHostsTOML("reg.example.com:5000", []string{"ca.crt"}, nil), 0o644)
			}
			f, err := ReadFolderWith(dir, ReadOptions{Name: "reg.example.com:5000", HostsTOML: tt.hostsTOML})
			if err != nil {
				t.Fatal(err)
			}
			for _, pr := range f.Problems {
				if pr.Kind == KindHiddenByHostsTOML {
					t.Errorf("a key without its certificate called hidden from containerd: %s", pr.Message)
				}
			}
			for _, pr := range f.Problems {
				if pr.File == tt.file {
					if tt.hostsTOML && strings.Contains(pr.Message, "Docker and podman fail every pull and login") {
						t.Errorf("%s: containerd's root, yet the message blames Docker and podman: %s", tt.file, pr.Message)
					}
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
