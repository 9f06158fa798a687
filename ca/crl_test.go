package ca

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/certkit/certkit/internal/certtest"
	"github.com/certkit/certkit/internal/home"
)

func readCRLFile(t *testing.T, path string) *x509.RevocationList {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b, rest := pem.Decode(data)
	if b == nil || b.Type != "X509 CRL" || len(bytes.TrimSpace(rest)) != 0 {
		t.Fatalf("%s is not one PEM X509 CRL:\n%s", path, data)
	}
	l, err := x509.ParseRevocationList(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func lintCRL(t *testing.T, l *x509.RevocationList) {
	t.Helper()
	problems, err := certtest.LintCRL(l.Raw)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("zlint: %s", p)
	}
}

// TestCreateWritesEmptyCRL: a new CA comes with an empty v2 CRL and the
// servers' two files, so that a template rendered now works after a
// revocation.
func TestCreateWritesEmptyCRL(t *testing.T) {
	for _, kt := range []KeyType{ECDSAP256, RSA2048, Ed25519} {
		t.Run(string(kt), func(t *testing.T) {
			h := t.TempDir()
			res, err := Create(Options{Home: h, KeyType: kt, Now: clock})
			if err != nil {
				t.Fatal(err)
			}
			l := readCRLFile(t, filepath.Join(h, "ca", CRLFile))
			if err := l.CheckSignatureFrom(res.CA.Cert); err != nil {
				t.Fatal(err)
			}
			if l.Number == nil || l.Number.Int64() != 1 || len(l.RevokedCertificateEntries) != 0 {
				t.Errorf("number %v, %d entries", l.Number, len(l.RevokedCertificateEntries))
			}
			if !bytes.Equal(l.AuthorityKeyId, res.CA.Cert.SubjectKeyId) {
				t.Errorf("AKI %x, want the CA's SKI %x", l.AuthorityKeyId, res.CA.Cert.SubjectKeyId)
			}
			if !l.ThisUpdate.Equal(fixedNow) || !l.NextUpdate.Equal(fixedNow.Add(DefaultCRLValidity)) {
				t.Errorf("thisUpdate %s nextUpdate %s", l.ThisUpdate, l.NextUpdate)
			}
			lintCRL(t, l)
			cas, _ := os.ReadFile(filepath.Join(h, "ca", ClientCAsFile))
			crls, _ := os.ReadFile(filepath.Join(h, "ca", ClientCRLsFile))
			if !bytes.Equal(cas, res.CA.CertPEM) {
				t.Errorf("%s is not the CA certificate", ClientCAsFile)
			}
			if !bytes.Equal(crls, pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: l.Raw})) {
				t.Errorf("%s is not the CA's CRL", ClientCRLsFile)
			}
		})
	}
}

func TestSignCRLWithEntries(t *testing.T) {
	h := t.TempDir()
	res, err := Create(Options{Home: h, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	entries := []x509.RevocationListEntry{
		Entry(big.NewInt(7), fixedNow, KeyCompromise),
		Entry(big.NewInt(3), fixedNow, Unspecified),
		Entry(big.NewInt(9), fixedNow, Superseded),
	}
	crl, err := res.CA.SignCRL(entries, big.NewInt(5), fixedNow.Add(time.Hour), 0)
	if err != nil {
		t.Fatal(err)
	}
	l := crl.List
	lintCRL(t, l)
	if l.Number.Int64() != 5 || len(l.RevokedCertificateEntries) != 3 {
		t.Fatalf("number %v, %d entries", l.Number, len(l.RevokedCertificateEntries))
	}
	if e, ok := crl.Entry(big.NewInt(7)); !ok || e.ReasonCode != int(KeyCompromise) {
		t.Errorf("entry 7: %v %+v", ok, e)
	}
	if _, ok := crl.Entry(big.NewInt(8)); ok {
		t.Error("serial 8 is listed")
	}
	// Unspecified is written as no reason code at all.
	if e, _ := crl.Entry(big.NewInt(3)); len(e.Extensions) != 0 {
		t.Errorf("unspecified entry has extensions %v", e.Extensions)
	}
	// A CRL never speaks past its CA's life.
	late, err := res.CA.SignCRL(nil, big.NewInt(6), res.CA.Cert.NotAfter.Add(-time.Hour), 0)
	if err != nil || !late.List.NextUpdate.Equal(res.CA.Cert.NotAfter) {
		t.Errorf("late CRL: %v, next update %v", err, late)
	}
	if _, err := res.CA.SignCRL(nil, big.NewInt(6), res.CA.Cert.NotAfter.Add(time.Hour), 0); err == nil {
		t.Error("an expired CA signed a CRL")
	}
}

func TestParseCRLRefuses(t *testing.T) {
	a, err := Create(Options{Home: t.TempDir(), Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Create(Options{Home: t.TempDir(), Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	crlB, err := b.CA.SignCRL(nil, big.NewInt(1), fixedNow, 0)
	if err != nil {
		t.Fatal(err)
	}
	// B's CRL with A's issuer name: a bad signature.
	forged := append([]byte{}, crlB.List.Raw...)
	forged = bytes.Replace(forged, b.CA.Cert.RawSubject, a.CA.Cert.RawSubject, 1)
	for name, data := range map[string][]byte{
		"empty":       nil,
		"not PEM":     []byte("hello"),
		"certificate": a.CA.CertPEM,
		"garbage DER": pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: []byte{0x30, 0x03, 1, 2, 3}}),
		"other CA":    crlB.PEM,
		"forged":      pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: forged}),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := ParseCRL(data, "x.crl", a.CA.Cert)
			var ce *CRLError
			if !errors.As(err, &ce) || ce.Path != "x.crl" {
				t.Fatalf("err = %v, want a *CRLError", err)
			}
		})
	}
}

