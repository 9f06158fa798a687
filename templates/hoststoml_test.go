package templates

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/certkit/certkit/host"
	"github.com/certkit/certkit/install"
)

// body is a hosts.toml without its comment lines, and without the blank
// lines before the first key.
func body(b []byte) string {
	var out []string
	for _, l := range strings.SplitAfter(string(b), "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "#") || len(out) == 0 && strings.TrimSpace(l) == "" {
			continue
		}
		out = append(out, l)
	}
	return strings.Join(out, "")
}

// The containerd template and certkit install --target containerd write
// hosts.toml through one renderer: on the same material (the CA and the
// issued pairs) the template's body is install's file, key for key and
// in the same order, with absolute paths where install's are relative to
// the folder.
func TestContainerdTemplateMatchesInstall(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		registry string
		clients  []string
	}{
		{"reg.example.com:5000", []string{"alice", "bob"}},
		{"[fd00::1]:5000", []string{"ci"}},
		{"10.0.0.5", []string{"client"}},
	} {
		t.Run(tt.registry, func(t *testing.T) {
			t.Parallel()
			m := newMaterial(t, tt.registry, tt.clients...)
			certs := filepath.Join(t.TempDir(), "containerd", "certs.d")
			root, err := install.CustomRoot(install.Containerd, certs)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := install.Install(install.Options{Home: m.home, Registries: []host.Registry{m.reg}, Roots: []install.Root{root}}); err != nil {
				t.Fatal(err)
			}
			folder := root.Folder(m.reg)
			installed, err := os.ReadFile(filepath.Join(folder, install.HostsFile))
			if err != nil {
				t.Fatal(err)
			}
			rendered := mustRender(t, Containerd, Options{Home: m.home, Registry: m.reg, CertsDir: certs})
			got := strings.ReplaceAll(body(rendered), folder+string(filepath.Separator), "")
			if want := body(installed); got != want {
				t.Errorf("the template's hosts.toml, paths made relative to %s:\n%s\ncertkit install's:\n%s", folder, got, want)
			}

			// and that body is install's renderer with the absolute paths
			var pairs [][2]string
			for _, c := range tt.clients {
				pairs = append(pairs, [2]string{filepath.Join(folder, c+install.CertExt), filepath.Join(folder, c+install.KeyExt)})
			}
			abs := install.RenderHostsTOML(m.reg.String(), []string{filepath.Join(folder, install.CAFileName)}, pairs)
			if body(rendered) != string(abs) {
				t.Errorf("the template's body:\n%s\ninstall.RenderHostsTOML:\n%s", body(rendered), abs)
			}
		})
	}
}
