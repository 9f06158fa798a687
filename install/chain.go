package install

import (
	"bytes"
	"crypto/x509"
	"sync"
	"time"

	"github.com/certkit/certkit/ca"
)

// chainVerifier verifies client certificates against a set of roots, as
// x509.Certificate.Verify does, with the intermediates each carries. In a
// per-registry home every pair of a registry carries the same issuing CA:
// its own chain to the roots is verified once, and each leaf then costs
// one signature check instead of one per link (1,000 pairs: 1,000
// signature checks fewer).
type chainVerifier struct {
	roots *x509.CertPool
	now   time.Time
	usage []x509.ExtKeyUsage

	mu   sync.Mutex
	done map[string]error // by the issuing CA's DER: its chain at now
}

func newChainVerifier(roots *x509.CertPool, now time.Time, usage ...x509.ExtKeyUsage) *chainVerifier {
	return &chainVerifier{roots: roots, now: now, usage: usage, done: map[string]error{}}
}

// verify verifies leaf, with the intermediates chain, at time at.
func (v *chainVerifier) verify(leaf *x509.Certificate, chain []*x509.Certificate, at time.Time) error {
	inter := x509.NewCertPool()
	for _, c := range chain {
		inter.AddCert(c)
	}
	opts := x509.VerifyOptions{Roots: v.roots, Intermediates: inter, CurrentTime: at, KeyUsages: v.usage}
	// The leaf's issuer among the intermediates: the leaf's own
	// signature here, the issuer's chain once.
	var issuer *x509.Certificate
	for _, c := range chain {
		if c.IsCA && bytes.Equal(leaf.RawIssuer, c.RawSubject) && ca.SignedBy(leaf, c) {
			issuer = c
			break
		}
	}
	// Anything Verify checks on the leaf beyond its signature and usage
	// takes Verify itself: its validity at at, names (which name
	// constraints above it would judge), critical extensions.
	if issuer == nil || !at.Equal(v.now) || leaf.IsCA || at.Before(leaf.NotBefore) || at.After(leaf.NotAfter) ||
		len(leaf.DNSNames)+len(leaf.IPAddresses)+len(leaf.EmailAddresses)+len(leaf.URIs) > 0 || len(leaf.UnhandledCriticalExtensions) > 0 {
		_, err := leaf.Verify(opts)
		return err
	}
	if err := usageAllowed(leaf, v.usage); err != nil {
		_, err := leaf.Verify(opts) // for Verify's own error
		return err
	}
	v.mu.Lock()
	err, seen := v.done[string(issuer.Raw)]
	v.mu.Unlock()
	if !seen {
		_, err = issuer.Verify(opts)
		v.mu.Lock()
		v.done[string(issuer.Raw)] = err
		v.mu.Unlock()
	}
	if err != nil {
		// The leaf's own answer, with Verify's words.
		_, err = leaf.Verify(opts)
	}
	return err
}

// usageAllowed is Verify's check of the leaf's own extended key usage.
func usageAllowed(leaf *x509.Certificate, usage []x509.ExtKeyUsage) error {
	if len(leaf.ExtKeyUsage) == 0 && len(leaf.UnknownExtKeyUsage) == 0 {
		return nil
	}
	for _, u := range usage {
		if u == x509.ExtKeyUsageAny {
			return nil
		}
		for _, l := range leaf.ExtKeyUsage {
			if l == u || l == x509.ExtKeyUsageAny {
				return nil
			}
		}
	}
	return x509.CertificateInvalidError{Cert: leaf, Reason: x509.IncompatibleUsage}
}
