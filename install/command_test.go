//go:build unix

package install

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/certkit/certkit/host"
	"github.com/certkit/certkit/internal/errs"
	"github.com/certkit/certkit/internal/testenv"
)

// TestUninstallHintsSayUninstall: every refusal of uninstall tells the user
// to run uninstall again, never install, in a dry run or not: a file where
// the registry folder belongs, a folder inside it, a hosts.toml that names
// certkit's files.
func TestUninstallHintsSayUninstall(t *testing.T) {
	p := newPKI(t)
	r := mustParse(t, "reg.example.com:5000")
	p.issueClient(t, r.String(), "client")
	tests := []struct {
		name  string
		setup func(t *testing.T, dir string)
		dry   bool // refused in a dry run too
	}{
		{"a file where the folder belongs", func(t *testing.T, dir string) {
			os.RemoveAll(dir)
			testenv.WriteFile(t, dir, []byte("notes"), 0o644)
		}, true},
		{"a folder in the folder", func(t *testing.T, dir string) {
			os.Mkdir(filepath.Join(dir, "old"), 0o755)
		}, true},
		{"a hosts.toml naming certkit's CA", func(t *testing.T, dir string) {
			testenv.WriteFile(t, filepath.Join(dir, HostsFile), []byte("server = \"https://"+r.String()+"\"\nca = \"ca.crt\"\n"), 0o644)
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			roots := []Root{customRoot(t, Docker, filepath.Join(t.TempDir(), "certs.d"))}
			if _, err := Install(Options{Home: p.home, Roots: roots}); err != nil {
				t.Fatal(err)
			}
			tt.setup(t, filepath.Join(roots[0].Dir, r.String()))
			for _, dry := range []bool{true, false} {
				_, err := Uninstall(UninstallOptions{Registries: []host.Registry{r}, Roots: roots, DryRun: dry})
				if dry && !tt.dry {
					continue
				}
				if err == nil {
					t.Fatalf("dry run %v: uninstall succeeded", dry)
				}
				if h := errs.HintOf(err); !strings.Contains(h, "run uninstall again") {
					t.Errorf("dry run %v: %v: hint %q, want it to say run uninstall again", dry, err, h)
				}
			}
		})
	}
}
