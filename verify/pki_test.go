package verify

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"testing"
	"time"

	"github.com/certkit/certkit/ca"
)

// The test PKI: CAs made by ca.Create (what certkit users have) or, for
// chains with intermediates, by crypto/x509; leaves signed with
// crypto/x509.

type testCA struct {
	cert *x509.Certificate
	key  crypto.Signer
}

// newCA makes a certkit CA (ca.Create) with the given common name.
func newCA(t testing.TB, cn string) *testCA {
	t.Helper()
	res, err := ca.Create(ca.Options{Home: t.TempDir(), CN: cn})
	if err != nil {
		t.Fatal(err)
	}
	return &testCA{cert: res.CA.Cert, key: res.CA.Key}
}

// rawRoot makes a root that may sign one intermediate (certkit CAs have
// path length 0).
func rawRoot(t testing.TB, cn string) *testCA {
	t.Helper()
	key := newKey(t)
	tmpl := &x509.Certificate{
		SerialNumber: serial(t), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(5 * 365 * 24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, MaxPathLen: 1,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &testCA{cert: cert, key: key}
}

// intermediate makes a CA signed by c.
func (c *testCA) intermediate(t testing.TB, cn string) *testCA {
	t.Helper()
	key := newKey(t)
	tmpl := &x509.Certificate{
		SerialNumber: serial(t), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(5 * 365 * 24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, MaxPathLen: 0, MaxPathLenZero: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, c.cert, key.Public(), c.key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &testCA{cert: cert, key: key}
}

// leafOpts describes a leaf certificate; zero values give a valid
// client certificate for one day.
type leafOpts struct {
	cn        string
	dns       []string
	ips       []net.IP
	server    bool // serverAuth instead of clientAuth
	notBefore time.Time
	notAfter  time.Time
	chain     []*x509.Certificate // appended after the leaf, as in a chain file
}

// issue signs a leaf and returns it as tls.LoadX509KeyPair would.
func (c *testCA) issue(t testing.TB, o leafOpts) tls.Certificate {
	t.Helper()
	key := newKey(t)
	eku := x509.ExtKeyUsageClientAuth
	if o.server {
		eku = x509.ExtKeyUsageServerAuth
	}
	if o.notBefore.IsZero() {
		o.notBefore = time.Now().Add(-time.Hour)
	}
	if o.notAfter.IsZero() {
		o.notAfter = time.Now().Add(365 * 24 * time.Hour)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(t), Subject: pkix.Name{CommonName: o.cn},
		DNSNames: o.dns, IPAddresses: o.ips,
		NotBefore: o.notBefore, NotAfter: o.notAfter,
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{eku},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, c.cert, key.Public(), c.key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	tc := tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
	for _, x := range o.chain {
		tc.Certificate = append(tc.Certificate, x.Raw)
	}
	return tc
}

// server issues a server certificate for names (DNS names or IPs).
func (c *testCA) server(t testing.TB, names ...string) tls.Certificate {
	t.Helper()
	o := leafOpts{cn: names[0], server: true}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			o.ips = append(o.ips, ip)
		} else {
			o.dns = append(o.dns, n)
		}
	}
	return c.issue(t, o)
}

func (c *testCA) pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(c.cert)
	return p
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func serial(t testing.TB) *big.Int {
	t.Helper()
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		t.Fatal(err)
	}
	return n
}
