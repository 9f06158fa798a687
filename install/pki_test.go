package install

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/certkit/certkit/ca"
	"github.com/certkit/certkit/internal/home"
	"github.com/certkit/certkit/internal/testenv"
)

// testPKI is a certkit home with a CA, and a way to issue server and client
// certificates from it without the issue package: what `certkit issue`
// leaves in the home, made with crypto/x509.
type testPKI struct {
	home string
	ca   *ca.CA
}

func newPKI(t testing.TB) *testPKI {
	t.Helper()
	h := t.TempDir()
	res, err := ca.Create(ca.Options{Home: h, Validity: 365 * 24 * time.Hour, Machine: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return &testPKI{home: h, ca: res.CA}
}

// leaf returns a certificate and its PEM key signed by the CA; edit changes
// the template before signing.
func (p *testPKI) leaf(t testing.TB, cn string, eku []x509.ExtKeyUsage, edit func(*x509.Certificate)) (certPEM, keyPEM []byte, key crypto.Signer) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial.Add(serial, big.NewInt(1)),
		Subject:               pkix.Name{CommonName: cn, Organization: []string{"certkit"}},
		NotBefore:             now.Add(-5 * time.Minute).Truncate(time.Second),
		NotAfter:              now.Add(90 * 24 * time.Hour).Truncate(time.Second),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           eku,
		BasicConstraintsValid: true,
	}
	if edit != nil {
		edit(tmpl)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.ca.Cert, k.Public(), p.ca.Key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM, err = ca.MarshalKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return ca.EncodeCert(c), keyPEM, k
}

// client issues a client certificate (clientAuth).
func (p *testPKI) client(t testing.TB, cn string, edit func(*x509.Certificate)) (certPEM, keyPEM []byte) {
	c, k, _ := p.leaf(t, cn, []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, edit)
	return c, k
}

// server issues a server certificate for the names (DNS names or IPs).
func (p *testPKI) server(t testing.TB, names ...string) (certPEM, keyPEM []byte) {
	c, k, _ := p.leaf(t, names[0], []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, func(c *x509.Certificate) {
		for _, n := range names {
			if ip := net.ParseIP(n); ip != nil {
				c.IPAddresses = append(c.IPAddresses, ip)
			} else {
				c.DNSNames = append(c.DNSNames, n)
			}
		}
	})
	return c, k
}

// issueClient puts a client pair into the home, as `certkit issue client`
// does: <home>/hosts/<registry>/NAME.cert and NAME.key.
func (p *testPKI) issueClient(t testing.TB, registry, name string) (certPEM, keyPEM []byte) {
	t.Helper()
	certPEM, keyPEM = p.client(t, name+"@"+registry, nil)
	dir := home.HostDir(p.home, registry)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	testenv.WriteFile(t, filepath.Join(dir, name+home.CertExt), certPEM, 0o644)
	testenv.WriteFile(t, filepath.Join(dir, name+home.KeyExt), keyPEM, 0o600)
	return certPEM, keyPEM
}

// issueServer puts server material into the home, as `certkit issue
// server` does.
func (p *testPKI) issueServer(t testing.TB, registry string, names ...string) {
	t.Helper()
	certPEM, keyPEM := p.server(t, names...)
	dir := home.HostDir(p.home, registry)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	testenv.WriteFile(t, filepath.Join(dir, home.ServerCert), certPEM, 0o644)
	testenv.WriteFile(t, filepath.Join(dir, home.ServerKey), keyPEM, 0o600)
	testenv.WriteFile(t, filepath.Join(dir, home.ServerChain), append(append([]byte{}, certPEM...), p.ca.CertPEM...), 0o644)
}
