package status

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/certkit/certkit/ca"
	"github.com/certkit/certkit/host"
	"github.com/certkit/certkit/issue"
)

// TestParseCertFields: the fields status writes itself (the fingerprint,
// the issuer's name, kept by issuer) are what crypto/x509 and ca say, for
// leaves of two CAs.
func TestParseCertFields(t *testing.T) {
	reg, _ := host.Parse("reg.example.com:5000")
	for i := range 2 {
		h := t.TempDir()
		if _, err := ca.Create(ca.Options{Home: h, Machine: "t" + string(rune('a'+i)), Now: at(t0)}); err != nil {
			t.Fatal(err)
		}
		if _, err := issue.Issue(issue.Options{Home: h, Registry: reg, Kind: issue.Client, Names: []string{"a", "b"}, Now: at(t0)}); err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{filepath.Join(h, "ca", ca.CertFile), filepath.Join(h, "hosts", reg.String(), "a.cert"), filepath.Join(h, "hosts", reg.String(), "b.cert")} {
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			c, err := parseCert(data, p, Cert{})
			if err != nil {
				t.Fatal(err)
			}
			certs, err := ca.ParseCerts(data)
			if err != nil {
				t.Fatal(err)
			}
			x := certs[0]
			if c.SHA256 != ca.Fingerprint(x) || c.Issuer != x.Issuer.String() || c.Subject != x.Subject.String() {
				t.Errorf("%s: sha256 %s issuer %q subject %q; want %s %q %q", p, c.SHA256, c.Issuer, c.Subject, ca.Fingerprint(x), x.Issuer.String(), x.Subject.String())
			}
		}
	}
}
