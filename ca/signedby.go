package ca

import (
	"crypto/x509"
	"sync"
)

// signatures remembers the certificate and issuer pairs (DER) whose
// signature was checked in this process: the signer's own, which
// x509.CreateCertificate checks as it signs, and install's, which reads
// a pair in the home and then in the folder it stages, the same bytes.
var signatures sync.Map

func signatureKey(der, issuer []byte) string { return string(der) + "\x00" + string(issuer) }

func noteSigned(der, issuer []byte) { signatures.Store(signatureKey(der, issuer), true) }

// SignedBy reports whether issuer's key signed c (CheckSignatureFrom),
// checking each pair of certificates once per process.
func SignedBy(c, issuer *x509.Certificate) bool {
	k := signatureKey(c.Raw, issuer.Raw)
	if _, ok := signatures.Load(k); ok {
		return true
	}
	if c.CheckSignatureFrom(issuer) != nil {
		return false
	}
	signatures.Store(k, true)
	return true
}
