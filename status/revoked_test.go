package status

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/certkit/certkit/ca"
	"github.com/certkit/certkit/host"
	"github.com/certkit/certkit/install"
	"github.com/certkit/certkit/issue"
)

// TestRevoked: a pair revoked from the home but still in a certs root
// reads as revoked there; the record is listed; the CRL is ok, then due,
// then expired as its nextUpdate nears and passes.
func TestRevoked(t *testing.T) {
	h := t.TempDir()
	if _, err := ca.Create(ca.Options{Home: h, Machine: "t", Now: at(t0)}); err != nil {
		t.Fatal(err)
	}
	reg, _ := host.Parse("reg.example.com:5000")
	root := issueInstalled(t, h, reg, "alice", "bob")
	rev, err := issue.Revoke(issue.RevokeOptions{Home: h, Registry: reg, Name: "alice", Reason: ca.KeyCompromise, Now: at(t0.Add(time.Hour))})
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name  string
		after time.Duration
		crl   State
		need  int // attention: the revoked copy, plus a CRL that is due
	}{
		{"fresh", 24 * time.Hour, OK, 1},
		{"due", 25 * 24 * time.Hour, Renew, 2},
		{"expired", 31 * 24 * time.Hour, Expired, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := Read(Options{Home: h, Roots: []install.Root{root}, Now: at(t0.Add(tc.after))})
			if err != nil {
				t.Fatal(err)
			}
			states := map[string]State{}
			for _, c := range rep.Certs {
				if c.Location == InCertsD {
					states[c.Name] = c.State
				}
			}
			if states["alice"] != Revoked || states["bob"] != OK {
				t.Errorf("certs.d states %v, want alice revoked and bob ok", states)
			}
			if len(rep.Revoked) != 1 || rep.Revoked[0].Name != "alice" || rep.Revoked[0].Serial != rev.Serial || !rep.Revoked[0].Listed ||
				!rep.Revoked[0].RevokedAt.Equal(rev.RevokedAt) {
				t.Errorf("revoked %+v, want alice %s listed", rep.Revoked, rev.Serial)
			}
			if len(rep.CRLs) != 1 || rep.CRLs[0].State != tc.crl || rep.CRLs[0].Revoked != 1 || rep.CRLs[0].Number != "2" {
				t.Errorf("CRLs %+v, want one in state %s", rep.CRLs, tc.crl)
			}
			if n := rep.Attention(); n != tc.need {
				t.Errorf("Attention() = %d, want %d", n, tc.need)
			}
		})
	}

	// A CRL that does not parse is a problem of the report.
	if err := os.WriteFile(filepath.Join(h, "ca", ca.CRLFile), []byte("not a CRL"), 0o644); err != nil {
		t.Fatal(err)
	}
	rep, err := Read(Options{Home: h, Now: at(t0)})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Problems) != 1 || !strings.Contains(rep.Problems[0], ca.CRLFile) || rep.Attention() == 0 {
		t.Errorf("problems %v", rep.Problems)
	}
}

// issueInstalled issues the client pairs names for reg in the home h at
// t0 and installs them into a new Docker certs root, which it returns.
func issueInstalled(t *testing.T, h string, reg host.Registry, names ...string) install.Root {
	t.Helper()
	if _, err := issue.Issue(issue.Options{Home: h, Registry: reg, Kind: issue.Client, Names: names, Now: at(t0)}); err != nil {
		t.Fatal(err)
	}
	root, err := install.CustomRoot(install.Docker, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := install.Install(install.Options{Home: h, Registries: []host.Registry{reg}, Roots: []install.Root{root}, Now: at(t0)}); err != nil {
		t.Fatal(err)
	}
	return root
}
