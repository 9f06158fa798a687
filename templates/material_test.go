package templates

import (
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
	"github.com/certkit/certkit/host"
	"github.com/certkit/certkit/internal/home"
)

// material is what the tests issue into a certkit home: a CA, a server
// certificate for one registry and client pairs, laid out as `certkit issue`
// lays them out.
type material struct {
	home string
	reg  host.Registry
	ca   *ca.CA
}

func newMaterial(t *testing.T, registry string, clients ...string) *material {
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
	m := &material{home: h, reg: reg, ca: res.CA}
	dir := home.HostDir(h, reg.String())
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	dns, ips := reg.ServerSANs()
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: reg.Hostname()},
		DNSNames:    dns,
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, ip := range ips {
		tmpl.IPAddresses = append(tmpl.IPAddresses, net.IP(ip.AsSlice()))
	}
	certPEM, keyPEM := m.sign(t, tmpl)
	write(t, filepath.Join(dir, home.ServerCert), certPEM, 0o644)
	write(t, filepath.Join(dir, home.ServerKey), keyPEM, 0o600)
	write(t, filepath.Join(dir, home.ServerChain), append(append([]byte{}, certPEM...), res.CA.CertPEM...), 0o644)
	for _, name := range clients {
		certPEM, keyPEM := m.sign(t, &x509.Certificate{
			Subject:     pkix.Name{CommonName: name},
			KeyUsage:    x509.KeyUsageDigitalSignature,
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		})
		write(t, filepath.Join(dir, name+home.CertExt), certPEM, 0o644)
		write(t, filepath.Join(dir, name+home.KeyExt), keyPEM, 0o600)
	}
	return m
}

// sign completes tmpl and signs it with the CA; it returns the PEM
// certificate and a fresh P-256 key.
func (m *material) sign(t *testing.T, tmpl *x509.Certificate) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		t.Fatal(err)
	}
	tmpl.SerialNumber = serial
	tmpl.NotBefore = time.Now().Add(-time.Hour)
	tmpl.NotAfter = time.Now().Add(24 * time.Hour)
	tmpl.BasicConstraintsValid = true
	der, err := x509.CreateCertificate(rand.Reader, tmpl, m.ca.Cert, key.Public(), m.ca.Key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM, err = ca.MarshalKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return ca.EncodeCert(c), keyPEM
}

func (m *material) dir() string { return home.HostDir(m.home, m.reg.String()) }

func write(t *testing.T, path string, data []byte, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, data, mode); err != nil {
		t.Fatal(err)
	}
}
