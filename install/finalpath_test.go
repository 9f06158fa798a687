//go:build unix

package install

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/certkit/certkit/host"
	"github.com/certkit/certkit/internal/testenv"
)

// TestReadFolderAs: a folder read at one path (a new folder, written
// beside the one it replaces) as the folder it becomes (As): a hosts.toml
// path under the final folder, relative or absolute, or through a link
// to it, is read in the folder read, and every problem names final
// paths, never the one read.
func TestReadFolderAs(t *testing.T) {
	p := newPKI(t)
	certPEM, keyPEM := p.client(t, "client", nil)
	base := t.TempDir()
	final := filepath.Join(base, "certs.d", "reg.example.com:5000")
	read := filepath.Join(base, "certs.d", ".new")
	link := filepath.Join(base, "link")
	for _, d := range []string{final, read} {
		os.MkdirAll(d, 0o755)
	}
	if err := os.Symlink(final, link); err != nil {
		t.Fatal(err)
	}
	// The final folder holds only gone.crt and the pair; the folder read
	// has ca.crt and the pair, not gone.crt.
	testenv.WriteFile(t, filepath.Join(final, "gone.crt"), p.ca.CertPEM, 0o644)
	for _, d := range []string{final, read} {
		testenv.WriteFile(t, filepath.Join(d, "client.cert"), certPEM, 0o644)
		testenv.WriteFile(t, filepath.Join(d, "client.key"), keyPEM, 0o600)
	}
	testenv.WriteFile(t, filepath.Join(read, "ca.crt"), p.ca.CertPEM, 0o644)
	for _, tt := range []struct{ name, dir string }{{"relative", ""}, {"absolute", final}, {"through a link", link}} {
		t.Run(tt.name, func(t *testing.T) {
			f := func(n string) string {
				if tt.dir == "" {
					return n
				}
				return filepath.Join(tt.dir, n)
			}
			toml := `server = "https://reg.example.com:5000"
ca = ["` + f("ca.crt") + `", "` + f("gone.crt") + `"]
client = [["` + f("client.cert") + `", "` + f("client.key") + `"]]
`
			testenv.WriteFile(t, filepath.Join(read, HostsFile), []byte(toml), 0o644)
			got, err := ReadFolderWith(read, ReadOptions{As: final})
			if err != nil {
				t.Fatal(err)
			}
			if got.Dir != final || got.HostsTOML.Path != filepath.Join(final, HostsFile) || got.CAs[0].Path != filepath.Join(final, "ca.crt") {
				t.Errorf("paths %s, %s, %s: want them in %s", got.Dir, got.HostsTOML.Path, got.CAs[0].Path, final)
			}
			var missing []Problem
			for _, pr := range got.Problems {
				if pr.Severity == SeverityError {
					missing = append(missing, pr)
				}
				for _, s := range []string{pr.Message, pr.Fix, pr.Path, pr.ContainerdError} {
					if strings.Contains(s, read) {
						t.Errorf("%s problem names the folder read: %q", pr.Kind, s)
					}
				}
			}
			gone := f("gone.crt")
			if tt.dir == "" {
				gone = filepath.Join(final, gone)
			}
			if len(missing) != 1 || missing[0].Kind != KindHostsTOMLUnreadableFile || missing[0].Path != gone {
				t.Errorf("errors %+v, want one: gone.crt, which the folder read lacks", missing)
			}
		})
	}
	// Without As, the folder read is itself.
	got, err := ReadFolderWith(read, ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Dir != read {
		t.Errorf("Dir %s, want %s", got.Dir, read)
	}
}

// TestRunKeepsHostsTOMLWorking: a hosts.toml of the user's that names a
// file the run would take away (certkit's ca.crt, for uninstall; an old
// pair no longer in the home, for install --force), by a relative or an
// absolute path, stops the run: containerd could not load the folder
// after it. Nothing is changed.
func TestRunKeepsHostsTOMLWorking(t *testing.T) {
	p := newPKI(t)
	r := mustParse(t, "reg.example.com:5000")
	p.issueClient(t, r.String(), "client")
	for _, run := range []string{"uninstall", "install --force"} {
		for _, abs := range []bool{false, true} {
			t.Run(run+map[bool]string{false: ", relative", true: ", absolute"}[abs], func(t *testing.T) {
				base := t.TempDir()
				roots := []Root{customRoot(t, Docker, filepath.Join(base, "certs.d"))}
				dir := filepath.Join(roots[0].Dir, r.String())
				hd := filepath.Join(p.home, "hosts", r.String())
				named := "ca.crt"
				if run != "uninstall" {
					named = "old.cert"
					c, k := p.client(t, "old", nil)
					testenv.WriteFile(t, filepath.Join(hd, "old.cert"), c, 0o644)
					testenv.WriteFile(t, filepath.Join(hd, "old.key"), k, 0o600)
					t.Cleanup(func() {
						os.Remove(filepath.Join(hd, "old.cert"))
						os.Remove(filepath.Join(hd, "old.key"))
					})
				}
				if _, err := Install(Options{Home: p.home, Roots: roots}); err != nil {
					t.Fatal(err)
				}
				f := func(n string) string {
					if abs {
						return filepath.Join(dir, n)
					}
					return n
				}
				testenv.WriteFile(t, filepath.Join(dir, HostsFile), []byte(`server = "https://`+r.String()+`"
ca = "`+f("ca.crt")+`"
client = [["`+f("client.cert")+`", "`+f("client.key")+`"], ["`+f("old.cert")+`", "`+f("old.key")+`"]]
`), 0o644)
				if run == "uninstall" {
					// the pair the hosts.toml names, the user's own
					c, k := p.client(t, "old", nil)
					testenv.WriteFile(t, filepath.Join(dir, "old.cert"), c, 0o644)
					testenv.WriteFile(t, filepath.Join(dir, "old.key"), k, 0o600)
				} else {
					os.Remove(filepath.Join(hd, "old.cert"))
					os.Remove(filepath.Join(hd, "old.key"))
				}
				before := tree(t, base)
				var err error
				if run == "uninstall" {
					_, err = Uninstall(UninstallOptions{Registries: []host.Registry{r}, Roots: roots})
				} else {
					_, err = Install(Options{Home: p.home, Roots: roots, Force: true})
				}
				var be *BrokenFolderError
				if !errors.As(err, &be) {
					t.Fatalf("got %v, want a BrokenFolderError", err)
				}
				found := false
				for _, pr := range be.Problems {
					found = found || pr.File == HostsFile && pr.Path == filepath.Join(dir, named) && strings.Contains(pr.Message, filepath.Join(dir, named))
					if strings.Contains(pr.Message+pr.Fix, tmpPrefix) {
						t.Errorf("a problem names the temporary folder: %+v", pr)
					}
				}
				if !found {
					t.Errorf("problems %+v, want hosts.toml naming %s", be.Problems, filepath.Join(dir, named))
				}
				sameTree(t, "the certs root", before, tree(t, base))
			})
		}
	}
}
