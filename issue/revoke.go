package issue

import (
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"time"

	"github.com/certkit/certkit/ca"
	"github.com/certkit/certkit/host"
	"github.com/certkit/certkit/internal/atomicfile"
	"github.com/certkit/certkit/internal/errs"
	"github.com/certkit/certkit/internal/home"
	"github.com/certkit/certkit/internal/safefs"
	"github.com/certkit/certkit/internal/shellquote"
)

// RevokeOptions say which client certificate to revoke.
type RevokeOptions struct {
	Home     string
	Registry host.Registry
	Name     string
	Reason   ca.Reason
	// CRLValidity is how long the new CRL is good for
	// (ca.DefaultCRLValidity when 0).
	CRLValidity time.Duration
	Now         func() time.Time
}

// Revocation is what Revoke did.
type Revocation struct {
	Registry   host.Registry `json:"registry"`
	Name       string        `json:"name"`
	Serial     string        `json:"serial"` // hex
	Reason     string        `json:"reason"`
	RevokedAt  time.Time     `json:"revoked_at"`
	NotAfter   time.Time     `json:"not_after"`   // of the certificate: until when a server without the CRL accepts it
	Record     string        `json:"record"`      // the certificate, kept under revoked/
	KeyDeleted string        `json:"key_deleted"` // the private key's path, now gone
	CRL        string        `json:"crl"`
	CRLNumber  string        `json:"crl_number"`
	NextUpdate time.Time     `json:"next_update"`
	// Remaining are the client names still issued for the registry.
	Remaining []string `json:"remaining"`
	// Issuer is the CA that issued the certificate: "ca", or "previous"
	// for the previous CA during a rotation.
	Issuer string `json:"issuer"`
}

// UnknownNameError reports a name the home has no client certificate for.
type UnknownNameError struct {
	Registry   string
	Name       string
	Known      []string // the registry's client names
	Registries []string // the home's registries, when the registry has none
}

func (e *UnknownNameError) Error() string {
	return fmt.Sprintf("the certkit home has no client certificate %q for %s", e.Name, e.Registry)
}

// Hint lists what there is.
func (e *UnknownNameError) Hint() string {
	if len(e.Known) > 0 {
		return fmt.Sprintf("client certificates of %s: %s", e.Registry, strings.Join(e.Known, ", "))
	}
	if len(e.Registries) > 0 {
		return fmt.Sprintf("%s has no client certificate; registries with some: %s", e.Registry, strings.Join(e.Registries, ", "))
	}
	return "the certkit home has no client certificate at all"
}

// InputError makes the CLI exit 2: the name was mistyped.
func (e *UnknownNameError) InputError() bool { return true }

// AlreadyRevokedError reports a name whose certificate was revoked
// before, and that was not issued again since.
type AlreadyRevokedError struct {
	Registry, Name, Serial string
	Record                 string
	At                     time.Time // zero when the CRL does not say
}

func (e *AlreadyRevokedError) Error() string {
	when := ""
	if !e.At.IsZero() {
		when = " on " + e.At.UTC().Format(time.DateOnly)
	}
	return fmt.Sprintf("client certificate %q of %s (serial %s) was already revoked%s; its record is %s", e.Name, e.Registry, e.Serial, when, e.Record)
}

// Hint says that nothing is left to do.
func (e *AlreadyRevokedError) Hint() string {
	return "nothing was changed; to give the client a new certificate: certkit issue client --host " + shellquote.Quote(e.Registry) + " --name " + shellquote.Quote(e.Name)
}

// InputError makes the CLI exit 2.
func (e *AlreadyRevokedError) InputError() bool { return true }

