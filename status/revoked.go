package status

import (
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"path/filepath"
	"strings"
	"time"

	"github.com/certkit/certkit/ca"
	"github.com/certkit/certkit/internal/home"
	"github.com/certkit/certkit/internal/safefs"
)

// Revoked is the state of a certs.d copy whose serial is in its CA's CRL.
const Revoked State = "revoked"

// MaxCRLWindow bounds how long before its nextUpdate a CRL is reported
// as due to be signed again (a third of its validity, at most this).
const MaxCRLWindow = 10 * 24 * time.Hour

// CRLInfo is one CA's revocation list in the home.
type CRLInfo struct {
	Path       string    `json:"path"`
	Issuer     string    `json:"issuer"` // the CA's subject
	Previous   bool      `json:"previous,omitempty"`
	Number     string    `json:"number"`
	ThisUpdate time.Time `json:"this_update"`
	NextUpdate time.Time `json:"next_update"`
	DaysLeft   int       `json:"days_left"`
	WindowDays float64   `json:"window_days"`
	Revoked    int       `json:"revoked"`
	// State: ok; renew, inside its window (sign it again: certkit crl);
	// expired, past its nextUpdate (nginx and Apache refuse every client).
	State State `json:"state"`
}

// RevokedCert is a certificate revoked from the home, kept for the record
// under revoked/.
type RevokedCert struct {
	Registry  string    `json:"registry"`
	Name      string    `json:"name"`
	Serial    string    `json:"serial"`
	Path      string    `json:"path"`
	NotAfter  time.Time `json:"not_after"`
	RevokedAt time.Time `json:"revoked_at,omitzero"`
	// Listed: the serial is in its CA's CRL (false: the CRL lost it, and
	// certkit crl --rebuild puts it back).
	Listed bool `json:"listed"`
}

// revocation is what status reads of the home's CRLs.
type revocation struct {
	cas  []*x509.Certificate
	crls []*ca.CRL // by cas, nil where a CA has none
	// listed: by cas, when each serial of the CA's CRL was revoked (the
	// first entry of a serial, as ca.CRL.Entry finds it).
	listed []map[string]time.Time
	some   bool // a CRL lists a serial
}

// add records the CA issuer and its CRL l (nil: none).
func (v *revocation) add(issuer *x509.Certificate, l *ca.CRL) {
	listed := map[string]time.Time{}
	if l != nil && l.List != nil {
		for _, e := range l.List.RevokedCertificateEntries {
			k := serialKey(e.SerialNumber)
			if _, ok := listed[k]; !ok {
				listed[k] = e.RevocationTime
			}
		}
	}
	v.cas = append(v.cas, issuer)
	v.crls = append(v.crls, l)
	v.listed = append(v.listed, listed)
	v.some = v.some || len(listed) > 0
}

// serialKey is a serial number as a map key: its sign and magnitude.
func serialKey(n *big.Int) string {
	if n == nil {
		return ""
	}
	return string(rune('0'+n.Sign()+1)) + string(n.Bytes())
}

// revokedAt returns when c was revoked, if a CRL of its CA lists it. The
// serial is looked up first: the signature, checked with issued, only for
// a serial that a CRL lists (a few, against every copy in every root).
func (v *revocation) revokedAt(c *Cert, issued func(c, ca *x509.Certificate) bool) (time.Time, bool) {
	if v == nil || !v.some || c == nil || c.serial == nil {
		return time.Time{}, false
	}
	k := serialKey(c.serial)
	for i, issuer := range v.cas {
		at, ok := v.listed[i][k]
		if !ok || !issued(c.x509(), issuer) {
			continue
		}
		return at, true
	}
	return time.Time{}, false
}

// readRevocation reads the CRL of the home's CA (and of the previous one
// during a rotation, and of their registries' issuing CAs) and the records
// under revoked/.
func (r *Report) readRevocation(homeDir string) *revocation {
	v := &revocation{}
	d, err := safefs.OpenDir(homeDir)
	if err != nil {
		return nil
	}
	err = d.Do(func(root *safefs.Root) error {
		rels, err := ca.CertFolders(root)
		if err != nil {
			return err
		}
		prevRel := filepath.Join("ca", ca.PreviousDir)
		for _, rel := range rels {
			data, err := root.ReadFile(filepath.Join(rel, ca.CertFile), 0)
			if err != nil {
				return err
			}
			certs, err := ca.ParseCerts(data)
			if err != nil {
				continue // the CA's own line reports it
			}
			l, err := ca.ReadCRL(root, rel, certs[0])
			switch {
			case errors.Is(err, fs.ErrNotExist):
				// A home made before certkit wrote CRLs: certkit crl or
				// certkit template writes one.
			case err != nil:
				r.Problems = append(r.Problems, err.Error())
			default:
				r.CRLs = append(r.CRLs, r.crlInfo(l, rel == prevRel || strings.HasPrefix(rel, prevRel+string(filepath.Separator))))
			}
			v.add(certs[0], l)
		}
		regs, err := root.Names("revoked")
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		for _, reg := range regs {
			names, err := root.Names(filepath.Join("revoked", reg))
			if err != nil {
				continue
			}
			for _, n := range names {
				name, _, ok := home.ParseRevokedName(n)
				if !ok {
					continue
				}
				c, err := readCert(root, filepath.Join("revoked", reg, n), Cert{})
				if err != nil {
					r.Problems = append(r.Problems, err.Error())
					continue
				}
				rc := RevokedCert{Registry: reg, Name: name, Serial: c.Serial, Path: c.Path, NotAfter: c.NotAfter}
				rc.RevokedAt, rc.Listed = v.revokedAt(&c, r.issuedBy)
				r.Revoked = append(r.Revoked, rc)
			}
		}
		return nil
	})
	if err != nil {
		r.Problems = append(r.Problems, fmt.Sprintf("%s: %v", homeDir, err))
	}
	return v
}

// crlInfo judges a CRL by its nextUpdate: due inside a third of its
// validity (at most MaxCRLWindow), expired past it.
func (r *Report) crlInfo(l *ca.CRL, previous bool) CRLInfo {
	x := l.List
	w := min(x.NextUpdate.Sub(x.ThisUpdate)/3, MaxCRLWindow)
	left := x.NextUpdate.Sub(r.Now)
	info := CRLInfo{Path: l.Path, Issuer: x.Issuer.String(), Previous: previous, ThisUpdate: x.ThisUpdate.UTC(), NextUpdate: x.NextUpdate.UTC(),
		DaysLeft: int(left.Hours() / 24), WindowDays: w.Hours() / 24, Revoked: len(x.RevokedCertificateEntries), State: OK}
	if x.Number != nil {
		info.Number = x.Number.String()
	}
	switch {
	case left <= 0:
		info.State = Expired
		if info.DaysLeft == 0 || float64(info.DaysLeft) != left.Hours()/24 {
			info.DaysLeft--
		}
	case left < w:
		info.State = Renew
	}
	return info
}
