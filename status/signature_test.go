package status

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"slices"
	"testing"
	"time"

	"github.com/certkit/certkit/ca"
	"github.com/certkit/certkit/host"
	"github.com/certkit/certkit/install"
	"github.com/certkit/certkit/issue"
)

// TestRevokedBySerialAndSignature: a certificate is revoked when its
// serial is in the CRL of a CA that signed it; the same serial from
// another CA is not, nor another serial of the CA.
func TestRevokedBySerialAndSignature(t *testing.T) {
	newCA := func(cn string) (*x509.Certificate, *ecdsa.PrivateKey) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn}, NotBefore: t0, NotAfter: t0.Add(time.Hour),
			IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			t.Fatal(err)
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		return c, key
	}
	leaf := func(serial int64, issuer *x509.Certificate, key *ecdsa.PrivateKey) *x509.Certificate {
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "leaf"}, NotBefore: t0, NotAfter: t0.Add(time.Hour)}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, issuer, &key.PublicKey, key)
		if err != nil {
			t.Fatal(err)
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	caA, keyA := newCA("A")
	caB, keyB := newCA("B")
	at := t0.Add(time.Minute).Truncate(time.Second)
	der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{Number: big.NewInt(1), ThisUpdate: t0, NextUpdate: t0.Add(time.Hour),
		RevokedCertificateEntries: []x509.RevocationListEntry{{SerialNumber: big.NewInt(7), RevocationTime: at}}}, caA, keyA)
	if err != nil {
		t.Fatal(err)
	}
	list, err := x509.ParseRevocationList(der)
	if err != nil {
		t.Fatal(err)
	}
	v := &revocation{}
	v.add(caA, &ca.CRL{List: list})
	v.add(caB, nil)
	r := &Report{}
	if serialKey(big.NewInt(-7)) == serialKey(big.NewInt(7)) || serialKey(big.NewInt(0)) == serialKey(big.NewInt(7)) {
		t.Error("serialKey gives two serials one key")
	}
	for _, tc := range []struct {
		name string
		c    *x509.Certificate
		want bool
	}{
		{"A's 7", leaf(7, caA, keyA), true},
		{"A's 8", leaf(8, caA, keyA), false},
		{"B's 7", leaf(7, caB, keyB), false},
	} {
		got, ok := v.revokedAt(&Cert{der: tc.c.Raw, serial: tc.c.SerialNumber}, r.issuedBy)
		if ok != tc.want || ok && !got.Equal(at) {
			t.Errorf("%s: revoked %v at %v, want %v", tc.name, ok, got, tc.want)
		}
	}
}

// TestRotationCopies: during a CA rotation, a leaf of the previous CA and
// its copy in a certs root both read previous-ca; a leaf of the new CA
// reads ok. The new CA expires before the old leaf, so that the leaf's
// signature is checked against both CAs (outlives-ca, then previous-ca):
// two answers for one certificate.
func TestRotationCopies(t *testing.T) {
	h := t.TempDir()
	if _, err := ca.Create(ca.Options{Home: h, Machine: "t", Now: at(t0)}); err != nil {
		t.Fatal(err)
	}
	reg, _ := host.Parse("reg.example.com:5000")
	root := issueInstalled(t, h, reg, "old")
	if _, err := ca.Rotate(ca.Options{Home: h, Machine: "t", Validity: 400 * 24 * time.Hour, Now: at(t0.Add(time.Hour))}); err != nil {
		t.Fatal(err)
	}
	if _, err := issue.Issue(issue.Options{Home: h, Registry: reg, Kind: issue.Client, Names: []string{"new"}, Validity: 100 * 24 * time.Hour, Now: at(t0.Add(time.Hour))}); err != nil {
		t.Fatal(err)
	}
	// A second root where both CAs are installed, and both pairs.
	both, err := install.CustomRoot(install.Podman, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := install.Install(install.Options{Home: h, Registries: []host.Registry{reg}, Roots: []install.Root{both}, Now: at(t0.Add(time.Hour))}); err != nil {
		t.Fatal(err)
	}
	rep, err := Read(Options{Home: h, Roots: []install.Root{both, root}, Now: at(t0.Add(2 * time.Hour))})
	if err != nil {
		t.Fatal(err)
	}
	got := map[key]State{}
	copies := map[string]Copy{}
	for _, c := range rep.Certs {
		if c.Root == both.Dir {
			copies[c.Name] = c.Copy
			continue
		}
		if c.Kind == Client {
			got[key{c.Location, c.Name}] = c.State
		}
	}
	if want := map[string]Copy{"ca": Same, "ca-previous": Same, "old": Same, "new": Same}; fmt.Sprint(copies) != fmt.Sprint(want) {
		t.Errorf("copies in the second root %v, want %v", copies, want)
	}
	if !slices.IsSortedFunc(rep.Certs, func(a, b Cert) int {
		if less(&a, &b) {
			return -1
		}
		if less(&b, &a) {
			return 1
		}
		return 0
	}) {
		t.Error("the report is not in order")
	}
	want := map[key]State{{InHome, "old"}: PreviousCA, {InCertsD, "old"}: PreviousCA, {InHome, "new"}: OK, {InCertsD, "new"}: OK}
	for k, s := range want {
		if got[k] != s {
			t.Errorf("%s %s: %s, want %s", k.loc, k.name, got[k], s)
		}
	}
	if rep.Rotation == nil || len(rep.Rotation.Leaves) != 1 {
		t.Errorf("rotation %+v, want one leaf of the previous CA", rep.Rotation)
	}
}