func TestRefreshCRL(t *testing.T) {
	h := t.TempDir()
	res, err := Create(Options{Home: h, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	c := res.CA
	crl, err := c.SignCRL([]x509.RevocationListEntry{Entry(big.NewInt(42), fixedNow, KeyCompromise)}, big.NewInt(2), fixedNow, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteCRLFiles(CRLFiles(c, crl), fixedNow); err != nil {
		t.Fatal(err)
	}
	later := fixedNow.Add(20 * 24 * time.Hour)
	out, err := RefreshCRL(CRLOptions{Home: h, Validity: 7 * 24 * time.Hour, Now: func() time.Time { return later }})
	if err != nil {
		t.Fatal(err)
	}
	l := readCRLFile(t, filepath.Join(h, "ca", CRLFile))
	if l.Number.Int64() != 3 || len(l.RevokedCertificateEntries) != 1 || l.RevokedCertificateEntries[0].SerialNumber.Int64() != 42 ||
		!l.NextUpdate.Equal(later.Add(7*24*time.Hour)) || out.Created {
		t.Errorf("refreshed: number %v, entries %d, next %s, created %v", l.Number, len(l.RevokedCertificateEntries), l.NextUpdate, out.Created)
	}
	lintCRL(t, l)
	// No backups pile up beside a list a timer signs every day.
	if m, _ := filepath.Glob(filepath.Join(h, "ca", "*.bak-*")); len(m) != 0 {
		t.Errorf("backups left: %v", m)
	}

	// A list that does not parse is refused, and left as it was.
	bad := []byte("-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n")
	if err := os.WriteFile(filepath.Join(h, "ca", CRLFile), bad, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = RefreshCRL(CRLOptions{Home: h, Now: clock})
	var ce *CRLError
	if !errors.As(err, &ce) {
		t.Fatalf("unreadable CRL: err = %v, want a *CRLError", err)
	}
	if got, _ := os.ReadFile(filepath.Join(h, "ca", CRLFile)); !bytes.Equal(got, bad) {
		t.Error("the unreadable CRL was changed")
	}

	// --rebuild makes it again from the records under revoked/.
	rec := filepath.Join(home.RevokedDir(h, "reg:5000"), home.RevokedName("laptop", "2a"))
	leaf := signLeaf(t, c)
	if err := os.MkdirAll(filepath.Dir(rec), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(rec, EncodeCert(leaf), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err = RefreshCRL(CRLOptions{Home: h, Rebuild: true, Now: func() time.Time { return later }})
	if err != nil || out.Rebuilt != 1 {
		t.Fatalf("rebuild: %v, %+v", err, out)
	}
	l = readCRLFile(t, filepath.Join(h, "ca", CRLFile))
	if len(l.RevokedCertificateEntries) != 1 || l.RevokedCertificateEntries[0].SerialNumber.Cmp(leaf.SerialNumber) != 0 || l.Number.Int64() != later.Unix() {
		t.Errorf("rebuilt: %d entries, number %v", len(l.RevokedCertificateEntries), l.Number)
	}
	lintCRL(t, l)
}

// signLeaf signs a client certificate under c.
func signLeaf(t *testing.T, c *CA) *x509.Certificate {
	t.Helper()
	key, err := GenerateKey(ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(99), NotBefore: fixedNow, NotAfter: fixedNow.Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(nil, tmpl, c.Cert, key.Public(), c.Key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return leaf
}

// TestEnsureCRL: a home made before certkit wrote CRLs gets an empty
// list on first use; one that has its list keeps it.
func TestEnsureCRL(t *testing.T) {
	h := t.TempDir()
	if _, err := Create(Options{Home: h, Now: clock}); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{CRLFile, ClientCAsFile, ClientCRLsFile} {
		if err := os.Remove(filepath.Join(h, "ca", n)); err != nil {
			t.Fatal(err)
		}
	}
	wrote, err := EnsureCRL(h, fixedNow, 0)
	if err != nil || !wrote {
		t.Fatalf("EnsureCRL: %v %v", wrote, err)
	}
	l := readCRLFile(t, filepath.Join(h, "ca", CRLFile))
	lintCRL(t, l)
	before, _ := os.ReadFile(filepath.Join(h, "ca", CRLFile))
	if wrote, err := EnsureCRL(h, fixedNow.Add(time.Hour), 0); err != nil || wrote {
		t.Fatalf("second EnsureCRL: %v %v", wrote, err)
	}
	if after, _ := os.ReadFile(filepath.Join(h, "ca", CRLFile)); !bytes.Equal(before, after) {
		t.Error("EnsureCRL replaced an existing list")
	}
}

func TestParseReason(t *testing.T) {
	for in, want := range map[string]Reason{"": Unspecified, "key-compromise": KeyCompromise, "KeyCompromise": KeyCompromise, "superseded": Superseded} {
		if got, err := ParseReason(in); err != nil || got != want {
			t.Errorf("ParseReason(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := ParseReason("stolen"); err == nil {
		t.Error("ParseReason accepted stolen")
	}
}
