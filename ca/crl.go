package ca

import (
	"bytes"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/certkit/certkit/internal/atomicfile"
	"github.com/certkit/certkit/internal/errs"
	"github.com/certkit/certkit/internal/safefs"
)

// File names of the revocation material in the CA folder.
const (
	// CRLFile is the CA's certificate revocation list (PEM, v2).
	CRLFile = "ca.crl"
	// ClientCAsFile holds the certificate of every CA whose client
	// certificates the servers accept (the CA, and during a rotation the
	// previous one): what certkit's server templates name.
	ClientCAsFile = "client-cas.crt"
	// ClientCRLsFile holds the CRL of each CA of ClientCAsFile: nginx and
	// Apache check every certificate of a client's chain, so each CA
	// needs its list.
	ClientCRLsFile = "client-cas.crl"
)

// DefaultCRLValidity is how long a CRL is good for: past its nextUpdate
// nginx and Apache refuse every client, so `certkit crl` must sign it
// again before then (a timer does it).
const DefaultCRLValidity = 30 * 24 * time.Hour

// maxCRL bounds a CRL read: about 250,000 entries.
const maxCRL = 16 << 20

// Reason is an RFC 5280 CRLReason.
type Reason int

// The reasons certkit offers. Unspecified is written as no reason code
// (RFC 5280 5.3.1: the code unspecified SHOULD be absent).
const (
	Unspecified          Reason = 0
	KeyCompromise        Reason = 1
	AffiliationChanged   Reason = 3
	Superseded           Reason = 4
	CessationOfOperation Reason = 5
)

var reasonNames = []struct {
	r    Reason
	name string
}{
	{Unspecified, "unspecified"},
	{KeyCompromise, "key-compromise"},
	{AffiliationChanged, "affiliation-changed"},
	{Superseded, "superseded"},
	{CessationOfOperation, "cessation-of-operation"},
}

// ReasonNames lists the --reason values.
func ReasonNames() []string {
	var out []string
	for _, n := range reasonNames {
		out = append(out, n.name)
	}
	return out
}

func (r Reason) String() string {
	for _, n := range reasonNames {
		if n.r == r {
			return n.name
		}
	}
	return fmt.Sprintf("reason-%d", int(r))
}

// ParseReason reads a --reason value.
func ParseReason(s string) (Reason, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" {
		return Unspecified, nil
	}
	for _, n := range reasonNames {
		if n.name == s || strings.ReplaceAll(n.name, "-", "") == s {
			return n.r, nil
		}
	}
	return 0, errs.Input(fmt.Sprintf("unknown revocation reason %q", s), "use one of: "+strings.Join(ReasonNames(), ", "))
}

// CRL is a CA's revocation list as read or signed.
type CRL struct {
	List *x509.RevocationList
	PEM  []byte
	Path string
}

// Entry returns the entry for serial, if the list has one.
func (l *CRL) Entry(serial *big.Int) (x509.RevocationListEntry, bool) {
	if l == nil || l.List == nil {
		return x509.RevocationListEntry{}, false
	}
	for _, e := range l.List.RevokedCertificateEntries {
		if e.SerialNumber.Cmp(serial) == 0 {
			return e, true
		}
	}
	return x509.RevocationListEntry{}, false
}

// CRLError reports a CRL file certkit cannot use: not PEM, not a CRL, or
// not signed by the CA beside it.
type CRLError struct {
	Path string
	Msg  string
}

func (e *CRLError) Error() string { return e.Path + ": " + e.Msg }

// Hint says how to go on without losing a revocation.
func (e *CRLError) Hint() string {
	return "nothing was changed; certkit keeps every revoked certificate under revoked/ in the certkit home: make the list again from them with certkit crl --rebuild"
}

// ParseCRL reads a PEM CRL and checks that issuer signed it.
func ParseCRL(data []byte, path string, issuer *x509.Certificate) (*CRL, error) {
	b, _ := pem.Decode(data)
	if b == nil || b.Type != "X509 CRL" {
		return nil, &CRLError{path, "not a PEM X509 CRL"}
	}
	l, err := x509.ParseRevocationList(b.Bytes)
	if err != nil {
		return nil, &CRLError{path, "cannot be read: " + strings.TrimPrefix(err.Error(), "x509: ")}
	}
	if issuer != nil {
		if !bytes.Equal(l.RawIssuer, issuer.RawSubject) {
			return nil, &CRLError{path, fmt.Sprintf("was issued by %q, not by the CA %q", l.Issuer.String(), issuer.Subject.String())}
		}
		if err := l.CheckSignatureFrom(issuer); err != nil {
			return nil, &CRLError{path, "its signature is not the CA's: " + strings.TrimPrefix(err.Error(), "x509: ")}
		}
	}
	return &CRL{List: l, PEM: data, Path: path}, nil
}

// ReadCRL reads the CRL of the CA folder rel ("ca") of the home r, checked
// against issuer. A missing file is returned as an fs.ErrNotExist error.
func ReadCRL(r *safefs.Root, rel string, issuer *x509.Certificate) (*CRL, error) {
	data, err := r.ReadFile(filepath.Join(rel, CRLFile), maxCRL)
	if err != nil {
		return nil, err
	}
	return ParseCRL(data, r.Join(filepath.Join(rel, CRLFile)), issuer)
}

// CanSignCRL reports whether the CA's key usage names cRLSign. Go signs
// CRLs only for such a CA, also when the certificate has no key usage at
// all (as the old openssl recipe's CA), though RFC 5280 allows it.
func CanSignCRL(c *x509.Certificate) bool {
	return c.KeyUsage&x509.KeyUsageCRLSign != 0
}

