package templates

import (
	"os"
	"strings"
	"testing"

	"github.com/certkit/certkit/ca"
	"github.com/certkit/certkit/host"
	"github.com/certkit/certkit/internal/errs"
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

// TestSignerRefusesPerRegistryHome: multirootca signs with one CA, the
// root, and every registry of a per-registry home trusts only its own
// issuing CA: the signer's configuration is refused, with the way out.
func TestSignerRefusesPerRegistryHome(t *testing.T) {
	h := t.TempDir()
	if _, err := ca.Create(ca.Options{Home: h, Machine: "test", PerRegistry: true}); err != nil {
		t.Fatal(err)
	}
	signer, _ := host.Parse("ca.internal:8888")
	_, err := RenderSigner(SignerOptions{Home: h, Signer: signer, Dir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "its own issuing CA") || !strings.Contains(errs.HintOf(err), "--per-registry=false") {
		t.Fatalf("RenderSigner in a per-registry home: %v (hint %q), want it refused with the way out", err, errs.HintOf(err))
	}
}
