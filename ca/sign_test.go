package ca

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/cloudflare/cfssl/csr"

	"github.com/certkit/certkit/internal/certtest"
)

func leafProfiles() map[string]Profile {
	return map[string]Profile{
		"server": {KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}},
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
	s, err := NewSigner(root.CA.Key, root.CA.Cert, leafProfiles())
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

// TestSignerRefuses: every request its profiles do not allow is refused.
func TestSignerRefuses(t *testing.T) {
	root, err := Create(Options{Home: t.TempDir(), Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSigner(root.CA.Key, root.CA.Cert, leafProfiles())
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
	// The request with one bit of its signature flipped.
	block, _ := pem.Decode(leafCSR)
	b := append([]byte(nil), block.Bytes...)
	b[len(b)-3] ^= 1
	tampered := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: b})
	for name, req := range map[string]SignRequest{
		"no profile":                   {CSR: leafCSR, NotBefore: nb, NotAfter: na},
		"not PEM":                      {CSR: []byte("hello"), Profile: "server", NotBefore: nb, NotAfter: na},
		"a certificate, not a request": {CSR: root.CA.CertPEM, Profile: "server", NotBefore: nb, NotAfter: na},
		"a request signed by another":  {CSR: tampered, Profile: "server", NotBefore: nb, NotAfter: na},
		"no validity":                  {CSR: leafCSR, Profile: "server"},
		"ends before it starts":        {CSR: leafCSR, Profile: "server", NotBefore: na, NotAfter: nb},
	} {
		_, _, err := s.Sign(req)
		if err == nil {
			t.Errorf("%s: signed", name)
		}
		t.Logf("%s: %v", name, err)
	}
	// A request for a CA on a leaf profile: the profile decides, and the
	// result is a leaf.
	der, _, err := s.Sign(SignRequest{CSR: caCSR, Profile: "server", NotBefore: nb, NotAfter: na})
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := x509.ParseCertificate(der); c == nil || c.IsCA || !c.BasicConstraintsValid {
		t.Error("a CA certificate came out of a leaf profile")
	}

	// Profiles that do not make sense for the Signer are refused up front.
	caProfile := Profile{KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign, CA: true}
	for name, tt := range map[string]struct {
		parent   *x509.Certificate
		profiles map[string]Profile
	}{
		"no profiles":               {root.CA.Cert, nil},
		"a self-signed leaf":        {nil, leafProfiles()},
		"a negative path length":    {nil, map[string]Profile{"ca": {KeyUsage: x509.KeyUsageCertSign, CA: true, PathLen: -1}}},
		"a leaf with a path length": {root.CA.Cert, map[string]Profile{"x": {KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, PathLen: 1}}},
		"no key usage":              {root.CA.Cert, map[string]Profile{"x": {ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}}},
		"a leaf without an EKU":     {root.CA.Cert, map[string]Profile{"x": {KeyUsage: x509.KeyUsageDigitalSignature}}},
		"a leaf that signs":         {root.CA.Cert, map[string]Profile{"x": {KeyUsage: x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}}},
		"a CA that cannot sign":     {nil, map[string]Profile{"ca": {KeyUsage: x509.KeyUsageDigitalSignature, CA: true}}},
		"a CA with an extended use": {nil, map[string]Profile{"ca": {KeyUsage: x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, CA: true}}},
		"a mix of leaf and CA":      {nil, map[string]Profile{"ca": caProfile, "server": leafProfiles()["server"]}},
	} {
		if _, err := NewSigner(root.CA.Key, tt.parent, tt.profiles); err == nil {
			t.Errorf("%s: NewSigner accepted the profiles", name)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
	// A CA under a CA: refused by a root of path length 0, made by one
	// of path length 1 (a per-registry home's issuing CA).
	sub, err := NewSigner(root.CA.Key, root.CA.Cert, map[string]Profile{"sub": caProfile})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := sub.Sign(SignRequest{CSR: caCSR, Profile: "sub", NotBefore: nb, NotAfter: na}); err == nil || !strings.Contains(err.Error(), "may not sign CA certificates") {
		t.Errorf("an issuing CA under a root of path length 0: %v, want it refused", err)
	}
	wide, err := Create(Options{Home: t.TempDir(), Machine: "test", PerRegistry: true})
	if err != nil {
		t.Fatal(err)
	}
	sub, err = NewSigner(wide.CA.Key, wide.CA.Cert, map[string]Profile{"sub": caProfile})
	if err != nil {
		t.Fatal(err)
	}
	der, _, err = sub.Sign(SignRequest{CSR: caCSR, Profile: "sub", NotBefore: nb, NotAfter: na})
	if err != nil {
		t.Fatalf("an issuing CA under a root of path length 1: %v", err)
	}
	if c, _ := x509.ParseCertificate(der); c == nil || !c.IsCA || c.MaxPathLen != 0 || !c.MaxPathLenZero || c.CheckSignatureFrom(wide.CA.Cert) != nil {
		t.Errorf("the issuing CA: %+v", c)
	}
	self, err := NewSigner(root.CA.Key, nil, map[string]Profile{"ca": caProfile})
	if err != nil {
		t.Fatalf("a self-signing CA profile: %v", err)
	}
	// A self-signed certificate is for the signing key only: a request
	// made with another key would give a CA whose signature does not
	// verify with its own key.
	if _, _, err := self.Sign(SignRequest{CSR: caCSR, Profile: "ca", NotBefore: nb, NotAfter: na}); err == nil {
		t.Error("a self-signing Signer signed a request for another key")
	}
}

// TestSignerSignatureAlgorithm: the CA signs with SHA-2 sized to its key.
func TestSignerSignatureAlgorithm(t *testing.T) {
	for kt, want := range map[KeyType]x509.SignatureAlgorithm{
		ECDSAP256: x509.ECDSAWithSHA256,
		ECDSAP384: x509.ECDSAWithSHA384,
		RSA2048:   x509.SHA256WithRSA,
		RSA3072:   x509.SHA384WithRSA,
		Ed25519:   x509.PureEd25519,
	} {
		root, err := Create(Options{Home: t.TempDir(), Now: clock, KeyType: kt})
		if err != nil {
			t.Fatal(err)
		}
		if got := root.CA.Cert.SignatureAlgorithm; got != want {
			t.Errorf("%s CA: signature algorithm %s, want %s", kt, got, want)
		}
		if err := root.CA.Cert.CheckSignatureFrom(root.CA.Cert); err != nil {
			t.Errorf("%s CA: %v", kt, err)
		}
	}
}

// TestSignerMadeHere: a request made in this process with a key whose
// public half the caller passes (SignRequest.Key) is signed without its
// signature checked again, but only for that key; a request whose
// signature is broken is still refused when no key is passed; and the
// certificate signed is known as signed by the CA (SignedBy) without a
// second check.
func TestSignerMadeHere(t *testing.T) {
	root, err := Create(Options{Home: t.TempDir(), Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSigner(root.CA.Key, root.CA.Cert, leafProfiles())
	if err != nil {
		t.Fatal(err)
	}
	key, _ := GenerateKey(ECDSAP256)
	csrPEM, err := csr.Generate(key, &csr.CertificateRequest{CN: "x"})
	if err != nil {
		t.Fatal(err)
	}
	nb, na := fixedNow, fixedNow.Add(time.Hour)
	other, _ := GenerateKey(ECDSAP256)
	if _, _, err := s.Sign(SignRequest{CSR: csrPEM, Profile: "server", NotBefore: nb, NotAfter: na, Key: other.Public()}); err == nil {
		t.Error("a request signed with Key naming another key")
	}
	der, _, err := s.Sign(SignRequest{CSR: csrPEM, Profile: "server", NotBefore: nb, NotAfter: na, Key: key.Public()})
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	if !SignedBy(c, root.CA.Cert) {
		t.Error("SignedBy: the CA's own certificate is not signed by it")
	}
	stranger, err := Create(Options{Home: t.TempDir(), Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	if SignedBy(c, stranger.CA.Cert) {
		t.Error("SignedBy: signed by another CA")
	}
	// A request whose signature was tampered with: refused without Key.
	block, _ := pem.Decode(csrPEM)
	bad := append([]byte{}, block.Bytes...)
	bad[len(bad)-3] ^= 0xff
	badPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: bad})
	if _, _, err := s.Sign(SignRequest{CSR: badPEM, Profile: "server", NotBefore: nb, NotAfter: na}); err == nil {
		t.Error("a request with a broken signature was signed")
	}
}
