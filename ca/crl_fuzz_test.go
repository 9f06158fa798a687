package ca

import (
	"crypto/x509"
	"errors"
	"math/big"
	"testing"
	"time"
)

// FuzzParseCRL feeds the CRL reader behind revoke, crl and status
// arbitrary files: it never panics, refuses with a *CRLError, and what it
// accepts the CA signed.
func FuzzParseCRL(f *testing.F) {
	res, err := Create(Options{Home: f.TempDir(), Machine: "fuzz"})
	if err != nil {
		f.Fatal(err)
	}
	crl, err := res.CA.SignCRL([]x509.RevocationListEntry{Entry(big.NewInt(7), time.Now(), KeyCompromise)}, big.NewInt(2), time.Now(), 0)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(crl.PEM)
	f.Add(res.CA.CertPEM)
	f.Add([]byte("-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := ParseCRL(data, "fuzz.crl", res.CA.Cert)
		if err != nil {
			var ce *CRLError
			if !errors.As(err, &ce) {
				t.Errorf("error %v is not a *CRLError", err)
			}
			return
		}
		if l.List.CheckSignatureFrom(res.CA.Cert) != nil {
			t.Error("ParseCRL accepted a list the CA did not sign")
		}
		_, _ = l.Entry(big.NewInt(7))
		_ = NextNumber(l)
	})
}
