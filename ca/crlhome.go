package ca

import (
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"path/filepath"
	"time"

	"github.com/certkit/certkit/internal/atomicfile"
	"github.com/certkit/certkit/internal/home"
	"github.com/certkit/certkit/internal/safefs"
)

// PreviousDir is the folder, inside the CA folder, of the previous CA
// during a rotation (see Rotate): its certificate, key and CRL.
const PreviousDir = "previous"

// caFolders are the root folders of a home, relative to it: the CA, then
// the previous one.
var caFolders = []string{"ca", filepath.Join("ca", PreviousDir)}

// Signed is one CA of the home with its CRL as read (nil when it has
// none yet).
type Signed struct {
	CA  *CA
	CRL *CRL
	// Registry names the registry of an issuing CA; "" for a root.
	Registry string
	// Previous is set for the previous root during a rotation, and for
	// its issuing CAs.
	Previous bool
}

// rel is the CA's folder relative to the home.
func (s Signed) rel() string {
	if s.Registry != "" {
		return IssuerRel(s.Registry, s.Previous)
	}
	return caFolders[btoi(s.Previous)]
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// homeCAs lists the CA folders of a home: the root, the previous root
// during a rotation, then the issuing CAs of each (per-registry homes).
func homeCAs(homeDir string) ([]Signed, error) {
	var out []Signed
	for i, rel := range caFolders {
		c, err := loadAt(homeDir, rel)
		if i > 0 && errors.As(err, new(*NotFoundError)) {
			break
		}
		if err != nil {
			return nil, err
		}
		out = append(out, Signed{CA: c, Previous: i > 0})
	}
	roots := len(out)
	d, err := safefs.OpenDir(homeDir)
	if err != nil {
		return nil, err
	}
	var regs [2][]string
	err = d.Do(func(r *safefs.Root) error {
		for i := range roots {
			var err error
			if regs[i], err = issuerFolders(r, caFolders[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for i := range roots {
		for _, reg := range regs[i] {
			c, err := loadAt(homeDir, IssuerRel(reg, i > 0))
			if err != nil {
				return nil, err
			}
			c.Chain, c.Anchor = append([]*x509.Certificate{c.Cert}, out[i].CA.Chain...), out[i].CA.Root()
			out = append(out, Signed{CA: c, Registry: reg, Previous: i > 0})
		}
	}
	return out, nil
}

// LoadAll reads the home's CA and, during a rotation, the previous one,
// then their issuing CAs (per-registry homes), each with its CRL. A CA
// without a CRL file gets a nil CRL; a CRL that cannot be used is a
// *CRLError. The caller holds the home's lock.
func LoadAll(homeDir string) ([]Signed, error) { return loadSigned(homeDir, false) }

// loadSigned reads the home's CAs with their CRLs; lenient leaves out a
// list that cannot be used instead of failing (a rebuild).
func loadSigned(homeDir string, lenient bool) ([]Signed, error) {
	out, err := homeCAs(homeDir)
	if err != nil {
		return nil, err
	}
	d, err := safefs.OpenDir(homeDir)
	if err != nil {
		return nil, err
	}
	err = d.Do(func(r *safefs.Root) error {
		for i := range out {
			l, err := ReadCRL(r, out[i].rel(), out[i].CA.Cert)
			switch {
			case err == nil:
				out[i].CRL = l
			case errors.Is(err, fs.ErrNotExist), lenient && errors.As(err, new(*CRLError)):
			default:
				return err
			}
		}
		return nil
	})
	return out, err
}

// PublishFiles are the files that publish the CRLs of cas (LoadAll's
// order, each CRL signed): each CA's own list in its folder, the
// servers' two files in the CA folder (every root, and the lists of every
// CA), and in a per-registry home each registry's RegistryClientCAs.
func PublishFiles(cas []Signed) []atomicfile.File {
	var others []Trusted
	var files []atomicfile.File
	for _, s := range cas[1:] {
		o := Trusted{}
		if s.Registry == "" {
			o.CertPEM = EncodeCert(s.CA.Cert)
		}
		if s.CRL != nil {
			o.CRLPEM = s.CRL.PEM
			files = append(files, atomicfile.File{Path: filepath.Join(s.CA.Dir, CRLFile), Data: s.CRL.PEM, Mode: 0o644})
		}
		others = append(others, o)
	}
	files = append(CRLFiles(cas[0].CA, cas[0].CRL, others...), files...)
	return append(files, registryFiles(cas)...)
}

// registryFiles are the RegistryClientCAs files of cas: for each registry
// with an issuing CA under the current root, that CA, then the previous
// root's issuing CA of the registry, or the previous root itself when it
// had none (it signed leaves directly).
func registryFiles(cas []Signed) []atomicfile.File {
	var prevRoot *CA
	prevIssuers := map[string]*CA{}
	for _, s := range cas {
		switch {
		case s.Previous && s.Registry == "":
			prevRoot = s.CA
		case s.Previous:
			prevIssuers[s.Registry] = s.CA
		}
	}
	var files []atomicfile.File
	for _, s := range cas {
		if s.Registry == "" || s.Previous {
			continue
		}
		data := EncodeCert(s.CA.Cert)
		if p := prevIssuers[s.Registry]; p != nil {
			data = append(data, EncodeCert(p.Cert)...)
		} else if prevRoot != nil && len(prevIssuers) == 0 {
			data = append(data, EncodeCert(prevRoot.Cert)...)
		}
		files = append(files, atomicfile.File{Path: filepath.Join(s.CA.Dir, ClientCAsFile), Data: data, Mode: 0o644})
	}
	return files
}

// CRLOptions say how to sign the CRLs again.
type CRLOptions struct {
	Home     string
	Validity time.Duration // DefaultCRLValidity when 0
	// Rebuild makes each list again from the records under revoked/
	// (and the old list's entries, when it can be read), instead of
	// refusing a list that cannot be read.
	Rebuild bool
	Now     func() time.Time
}

// CRLResult is what RefreshCRL signed, the home's CA first.
type CRLResult struct {
	CRLs    []*CRL
	Created bool // the CA had no list before
	Rebuilt int  // entries taken from records under revoked/ (Rebuild)
}

// RefreshCRL signs the CRL of the home's CA (and of the previous one,
// during a rotation) again: the same entries, the next CRL number, a new
// nextUpdate. A CA without a list gets an empty one. A list that cannot
// be read is refused (its entries would be lost) unless opt.Rebuild.
func RefreshCRL(opt CRLOptions) (*CRLResult, error) {
	now := time.Now
	if opt.Now != nil {
		now = opt.Now
	}
	release, err := home.Lock(opt.Home, false)
	if err != nil {
		return nil, err
	}
	defer release(false)
	t := now()
	var cas []Signed
	var records map[string][]*x509.Certificate
	if opt.Rebuild {
		if cas, err = loadCAs(opt.Home); err != nil {
			return nil, err
		}
		if records, err = revokedRecords(opt.Home); err != nil {
			return nil, err
		}
	} else if cas, err = LoadAll(opt.Home); err != nil {
		return nil, err
	}
	res := &CRLResult{}
	for i := range cas {
		s := &cas[i]
		var entries []x509.RevocationListEntry
		number := NextNumber(s.CRL)
		if s.CRL != nil {
			entries = s.CRL.List.RevokedCertificateEntries
		} else if i == 0 && !opt.Rebuild {
			res.Created = true
		}
		if opt.Rebuild {
			if s.CRL == nil {
				// The old number is lost: a number from the clock is
				// larger than any count certkit reached before.
				number = big.NewInt(t.Unix())
			}
			for _, c := range recordsOf(records, s.CA.Cert) {
				if _, ok := s.CRL.Entry(c.SerialNumber); !ok {
					entries = append(entries, Entry(c.SerialNumber, t, Unspecified))
					res.Rebuilt++
				}
			}
		}
		if s.CRL, err = s.CA.SignCRL(entries, number, t, opt.Validity); err != nil {
			return nil, err
		}
		res.CRLs = append(res.CRLs, s.CRL)
	}
	if err := WriteCRLFiles(PublishFiles(cas), t); err != nil {
		return nil, err
	}
	return res, nil
}

// loadCAs is LoadAll for a rebuild: each CA's list is read when it can be,
// and left out when it cannot.
func loadCAs(homeDir string) ([]Signed, error) { return loadSigned(homeDir, true) }

// revokedRecords reads every record under revoked/, by registry folder.
func revokedRecords(homeDir string) (map[string][]*x509.Certificate, error) {
	d, err := safefs.OpenDir(homeDir)
	if err != nil {
		return nil, err
	}
	out := map[string][]*x509.Certificate{}
	err = d.Do(func(r *safefs.Root) error {
		regs, err := r.Names("revoked")
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		for _, reg := range regs {
			names, err := r.Names(filepath.Join("revoked", reg))
			if err != nil {
				return err
			}
			for _, n := range names {
				if _, _, ok := home.ParseRevokedName(n); !ok {
					continue
				}
				data, err := r.ReadFile(filepath.Join("revoked", reg, n), 0)
				if err != nil {
					return err
				}
				certs, err := ParseCerts(data)
				if err != nil {
					return fmt.Errorf("%s: %v", r.Join(filepath.Join("revoked", reg, n)), err)
				}
				out[reg] = append(out[reg], certs[0])
			}
		}
		return nil
	})
	return out, err
}

// recordsOf picks the records issued by issuer.
func recordsOf(records map[string][]*x509.Certificate, issuer *x509.Certificate) []*x509.Certificate {
	var out []*x509.Certificate
	for _, certs := range records {
		for _, c := range certs {
			if c.CheckSignatureFrom(issuer) == nil {
				out = append(out, c)
			}
		}
	}
	return out
}

// EnsureCRL gives a home made before certkit wrote CRLs its lists and the
// servers' two files, empty lists for CAs without one, and leaves a home
// that has them as it is. It reports whether it wrote anything.
func EnsureCRL(homeDir string, now time.Time, validity time.Duration) (bool, error) {
	if present(homeDir) {
		return false, nil
	}
	release, err := home.Lock(homeDir, false)
	if err != nil {
		return false, err
	}
	defer release(false)
	if present(homeDir) {
		return false, nil
	}
	cas, err := LoadAll(homeDir)
	if err != nil {
		return false, err
	}
	if err := signMissing(cas, now, validity); err != nil {
		return false, err
	}
	return true, WriteCRLFiles(PublishFiles(cas), now)
}

// present reports whether the CA folder has the servers' files: the CAs,
// and their CRLs unless a CA may not sign one.
func present(homeDir string) bool {
	dir := home.CADir(homeDir)
	if !atomicfile.Exists(filepath.Join(dir, ClientCAsFile)) {
		return false
	}
	if atomicfile.Exists(filepath.Join(dir, ClientCRLsFile)) {
		return true
	}
	for _, rel := range caFolders {
		data, err := safefs.ReadFile(filepath.Join(homeDir, rel, CertFile), 0)
		if err != nil {
			continue
		}
		if certs, err := ParseCerts(data); err == nil && !CanSignCRL(certs[0]) {
			return true
		}
	}
	return false
}

// Published is a CA certificate of the home with its CRL.
type Published struct {
	Cert *x509.Certificate
	CRL  *CRL
}

// ReadLists reads the CRL of the home's CA, of the previous one during a
// rotation, and of their issuing CAs, with their certificates; never a
// key. A CA without a CRL is left out.
func ReadLists(homeDir string) ([]Published, error) {
	d, err := safefs.OpenDir(homeDir)
	if err != nil {
		return nil, err
	}
	var out []Published
	err = d.Do(func(r *safefs.Root) error {
		rels, err := CertFolders(r)
		if err != nil {
			return err
		}
		for _, rel := range rels {
			data, err := r.ReadFile(filepath.Join(rel, CertFile), 0)
			if err != nil {
				return err
			}
			certs, err := ParseCerts(data)
			if err != nil {
				return fmt.Errorf("%s: %v", r.Join(filepath.Join(rel, CertFile)), err)
			}
			l, err := ReadCRL(r, rel, certs[0])
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err != nil {
				return err
			}
			out = append(out, Published{Cert: certs[0], CRL: l})
		}
		return nil
	})
	return out, err
}

// CertFolders lists, relative to the home r, the folders of the home's
// CAs that have a certificate: the root, the previous root, then their
// issuing CAs (LoadAll's order).
func CertFolders(r *safefs.Root) ([]string, error) {
	var roots, out []string
	for _, rel := range caFolders {
		names, err := r.Names(rel)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		for _, n := range names {
			if n == CertFile {
				roots = append(roots, rel)
			}
		}
	}
	out = append(out, roots...)
	for _, rel := range roots {
		regs, err := issuerFolders(r, rel)
		if err != nil {
			return nil, err
		}
		for _, reg := range regs {
			out = append(out, filepath.Join(rel, RegistriesDir, reg))
		}
	}
	return out, nil
}

// RevokedAt says whether lists revoke c, and when.
func RevokedAt(lists []Published, c *x509.Certificate) (time.Time, bool) {
	for _, p := range lists {
		if c.CheckSignatureFrom(p.Cert) != nil {
			continue
		}
		if e, ok := p.CRL.Entry(c.SerialNumber); ok {
			return e.RevocationTime, true
		}
	}
	return time.Time{}, false
}

// signMissing gives each CA of cas that may sign CRLs and has none an
// empty first list, valid for validity (DefaultCRLValidity when 0).
func signMissing(cas []Signed, now time.Time, validity time.Duration) error {
	for i := range cas {
		if cas[i].CRL == nil && CanSignCRL(cas[i].CA.Cert) {
			var err error
			if cas[i].CRL, err = cas[i].CA.SignCRL(nil, big.NewInt(1), now, validity); err != nil {
				return err
			}
		}
	}
	return nil
}