// NoCRLSignError reports a CA that may not sign CRLs.
type NoCRLSignError struct{ CN string }

func (e *NoCRLSignError) Error() string {
	return fmt.Sprintf("the CA %q may not sign CRLs (its key usage lacks cRLSign), so certkit cannot revoke under it", e.CN)
}

// Hint names the way out.
func (e *NoCRLSignError) Hint() string {
	return "move to a CA that certkit makes: certkit rotate-ca, then certkit renew --all --install"
}

// SignCRL signs c's revocation list with entries, number and a validity
// from now: a v2 CRL with the CA's key identifier (AKI), the CRL number,
// thisUpdate and nextUpdate.
func (c *CA) SignCRL(entries []x509.RevocationListEntry, number *big.Int, now time.Time, validity time.Duration) (*CRL, error) {
	if !CanSignCRL(c.Cert) {
		return nil, &NoCRLSignError{CN: c.Cert.Subject.CommonName}
	}
	if validity <= 0 {
		validity = DefaultCRLValidity
	}
	this := now.UTC().Truncate(time.Second)
	next := this.Add(validity)
	if next.After(c.Cert.NotAfter) {
		// A CRL cannot speak for a CA past its life.
		next = c.Cert.NotAfter.UTC()
	}
	if !next.After(this) {
		return nil, fmt.Errorf("the CA %q expired on %s: it can sign no CRL", c.Cert.Subject.CommonName, c.Cert.NotAfter.UTC().Format(time.DateOnly))
	}
	sorted := append([]x509.RevocationListEntry(nil), entries...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].SerialNumber.Cmp(sorted[j].SerialNumber) < 0 })
	der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
		SignatureAlgorithm:        signatureAlgorithm(c.Key.Public()),
		RevokedCertificateEntries: sorted,
		Number:                    number,
		ThisUpdate:                this,
		NextUpdate:                next,
	}, c.Cert, c.Key)
	if err != nil {
		return nil, fmt.Errorf("signing the CRL: %v", err)
	}
	l, err := x509.ParseRevocationList(der)
	if err != nil {
		return nil, err
	}
	return &CRL{List: l, PEM: pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: der}), Path: filepath.Join(c.Dir, CRLFile)}, nil
}

// Entry makes a CRL entry for a certificate revoked at t.
func Entry(serial *big.Int, t time.Time, reason Reason) x509.RevocationListEntry {
	return x509.RevocationListEntry{SerialNumber: serial, RevocationTime: t.UTC().Truncate(time.Second), ReasonCode: int(reason)}
}

// NextNumber is the CRL number after old's (1 for the first list).
func NextNumber(old *CRL) *big.Int {
	if old == nil || old.List == nil || old.List.Number == nil {
		return big.NewInt(1)
	}
	return new(big.Int).Add(old.List.Number, big.NewInt(1))
}

// CRLFiles are the files that publish a new CRL of the home's current
// CA: the CA's own list, and the two files the server templates name
// (ClientCAsFile, ClientCRLsFile), which also hold every other CA whose
// clients are still accepted (others: their certificate and CRL, PEM).
// A CA that may not sign CRLs (CanSignCRL) has none (crl nil): then
// only ClientCAsFile is written, and the servers check no CRL (nginx and
// Apache need a list for every CA once they check one).
func CRLFiles(c *CA, crl *CRL, others ...Trusted) []atomicfile.File {
	cas := append([]byte{}, EncodeCert(c.Cert)...)
	var crls []byte
	all := crl != nil
	if all {
		crls = append(crls, crl.PEM...)
	}
	for _, o := range others {
		cas = append(cas, o.CertPEM...)
		crls = append(crls, o.CRLPEM...)
		all = all && o.CRLPEM != nil
	}
	files := []atomicfile.File{{Path: filepath.Join(c.Dir, ClientCAsFile), Data: cas, Mode: 0o644}}
	if crl != nil {
		files = append(files, atomicfile.File{Path: filepath.Join(c.Dir, CRLFile), Data: crl.PEM, Mode: 0o644})
	}
	if all {
		files = append(files, atomicfile.File{Path: filepath.Join(c.Dir, ClientCRLsFile), Data: crls, Mode: 0o644})
	}
	return files
}

// Trusted is another CA whose clients the servers accept: its
// certificate and its CRL, PEM.
type Trusted struct {
	CertPEM, CRLPEM []byte
}

// WriteCRLFiles writes files (from CRLFiles) over the old ones, all or
// none. The old lists are not kept: each new list holds every entry of
// the one before, so a backup would only be clutter beside a list a timer
// signs again every day.
func WriteCRLFiles(files []atomicfile.File, now time.Time, extra ...atomicfile.File) error {
	res, err := atomicfile.WriteAll(append(append([]atomicfile.File{}, files...), extra...), atomicfile.Options{Force: true, Now: now, DirMode: 0o700})
	if err != nil {
		return err
	}
	_, err = dropCRLBackups(res.Backups)
	return err
}

// dropCRLBackups removes the backups of CRL files among backups, and
// returns the others.
func dropCRLBackups(backups []string) ([]string, error) {
	var kept []string
	for _, b := range backups {
		if !isCRLFile(b) {
			kept = append(kept, b)
			continue
		}
		if err := safefs.Remove(b); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return kept, err
		}
	}
	return kept, nil
}

func isCRLFile(backup string) bool {
	base := filepath.Base(backup)
	for _, n := range []string{CRLFile, ClientCAsFile, ClientCRLsFile} {
		if strings.HasPrefix(base, n+".bak-") {
			return true
		}
	}
	return false
}