// Revoke puts the serial of the client certificate Name of Registry into
// the CRL of the CA that issued it, keeps the certificate under
// revoked/<registry>/NAME.SERIAL.cert, and deletes the pair from the
// home (the key is gone for good). Every check comes first; the new CRL
// and the record are written in one set, then the pair is removed.
func Revoke(opt RevokeOptions) (*Revocation, error) {
	now := time.Now
	if opt.Now != nil {
		now = opt.Now
	}
	if opt.Registry.Name == "" {
		return nil, errs.Input("no registry given", "pass --host, e.g. --host reg.example.com:5000")
	}
	if err := checkNames([]string{opt.Name}); err != nil {
		return nil, err
	}
	release, err := home.Lock(opt.Home, false)
	if err != nil {
		return nil, err
	}
	defer release(false)
	folder := opt.Registry.String()
	hostRel := filepath.Join("hosts", folder)
	certPath := filepath.Join(home.HostDir(opt.Home, folder), opt.Name+home.CertExt)
	keyPath := filepath.Join(home.HostDir(opt.Home, folder), opt.Name+home.KeyExt)

	// The CA first: without one there is nothing to revoke under.
	cas, err := ca.LoadAll(opt.Home)
	if err != nil {
		return nil, err
	}
	var certPEM []byte
	var known []string
	var records []string
	d, err := safefs.OpenDir(opt.Home)
	if err != nil {
		return nil, err
	}
	err = d.Do(func(r *safefs.Root) error {
		entries, err := r.ReadDir(hostRel)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		known = home.PairNames(entries)
		if recs, err := r.Names(filepath.Join("revoked", folder)); err == nil {
			records = recs
		}
		for _, n := range known {
			if n == opt.Name {
				certPEM, err = r.ReadFile(filepath.Join(hostRel, n+home.CertExt), 0)
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if certPEM == nil {
		return nil, notIssued(opt, known, records, cas)
	}
	certs, err := ca.ParseCerts(certPEM)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", certPath, err)
	}
	leaf := certs[0]
	signer := -1
	for i, s := range cas {
		if leaf.CheckSignatureFrom(s.CA.Cert) == nil {
			signer = i
			break
		}
	}
	if signer < 0 {
		return nil, errs.WithHint(fmt.Errorf("%s was not issued by the CA of the certkit home (its issuer is %q)", certPath, leaf.Issuer.String()),
			"nothing was changed; only the CA that issued a certificate can revoke it")
	}
	s := &cas[signer]
	serial := serialHex(leaf)
	if e, ok := s.CRL.Entry(leaf.SerialNumber); ok {
		return nil, &AlreadyRevokedError{Registry: folder, Name: opt.Name, Serial: serial, Record: certPath, At: e.RevocationTime}
	}
	t := now()
	var entries []x509.RevocationListEntry
	if s.CRL != nil {
		entries = s.CRL.List.RevokedCertificateEntries
	}
	// A CA without a list yet (a home made before certkit wrote them)
	// gets its first one here.
	for i := range cas {
		if i != signer && cas[i].CRL == nil {
			if cas[i].CRL, err = cas[i].CA.SignCRL(nil, ca.NextNumber(nil), t, opt.CRLValidity); err != nil {
				return nil, err
			}
		}
	}
	number := ca.NextNumber(s.CRL)
	if s.CRL, err = s.CA.SignCRL(append(entries, ca.Entry(leaf.SerialNumber, t, opt.Reason)), number, t, opt.CRLValidity); err != nil {
		return nil, err
	}
	record := filepath.Join(home.RevokedDir(opt.Home, folder), home.RevokedName(opt.Name, serial))
	if atomicfile.Exists(record) {
		return nil, fmt.Errorf("%s already exists", record)
	}
	if err := ca.WriteCRLFiles(ca.PublishFiles(cas), t, atomicfile.File{Path: record, Data: certPEM, Mode: 0o644}); err != nil {
		return nil, err
	}
	// The list and the record are on disk: the pair goes, key first, so
	// that a failure in between leaves no usable pair.
	for _, p := range []string{keyPath, certPath} {
		if err := safefs.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("the certificate is revoked (in %s), but removing %s failed: %w; remove it by hand", s.CRL.Path, p, err)
		}
	}
	var remaining []string
	for _, n := range known {
		if n != opt.Name {
			remaining = append(remaining, n)
		}
	}
	issuer := "ca"
	if signer > 0 {
		issuer = ca.PreviousDir
	}
	return &Revocation{
		Registry: opt.Registry, Name: opt.Name, Serial: serial, Reason: opt.Reason.String(),
		RevokedAt: t.UTC().Truncate(time.Second), NotAfter: leaf.NotAfter.UTC(),
		Record: record, KeyDeleted: keyPath,
		CRL: s.CRL.Path, CRLNumber: number.String(), NextUpdate: s.CRL.List.NextUpdate.UTC(),
		Remaining: remaining, Issuer: issuer,
	}, nil
}

// notIssued explains a name with no pair in the home: revoked before,
// or never issued.
func notIssued(opt RevokeOptions, known, records []string, cas []ca.Signed) error {
	folder := opt.Registry.String()
	for i := len(records) - 1; i >= 0; i-- {
		name, serial, ok := home.ParseRevokedName(records[i])
		if !ok || name != opt.Name {
			continue
		}
		e := &AlreadyRevokedError{Registry: folder, Name: opt.Name, Serial: serial,
			Record: filepath.Join(home.RevokedDir(opt.Home, folder), records[i])}
		for _, s := range cas {
			for _, entry := range listEntries(s.CRL) {
				if serialText(entry.SerialNumber.Bytes()) == serial {
					e.At = entry.RevocationTime
				}
			}
		}
		return e
	}
	e := &UnknownNameError{Registry: folder, Name: opt.Name, Known: known}
	if len(known) == 0 {
		e.Registries, _ = home.Registries(opt.Home)
	}
	return e
}

func listEntries(l *ca.CRL) []x509.RevocationListEntry {
	if l == nil {
		return nil
	}
	return l.List.RevokedCertificateEntries
}

func serialHex(c *x509.Certificate) string { return serialText(c.SerialNumber.Bytes()) }

func serialText(b []byte) string { return hex.EncodeToString(b) }
