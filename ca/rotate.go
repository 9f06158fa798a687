package ca

import (
	"crypto/x509"
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
	"github.com/certkit/certkit/internal/home"
	"github.com/certkit/certkit/internal/safefs"
)

// RetiredDir holds, inside the CA folder, the CAs a finished rotation
// retired: retired/<time>/ca.crt and ca.crl, for the record (their keys
// are deleted).
const RetiredDir = "retired"

// RotatingError reports a rotation under way where a new one, or a new
// CA, was asked for.
type RotatingError struct {
	Previous string // the previous CA's common name
	Command  string // what was asked: "rotate-ca", "init-ca --force"
}

func (e *RotatingError) Error() string {
	return fmt.Sprintf("a CA rotation is under way: the previous CA %q is still trusted beside the new one, so %s would leave a third", e.Previous, e.Command)
}

// Hint names the way forward.
func (e *RotatingError) Hint() string {
	return "nothing was changed; finish this rotation first: certkit renew (re-issues what the previous CA issued), then certkit rotate-ca --finish"
}

// InputError makes the CLI exit 2.
func (e *RotatingError) InputError() bool { return true }

// NotRotatingError reports --finish with no rotation under way.
type NotRotatingError struct{ Dir string }

func (e *NotRotatingError) Error() string {
	return "no CA rotation is under way in " + e.Dir + ": there is no previous CA to retire"
}

// Hint says how one starts.
func (e *NotRotatingError) Hint() string { return "start one with: certkit rotate-ca" }

// InputError makes the CLI exit 2.
func (e *NotRotatingError) InputError() bool { return true }

// StillIssuedError reports leaves of the previous CA that the home still
// holds: retiring it would leave them untrusted.
type StillIssuedError struct {
	Leaves []string // "registry name" (name: server or the client name)
}

func (e *StillIssuedError) Error() string {
	return fmt.Sprintf("the certkit home still holds %d certificate(s) of the previous CA: %s; retiring it now would cut them off", len(e.Leaves), strings.Join(e.Leaves, ", "))
}

// Hint says how to move them.
func (e *StillIssuedError) Hint() string {
	return "nothing was changed; issue them again under the new CA and install them: certkit renew --install (status lists them as previous-ca), then restart or reload the servers and run certkit rotate-ca --finish again"
}

// RotateResult is what Rotate made.
type RotateResult struct {
	CA       *CA // the new CA
	Previous *CA // the CA it replaced, now in ca/previous
	Written  []string
}

// Rotating returns the previous CA's certificate when a rotation is under
// way in the home, or nil.
func Rotating(homeDir string) *x509.Certificate {
	data, err := safefs.ReadFile(filepath.Join(home.CADir(homeDir), PreviousDir, CertFile), 0)
	if err != nil {
		return nil
	}
	certs, err := ParseCerts(data)
	if err != nil {
		return nil
	}
	return certs[0]
}

// Rotate makes a new CA with opt (as Create does) and keeps the current
// one, with its key and CRL, in ca/previous: from now on certkit issues
// under the new CA, and the servers and clients trust both
// (ClientCAsFile, ClientCRLsFile; install puts both into certs.d) until
// FinishRotation retires the previous one. One rotation at a time.
func Rotate(opt Options) (*RotateResult, error) {
	t, notAfter, err := opt.prepare()
	if err != nil {
		return nil, err
	}
	if prev := Rotating(opt.Home); prev != nil {
		return nil, &RotatingError{Previous: prev.Subject.CommonName, Command: "another rotation"}
	}
	// The new key is made before the lock is taken, as Create does.
	dir := home.CADir(opt.Home)
	c, err := build(opt, dir, t, notAfter)
	if err != nil {
		return nil, err
	}
	return rotateTo(opt.Home, c, opt.PerRegistry, t)
}

// RotateImport is Rotate with an existing CA as the new one (rotate-ca
// --import-cert), checked as Import checks it.
func RotateImport(certPEM, keyPEM []byte, opt ImportOptions) (*RotateResult, []string, error) {
	if prev := Rotating(opt.Home); prev != nil {
		return nil, nil, &RotatingError{Previous: prev.Subject.CommonName, Command: "another rotation"}
	}
	c, perRegistry, warnings, t, err := prepareImport(certPEM, keyPEM, opt)
	if err != nil {
		return nil, nil, err
	}
	if PerRegistry(opt.Home) && !perRegistry {
		return nil, nil, errs.Input(fmt.Sprintf("this certkit home gives each registry its own issuing CA, and %q may not sign issuing CAs (its path length is 0)", c.Cert.Subject.CommonName),
			"import a CA whose path length allows issuing CAs")
	}
	res, err := rotateTo(opt.Home, c, perRegistry, t)
	return res, warnings, err
}

