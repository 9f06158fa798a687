package wizard

import (
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"time"

	"github.com/certkit/certkit/ca"
	"github.com/certkit/certkit/internal/home"
	"github.com/certkit/certkit/internal/safefs"
	"github.com/certkit/certkit/issue"
)

// maxPEM bounds the files setup reads back from the home.
const maxPEM = 1 << 20

// Kept is an issued certificate a re-run leaves as it is: it exists and
// is valid, so setup does only what is missing.
type Kept struct {
	Kind     issue.Kind
	Name     string // "server", or the client name
	CertPath string
	NotAfter time.Time
}

// issuedCheck tells what a run may do with the certificate name of kind
// in the home: keep it (it is there and valid), issue it (none there), or
// neither without Force (why says what is wrong with the one there).
type issuedCheck struct {
	kept   *Kept
	exists []string // its files that exist
	why    string   // set when it exists and cannot be kept
}

// checkIssued reads back the certificate name of kind (files: cert, key,
// and for a server its chain) and checks it against the CA caCert: signed
// by it, valid at now, its key matching, for the registry (server) or for
// client authentication (client).
func (p *Plan) checkIssued(kind issue.Kind, name string, files []string, caCert *x509.Certificate, now time.Time) issuedCheck {
	var ic issuedCheck
	for _, f := range files {
		if exists(f) {
			ic.exists = append(ic.exists, f)
		}
	}
	switch {
	case len(ic.exists) == 0:
		return ic
	case len(ic.exists) < len(files):
		ic.why = "incomplete"
		return ic
	case caCert == nil || p.NewCA:
		ic.why = "issued by the CA this run replaces"
		return ic
	}
	certPEM, err := safefs.ReadFile(files[0], maxPEM)
	if err != nil {
		ic.why = err.Error()
		return ic
	}
	keyPEM, err := safefs.ReadFile(files[1], maxPEM)
	if err != nil {
		ic.why = err.Error()
		return ic
	}
	certs, err := ca.ParseCerts(certPEM)
	if err != nil {
		ic.why = "not a certificate: " + err.Error()
		return ic
	}
	key, err := ca.ParseKey(keyPEM)
	if err != nil {
		ic.why = "its key does not parse: " + err.Error()
		return ic
	}
	c := certs[0]
	usage := x509.ExtKeyUsageClientAuth
	if kind == issue.Server {
		usage = x509.ExtKeyUsageServerAuth
	}
	pool, inter := x509.NewCertPool(), x509.NewCertPool()
	pool.AddCert(caCert)
	for _, x := range certs[1:] {
		inter.AddCert(x) // the registry's issuing CA, in a per-registry home
	}
	_, verr := c.Verify(x509.VerifyOptions{Roots: pool, Intermediates: inter, CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{usage}})
	switch {
	case !ca.KeyMatches(c.PublicKey, key):
		ic.why = "its key does not match it"
	case verr != nil:
		ic.why = "it does not verify against the CA: " + verr.Error()
	case kind == issue.Server && c.VerifyHostname(p.Registry.Hostname()) != nil:
		ic.why = "it is not valid for " + p.Registry.Hostname()
	default:
		ic.kept = &Kept{Kind: kind, Name: name, CertPath: files[0], NotAfter: c.NotAfter}
	}
	return ic
}

// loadCACert reads the home's CA certificate; nil when there is none.
func loadCACert(h string) (*x509.Certificate, error) {
	data, err := safefs.ReadFile(filepath.Join(home.CADir(h), ca.CertFile), maxPEM)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	certs, err := ca.ParseCerts(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(home.CADir(h), ca.CertFile), err)
	}
	return certs[0], nil
}
