package templates

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/certkit/certkit/ca"
	"github.com/certkit/certkit/host"
	"github.com/certkit/certkit/internal/home"
	"github.com/certkit/certkit/issue"
)

// material is a certkit home with a CA, a server certificate for one
// registry and client pairs, made by packages ca and issue as `certkit
// init-ca` and `certkit issue` make them.
type material struct {
	home string
	reg  host.Registry
	ca   *ca.CA
}

func newMaterial(t testing.TB, registry string, clients ...string) *material {
	t.Helper()
	reg, err := host.Parse(registry)
	if err != nil {
		t.Fatal(err)
	}
	h := t.TempDir()
	res, err := ca.Create(ca.Options{Home: h, KeyType: ca.ECDSAP256, Machine: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := issue.Issue(issue.Options{Home: h, Registry: reg, Kind: issue.Server, CA: res.CA}); err != nil {
		t.Fatal(err)
	}
	if len(clients) > 0 {
		if _, err := issue.Issue(issue.Options{Home: h, Registry: reg, Kind: issue.Client, Names: clients, CA: res.CA}); err != nil {
			t.Fatal(err)
		}
	}
	return &material{home: h, reg: reg, ca: res.CA}
}

func (m *material) dir() string { return home.HostDir(m.home, m.reg.String()) }

func write(t *testing.T, path string, data []byte, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, data, mode); err != nil {
		t.Fatal(err)
	}
}

// TestSignerPerRegistryHome: in a per-registry home the CA's section
// names the closed policy (it serves info and signs nothing), and each
// registry with an issuing CA gets a section of its own, with that CA's
// key and certificate and the real policy.
func TestSignerPerRegistryHome(t *testing.T) {
	h := t.TempDir()
	res, err := ca.Create(ca.Options{Home: h, Machine: "test", PerRegistry: true})
	if err != nil {
		t.Fatal(err)
	}
	reg, _ := host.Parse("reg.example.com:5000")
	if _, err := issue.Issue(issue.Options{Home: h, Registry: reg, Kind: issue.Client, CA: res.CA}); err != nil {
		t.Fatal(err)
	}
	signer, _ := host.Parse("ca.internal:8888")
	dir := t.TempDir()
	cfg, err := RenderSigner(SignerOptions{Home: h, Signer: signer, Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	ini := string(cfg.INI)
	issuing := filepath.Join(h, "ca", "registries", "reg.example.com:5000")
	for _, want := range []string{
		"[certkit]\nprivate = file://" + filepath.Join(h, "ca", "ca.key") + "\ncertificate = " + filepath.Join(h, "ca", "ca.crt") + "\nconfig = " + filepath.Join(dir, SignerClosedPolicy) + "\n",
		"[" + ca.RegistryLabel("certkit", "reg.example.com:5000") + "]\nprivate = file://" + filepath.Join(issuing, "ca.key") + "\ncertificate = " + filepath.Join(issuing, "ca.crt") + "\nconfig = " + filepath.Join(dir, SignerPolicy) + "\n",
	} {
		if !strings.Contains(ini, want) {
			t.Errorf("the roots file lacks\n%s\n--- it is:\n%s", want, ini)
		}
	}
	if len(cfg.Registries) != 1 || cfg.Registries[0] != "reg.example.com:5000" {
		t.Errorf("Registries = %v", cfg.Registries)
	}
	if _, err := RenderSigner(SignerOptions{Home: h, Signer: signer, Dir: dir, Label: strings.Repeat("x", 56)}); err == nil {
		t.Error("a label with no room for the registry tags was taken")
	}
}
