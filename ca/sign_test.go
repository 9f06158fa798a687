package ca

import (
	"crypto/x509"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/cloudflare/cfssl/config"
	"github.com/cloudflare/cfssl/csr"

	"github.com/certkit/certkit/internal/certtest"
)

func leafPolicy() *config.Signing {
	return &config.Signing{
		Default: &config.SigningProfile{Expiry: time.Hour},
		Profiles: map[string]*config.SigningProfile{
			"server": {
				Usage: []string{"digital signature", "server auth"}, Expiry: time.Hour,
				CSRWhitelist: &config.CSRWhitelist{Subject: true, PublicKeyAlgorithm: true, PublicKey: true, SignatureAlgorithm: true},
			},
			"sub-ca": {
				Usage: []string{"cert sign"}, Expiry: time.Hour,
				CAConstraint: config.CAConstraint{IsCA: true},
			},
		},
	}
}

func testCSR(t *testing.T, req *csr.CertificateRequest) []byte {
	t.Helper()
	key, err := GenerateKey(ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	p, err := csr.Generate(key, req)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestSignerLeaf: the names come from the request to Sign, never from the
// CSR; the usages, validity and key ID from the profile; the serial is
// random, positive and long; the result chains to the CA and lints clean.
func TestSignerLeaf(t *testing.T) {
	root, err := Create(Options{Home: t.TempDir(), Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSigner(root.CA.Key, root.CA.Cert, leafPolicy())
	if err != nil {
		t.Fatal(err)
	}
	csrPEM := testCSR(t, &csr.CertificateRequest{CN: "reg.example.com", Hosts: []string{"evil.example.com", "10.9.9.9"}})
	nb, na := fixedNow.Add(-Backdate), fixedNow.Add(24*time.Hour)
	der, pemBytes, err := s.Sign(SignRequest{
		CSR: csrPEM, Profile: "server",
		DNSNames: []string{"reg.example.com"}, IPs: []net.IP{net.ParseIP("10.0.0.5").To4()},
		NotBefore: nb, NotAfter: na,
	})
	if err != nil {
		t.Fatal(err)
	}
	certs, err := ParseCerts(pemBytes)
	if err != nil || len(certs) != 1 || string(certs[0].Raw) != string(der) {
		t.Fatalf("PEM does not hold the DER certificate: %v", err)
	}
	c := certs[0]
	if len(c.DNSNames) != 1 || c.DNSNames[0] != "reg.example.com" || len(c.IPAddresses) != 1 || !c.IPAddresses[0].Equal(net.ParseIP("10.0.0.5")) {
		t.Errorf("SANs %v %v: only the signer's names may reach the certificate", c.DNSNames, c.IPAddresses)
	}
	if c.KeyUsage != x509.KeyUsageDigitalSignature || len(c.ExtKeyUsage) != 1 || c.ExtKeyUsage[0] != x509.ExtKeyUsageServerAuth {
		t.Errorf("usages %v %v", certtest.KeyUsageNames(c.KeyUsage), certtest.ExtKeyUsageNames(c.ExtKeyUsage))
	}
	if c.IsCA || !c.BasicConstraintsValid || !c.NotBefore.Equal(nb) || !c.NotAfter.Equal(na) {
		t.Errorf("IsCA=%v valid=%v %s..%s", c.IsCA, c.BasicConstraintsValid, c.NotBefore, c.NotAfter)
	}
	if c.SerialNumber.Sign() <= 0 || c.SerialNumber.BitLen() < 64 || c.SerialNumber.BitLen() > 159 {
		t.Errorf("serial %x has %d bits", c.SerialNumber, c.SerialNumber.BitLen())
	}
	if len(c.SubjectKeyId) == 0 || string(c.AuthorityKeyId) != string(root.CA.Cert.SubjectKeyId) {
		t.Error("key identifiers missing or not chained")
	}
	if c.SignatureAlgorithm != x509.ECDSAWithSHA256 {
		t.Errorf("signature algorithm %s", c.SignatureAlgorithm)
	}
	if err := c.CheckSignatureFrom(root.CA.Cert); err != nil {
		t.Error(err)
	}
	problems, err := certtest.Lint(der)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("zlint: %s", p)
	}

	// Two certificates never share a serial.
	der2, _, err := s.Sign(SignRequest{CSR: csrPEM, Profile: "server", DNSNames: []string{"reg.example.com"}, NotBefore: nb, NotAfter: na})
	if err != nil {
		t.Fatal(err)
	}
	c2, _ := x509.ParseCertificate(der2)
	if c2.SerialNumber.Cmp(c.SerialNumber) == 0 {
		t.Error("two certificates with one serial")
	}
}

// TestSignerRefuses: every request the policy does not allow is refused.
func TestSignerRefuses(t *testing.T) {
	root, err := Create(Options{Home: t.TempDir(), Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSigner(root.CA.Key, root.CA.Cert, leafPolicy())
	if err != nil {
		t.Fatal(err)
	}
	leafCSR := testCSR(t, &csr.CertificateRequest{CN: "x"})
	caCSR := testCSR(t, &csr.CertificateRequest{CN: "sub", CA: &csr.CAConfig{}})
	nb, na := fixedNow, fixedNow.Add(time.Hour)
	var pe *ProfileError
	if _, _, err := s.Sign(SignRequest{CSR: leafCSR, Profile: "sevrer", NotBefore: nb, NotAfter: na}); !errors.As(err, &pe) {
		t.Errorf("unknown profile: err = %v, want *ProfileError", err)
	}
	for name, req := range map[string]SignRequest{
		"default profile has no usages":    {CSR: leafCSR, NotBefore: nb, NotAfter: na},
		"not PEM":                          {CSR: []byte("hello"), Profile: "server", NotBefore: nb, NotAfter: na},
		"a certificate, not a request":     {CSR: root.CA.CertPEM, Profile: "server", NotBefore: nb, NotAfter: na},
		"CA request under a path length 0": {CSR: caCSR, Profile: "sub-ca", NotBefore: nb, NotAfter: na},
	} {
		_, _, err := s.Sign(req)
		if err == nil {
			t.Errorf("%s: signed", name)
		}
		t.Logf("%s: %v", name, err)
	}
	// A request for a CA on a leaf profile: the whitelist drops the
	// request's CA flag, and the result is a leaf.
	der, _, err := s.Sign(SignRequest{CSR: caCSR, Profile: "server", NotBefore: nb, NotAfter: na})
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := x509.ParseCertificate(der); c == nil || c.IsCA || !c.BasicConstraintsValid {
		t.Error("a CA certificate came out of a leaf profile")
	}

	// A self-signing Signer makes CAs only.
	self, err := NewSigner(root.CA.Key, nil, leafPolicy())
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := self.Sign(SignRequest{CSR: leafCSR, Profile: "server", NotBefore: nb, NotAfter: na}); err == nil {
		t.Error("a self-signing Signer signed a leaf")
	}

	// Policies using what this Signer does not implement are refused
	// up front.
	for name, edit := range map[string]func(*config.SigningProfile){
		"CT":           func(p *config.SigningProfile) { p.CTLogServers = []string{"https://ct.example"} },
		"lint":         func(p *config.SigningProfile) { p.LintErrLevel = 4 },
		"serials":      func(p *config.SigningProfile) { p.ClientProvidesSerialNumbers = true },
		"default lint": nil,
	} {
		p := leafPolicy()
		if edit != nil {
			edit(p.Profiles["server"])
		} else {
			p.Default.LintErrLevel = 4
		}
		if _, err := NewSigner(root.CA.Key, root.CA.Cert, p); err == nil {
			t.Errorf("%s: NewSigner accepted the policy", name)
		}
	}
	if _, err := NewSigner(root.CA.Key, root.CA.Cert, &config.Signing{}); err == nil {
		t.Error("NewSigner accepted a policy without a default profile")
	}
}
