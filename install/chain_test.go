package install

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"testing"
	"time"
)

// TestChainVerifierAgreesWithVerify: the verifier, which checks each
// issuing CA's own chain once, answers as x509.Certificate.Verify does
// for every leaf, whether the issuing CA's answer came from its cache or
// not.
func TestChainVerifierAgreesWithVerify(t *testing.T) {
	now := time.Now()
	type node struct {
		cert *x509.Certificate
		key  *ecdsa.PrivateKey
	}
	serial := int64(0)
	mk := func(parent *node, cn string, ca bool, mod func(*x509.Certificate)) *node {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		serial++
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), BasicConstraintsValid: true, IsCA: ca}
		if ca {
			tmpl.KeyUsage = x509.KeyUsageCertSign
		} else {
			tmpl.KeyUsage = x509.KeyUsageDigitalSignature
			tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
		}
		if mod != nil {
			mod(tmpl)
		}
		signer, signKey := tmpl, key
		if parent != nil {
			signer, signKey = parent.cert, parent.key
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, signer, &key.PublicKey, signKey)
		if err != nil {
			t.Fatal(err)
		}
		c, _ := x509.ParseCertificate(der)
		return &node{c, key}
	}
	root := mk(nil, "root", true, nil)
	other := mk(nil, "other root", true, nil)
	issuing := mk(root, "issuing", true, nil)
	foreign := mk(other, "issuing", true, nil) // same name, another root
	expired := mk(root, "expired issuing", true, func(c *x509.Certificate) { c.NotAfter = now.Add(-time.Minute) })
	codesign := mk(root, "code signing issuing", true, func(c *x509.Certificate) { c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning} })
	roots := x509.NewCertPool()
	roots.AddCert(root.cert)

	type tc struct {
		name  string
		leaf  *x509.Certificate
		chain []*x509.Certificate
	}
	cases := []tc{
		{"through the issuing CA", mk(issuing, "a", false, nil).cert, []*x509.Certificate{issuing.cert}},
		{"through it again (cached)", mk(issuing, "b", false, nil).cert, []*x509.Certificate{issuing.cert}},
		{"directly under the root", mk(root, "c", false, nil).cert, nil},
		{"an issuing CA of another root", mk(foreign, "d", false, nil).cert, []*x509.Certificate{foreign.cert}},
		{"the other root's leaf with our issuing CA beside it", mk(foreign, "e", false, nil).cert, []*x509.Certificate{issuing.cert}},
		{"an expired issuing CA", mk(expired, "f", false, nil).cert, []*x509.Certificate{expired.cert}},
		{"again (cached)", mk(expired, "g", false, nil).cert, []*x509.Certificate{expired.cert}},
		{"an issuing CA for code signing", mk(codesign, "h", false, nil).cert, []*x509.Certificate{codesign.cert}},
		{"a server leaf", mk(issuing, "i", false, func(c *x509.Certificate) { c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth} }).cert, []*x509.Certificate{issuing.cert}},
		{"an expired leaf", mk(issuing, "j", false, func(c *x509.Certificate) { c.NotAfter = now.Add(-time.Minute) }).cert, []*x509.Certificate{issuing.cert}},
		{"a leaf with a name", mk(issuing, "k", false, func(c *x509.Certificate) { c.DNSNames = []string{"k.example"} }).cert, []*x509.Certificate{issuing.cert}},
	}
	v := newChainVerifier(roots, now, x509.ExtKeyUsageClientAuth)
	for _, c := range cases {
		inter := x509.NewCertPool()
		for _, x := range c.chain {
			inter.AddCert(x)
		}
		_, want := c.leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
		got := v.verify(c.leaf, c.chain, now)
		if (got == nil) != (want == nil) {
			t.Errorf("%s: verifier says %v, Verify says %v", c.name, got, want)
		}
	}
	if len(v.done) != 4 {
		t.Errorf("the verifier checked %d issuing CAs' chains, want 4 (each once)", len(v.done))
	}
}