// rotateTo makes c, new and not yet written, the home's CA, and the
// current one the previous.
func rotateTo(homeDir string, c *CA, perRegistry bool, t time.Time) (*RotateResult, error) {
	dir := home.CADir(homeDir)
	release, err := home.Lock(homeDir, false)
	if err != nil {
		return nil, err
	}
	defer release(false)
	if prev := Rotating(homeDir); prev != nil {
		return nil, &RotatingError{Previous: prev.Subject.CommonName, Command: "another rotation"}
	}
	cas, err := LoadAll(homeDir)
	if err != nil {
		return nil, err
	}
	old := cas[0]
	if old.CA.Cert.Subject.String() == c.Cert.Subject.String() {
		return nil, errs.Input(fmt.Sprintf("the new CA would have the name of the current one, %q", c.Cert.Subject.String()),
			"drop --cn (the default name is unique), or give another: clients pick their certificate by the CA's name")
	}
	if PerRegistry(homeDir) && !perRegistry {
		return nil, errs.Input("this certkit home gives each registry its own issuing CA, and the new CA would sign every registry's certificates itself",
			"drop --per-registry=false: the new CA gets an issuing CA for each registry too")
	}
	var files []atomicfile.File
	publish := []Signed{{CA: c}}
	var moved []Signed
	if err := signMissing(cas, t, DefaultCRLValidity); err != nil {
		return nil, err
	}
	for _, s := range cas {
		// The current CAs become the previous ones: their keys, certificates
		// and lists move to ca/previous.
		s.Previous = true
		s.CA.Dir = filepath.Join(homeDir, s.rel())
		if s.CRL != nil {
			s.CRL.Path = filepath.Join(s.CA.Dir, CRLFile)
		}
		pair, err := s.CA.pairFiles()
		if err != nil {
			return nil, err
		}
		files = append(files, pair...)
		if s.Registry == "" && s.CA.Anchor != nil {
			// An imported intermediate CA's chain goes with it.
			files = append(files, atomicfile.File{Path: chainPath(s.CA.Dir), Data: chainFile(s.CA), Mode: 0o644})
		}
		moved = append(moved, s)
	}
	if publish[0].CRL, err = c.SignCRL(nil, big.NewInt(1), t, DefaultCRLValidity); err != nil {
		return nil, err
	}
	pair, err := c.pairFiles()
	if err != nil {
		return nil, err
	}
	files = append(files, pair...)
	if c.Anchor != nil {
		files = append(files, atomicfile.File{Path: chainPath(dir), Data: chainFile(c), Mode: 0o644})
	}
	if perRegistry {
		files = append(files, markerFile(homeDir))
		// Each registry with an issuing CA gets a new one under the new
		// root, at once: its servers then trust both from the start.
		for _, s := range cas[1:] {
			if s.Registry == "" {
				continue
			}
			n, err := newIssuer(c, s.Registry, filepath.Join(homeDir, IssuerRel(s.Registry, false)), t)
			if err != nil {
				return nil, err
			}
			pair, err := n.pairFiles()
			if err != nil {
				return nil, err
			}
			files = append(files, pair...)
			ns := Signed{CA: n, Registry: s.Registry}
			if ns.CRL, err = n.SignCRL(nil, big.NewInt(1), t, DefaultCRLValidity); err != nil {
				return nil, err
			}
			publish = append(publish, ns)
		}
	}
	// LoadAll's order: the roots, then the issuing CAs.
	all := append([]Signed{publish[0], moved[0]}, publish[1:]...)
	all = append(all, moved[1:]...)
	files = append(files, PublishFiles(all)...)
	res, err := atomicfile.WriteAll(files, atomicfile.Options{Force: true, Now: t, DirMode: 0o700})
	if err != nil {
		return nil, err
	}
	// The replaced keys and certificates are in ca/previous: their backups
	// would be a second copy of the old keys. A new root has no chain:
	// the previous one's, kept beside it, is not its own.
	stale := res.Backups
	if c.Anchor == nil {
		stale = append(stale, chainPath(dir))
	}
	for _, b := range stale {
		if err := safefs.Remove(b); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	old = moved[0]
	return &RotateResult{CA: c, Previous: old.CA, Written: res.Written}, nil
}

// FinishOptions for FinishRotation.
type FinishOptions struct {
	Home string
	Now  func() time.Time
}

// FinishResult is what FinishRotation did.
type FinishResult struct {
	CA      *CA               // the CA that stays
	Retired *x509.Certificate // the previous CA
	Record  string            // its folder under ca/retired
}

// FinishRotation retires the previous CA, once the home holds no leaf it
// issued: its certificate and CRL go to ca/retired/<time>/ for the
// record, its key is deleted, and the servers' files trust the new CA
// alone (the next install takes the previous CA out of certs.d).
func FinishRotation(opt FinishOptions) (*FinishResult, error) {
	now := time.Now
	if opt.Now != nil {
		now = opt.Now
	}
	release, err := home.Lock(opt.Home, false)
	if err != nil {
		return nil, err
	}
	defer release(false)
	dir := home.CADir(opt.Home)
	prevCert := Rotating(opt.Home)
	if prevCert == nil {
		return nil, &NotRotatingError{Dir: dir}
	}
	cas, err := LoadAll(opt.Home)
	if err != nil {
		return nil, err
	}
	var keep, retire []Signed
	for _, s := range cas {
		if s.Previous {
			retire = append(retire, s)
		} else {
			keep = append(keep, s)
		}
	}
	if len(retire) == 0 || retire[0].Registry != "" {
		return nil, &NotRotatingError{Dir: dir}
	}
	var issuers []*x509.Certificate
	for _, s := range retire {
		issuers = append(issuers, s.CA.Cert)
	}
	leaves, err := issuedBy(opt.Home, issuers)
	if err != nil {
		return nil, err
	}
	if len(leaves) > 0 {
		return nil, &StillIssuedError{Leaves: leaves}
	}
	t := now()
	cur, prev := keep[0], retire[0]
	if err := signMissing(keep, t, DefaultCRLValidity); err != nil {
		return nil, err
	}
	record := filepath.Join(dir, RetiredDir, t.UTC().Format("20060102T150405Z"))
	var files []atomicfile.File
	for _, s := range retire {
		to := record
		if s.Registry != "" {
			to = filepath.Join(record, RegistriesDir, s.Registry)
		}
		files = append(files, atomicfile.File{Path: filepath.Join(to, CertFile), Data: EncodeCert(s.CA.Cert), Mode: 0o644})
		if s.CRL != nil {
			files = append(files, atomicfile.File{Path: filepath.Join(to, CRLFile), Data: s.CRL.PEM, Mode: 0o644})
		}
	}
	files = append(files, PublishFiles(keep)...)
	if err := WriteCRLFiles(files, t); err != nil {
		return nil, err
	}
	// The record and the servers' files are written: the previous CAs'
	// folders go, each key first.
	for i := len(retire) - 1; i >= 0; i-- {
		d := retire[i].CA.Dir
		for _, n := range []string{KeyFile, CertFile, CRLFile, ClientCAsFile, ClientCRLsFile, ChainFile} {
			if err := safefs.Remove(filepath.Join(d, n)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("the previous CA is retired (recorded in %s), but removing %s failed: %w", record, filepath.Join(d, n), err)
			}
		}
		if err := safefs.Remove(d); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		if retire[i].Registry != "" && i == 1 {
			if err := safefs.Remove(filepath.Dir(d)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return nil, err
			}
		}
	}
	return &FinishResult{CA: cur.CA, Retired: prev.CA.Cert, Record: record}, nil
}

// issuedBy lists the leaves of the home that one of issuers signed, as
// "registry name".
func issuedBy(homeDir string, issuers []*x509.Certificate) ([]string, error) {
	d, err := safefs.OpenDir(homeDir)
	if err != nil {
		return nil, err
	}
	var out []string
	err = d.Do(func(r *safefs.Root) error {
		regs, err := r.Names("hosts")
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		for _, reg := range regs {
			names, err := r.Names(filepath.Join("hosts", reg))
			if err != nil {
				continue
			}
			leaves := home.PairNamesOf(names)
			for _, n := range names {
				if n == home.ServerCert {
					leaves = append(leaves, "server")
				}
			}
			for _, n := range leaves {
				file := n + home.CertExt
				if n == "server" {
					file = home.ServerCert
				}
				data, err := r.ReadFile(filepath.Join("hosts", reg, file), 0)
				if err != nil {
					return err
				}
				certs, err := ParseCerts(data)
				if err != nil {
					return fmt.Errorf("%s: %v", r.Join(filepath.Join("hosts", reg, file)), err)
				}
				for _, issuer := range issuers {
					if certs[0].CheckSignatureFrom(issuer) == nil {
						out = append(out, reg+" "+n)
						break
					}
				}
			}
		}
		return nil
	})
	sort.Strings(out)
	return out, err
}
