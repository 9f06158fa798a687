package install

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/certkit/certkit/internal/testenv"
)

// TestReadFolderHostsTOMLThroughLinkedRoot: a hosts.toml that names the
// folder's files through a link to the certs root names them: none is
// called hidden from containerd.
func TestReadFolderHostsTOMLThroughLinkedRoot(t *testing.T) {
	p := newPKI(t)
	certPEM, keyPEM := p.client(t, "client", nil)
	base := t.TempDir()
	root := filepath.Join(base, "certs.d")
	dir := filepath.Join(root, "reg.example.com:5000")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(base, "link")
	if err := os.Symlink(root, link); err != nil {
		t.Fatal(err)
	}
	via := filepath.Join(link, "reg.example.com:5000")
	testenv.WriteFile(t, filepath.Join(dir, "ca.crt"), p.ca.CertPEM, 0o644)
	testenv.WriteFile(t, filepath.Join(dir, "client.cert"), certPEM, 0o644)
	testenv.WriteFile(t, filepath.Join(dir, "client.key"), keyPEM, 0o600)
	testenv.WriteFile(t, filepath.Join(dir, HostsFile), RenderHostsTOML("reg.example.com:5000",
		[]string{filepath.Join(via, "ca.crt")}, [][2]string{{filepath.Join(via, "client.cert"), filepath.Join(via, "client.key")}}), 0o644)
	f, err := ReadFolder(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, pr := range f.Problems {
		t.Errorf("%s: %s %s", pr.File, pr.Kind, pr.Message)
	}
}
