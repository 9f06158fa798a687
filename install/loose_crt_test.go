//go:build unix

package install

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/certkit/certkit/internal/testenv"
)

// TestInstallContainerdBesideDERFile: a .crt that is not PEM breaks
// containerd only while it reads the loose files; the hosts.toml certkit
// writes ends that, so install goes through (dry run and run alike), with
// the not-PEM warning and no advice to name the file in hosts.toml, and
// containerd reaches the registry.
func TestInstallContainerdBesideDERFile(t *testing.T) {
	p := newPKI(t)
	other := newPKI(t)
	reg := startRegistry(t, p)
	name := reg.Name.String()
	p.issueClient(t, name, "client")
	root := filepath.Join(t.TempDir(), "certs.d")
	dir := filepath.Join(root, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	testenv.WriteFile(t, filepath.Join(dir, "corp.crt"), other.ca.Cert.Raw, 0o644)
	roots := []Root{customRoot(t, Containerd, root)}
	for _, dry := range []bool{true, false} {
		res, err := Install(Options{Home: p.home, Roots: roots, DryRun: dry})
		if err != nil {
			t.Fatalf("dry run %v: %v", dry, err)
		}
		ps := res.Folders[0].Problems
		if w := problemsOf(ps, KindNotPEM); len(w) != 1 || w[0].File != "corp.crt" || w[0].Severity != SeverityWarning {
			t.Errorf("dry run %v: problems %v, want a not-pem warning on corp.crt", dry, ps)
		}
		if w := problemsOf(ps, KindHiddenByHostsTOML); len(w) != 0 {
			t.Errorf("dry run %v: %v says to name a file that is not PEM in hosts.toml", dry, w)
		}
	}
	if err := reg.viaContainerd(root); err != nil {
		t.Fatal(err)
	}
	if res, err := Install(Options{Home: p.home, Roots: roots}); err != nil || res.Changed() {
		t.Errorf("second run: changed %v, %v", res != nil && res.Changed(), err)
	}
}
