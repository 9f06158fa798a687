// Package ca creates, imports and loads certkit's private certificate
// authority. Together with package issue it is the only code that calls
// cfssl.
package ca

import (
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/certkit/certkit/internal/safefs"

	"github.com/cloudflare/cfssl/csr"

	"github.com/certkit/certkit/internal/atomicfile"
	"github.com/certkit/certkit/internal/errs"
	"github.com/certkit/certkit/internal/home"
)

// File names inside the CA folder.
const (
	CertFile = "ca.crt"
	KeyFile  = "ca.key"
)

// DefaultValidity is ten years.
const DefaultValidity = 10 * 365 * 24 * time.Hour

// Backdate is how far NotBefore lies in the past, for clocks that lag.
const Backdate = 5 * time.Minute

// CA is a loaded certificate authority.
type CA struct {
	Cert    *x509.Certificate
	CertPEM []byte
	Key     crypto.Signer
	Dir     string
	// Chain is what a leaf this CA signs carries after itself, up to the
	// root (not included): the CA itself when it is a registry's issuing
	// CA (see Issuer) or an imported intermediate CA, with the CAs above
	// it; nothing for a root.
	Chain []*x509.Certificate
	// Anchor is the root the chain leads to, when it is not the CA
	// itself (an imported intermediate CA, its issuing CAs): what the
	// certs.d folders trust.
	Anchor *x509.Certificate
}

// Root is the self-signed CA the certificates c signs lead to.
func (c *CA) Root() *x509.Certificate {
	if c.Anchor != nil {
		return c.Anchor
	}
	if len(c.Chain) == 0 {
		return c.Cert
	}
	return nil
}

// ChainPEM is Chain as PEM.
func (c *CA) ChainPEM() []byte { return EncodeCerts(c.Chain) }

// CertPath is the path of the CA certificate.
func (c *CA) CertPath() string { return filepath.Join(c.Dir, CertFile) }

// KeyPath is the path of the CA key.
func (c *CA) KeyPath() string { return filepath.Join(c.Dir, KeyFile) }

// Options for Create.
type Options struct {
	Home     string
	CN       string // default: "certkit CA <machine> <random tag>"
	Org      string // default: "certkit"
	KeyType  KeyType
	Validity time.Duration // default DefaultValidity
	Force    bool
	Machine  string           // the machine name used in the default CN
	Now      func() time.Time // default time.Now
	// PerRegistry makes a root that signs one issuing CA per registry
	// (path length 1, see Issuer) and marks the home so.
	PerRegistry bool
}

// Result is what Create and Import made.
type Result struct {
	CA      *CA
	Backups []string // the replaced pair, when forced
	// PerRegistry reports a per-registry home.
	PerRegistry bool
	// Warnings say what limits an imported CA.
	Warnings []string
	// Written lists every file written: the pair, and the CRL files.
	Written []string
}

// NotFoundError reports a home without a CA.
type NotFoundError struct {
	Dir   string
	Flags string // the run's flags the hint's command carries (" --home DIR")
}

func (e *NotFoundError) Error() string { return "no CA in " + e.Dir }

// Hint names the command that makes one.
func (e *NotFoundError) Hint() string {
	return "create one with: certkit init-ca" + e.Flags + " (or adopt one with --import-cert/--import-key)"
}

// DefaultCN is a CA name unique to this CA. Clients choose which client
// certificate to send by the issuer names the server accepts, so two CAs
// with one name (a rotation, staging beside production) would make Docker
// send the wrong pair.
func DefaultCN(machine string) (string, error) {
	tag := make([]byte, 4)
	if _, err := rand.Read(tag); err != nil {
		return "", err
	}
	if machine == "" {
		machine = "localhost"
	}
	return fmt.Sprintf("certkit CA %s %s", machine, hex.EncodeToString(tag)), nil
}

// prepare fills opt's defaults (ECDSA P-256, DefaultValidity) and checks
// it, before any key is made; it returns the time the CA is made at and
// its notAfter.
func (opt *Options) prepare() (t, notAfter time.Time, err error) {
	now := time.Now
	if opt.Now != nil {
		now = opt.Now
	}
	if opt.KeyType == "" {
		opt.KeyType = ECDSAP256
	}
	if _, err := ParseKeyType(string(opt.KeyType)); err != nil {
		return t, notAfter, err
	}
	if opt.Validity == 0 {
		opt.Validity = DefaultValidity
	}
	if opt.Validity < 0 {
		return t, notAfter, errs.Input("validity must be positive", "")
	}
	t = now()
	notAfter, err = CheckNotAfter(t, opt.Validity)
	return t, notAfter, err
}

// Create makes a new CA in the home. Nothing is written unless everything
// succeeds.
func Create(opt Options) (*Result, error) {
	t, notAfter, err := opt.prepare()
	if err != nil {
		return nil, err
	}
	dir := home.CADir(opt.Home)
	if err := checkWritable(opt.Home); err != nil {
		return nil, err
	}
	if !opt.Force {
		if err := refuseExisting(dir); err != nil {
			return nil, err
		}
	} else if prev := Rotating(opt.Home); prev != nil {
		return nil, &RotatingError{Previous: prev.Subject.CommonName, Command: "init-ca --force"}
	}
	c, err := build(opt, dir, t, notAfter)
	if err != nil {
		return nil, err
	}
	written, backups, err := lockedWrite(opt.Home, c, opt.Force, opt.PerRegistry, t)
	if err != nil {
		return nil, err
	}
	return &Result{CA: c, Backups: backups, Written: written, PerRegistry: opt.PerRegistry}, nil
}

// build makes a new CA certificate and key for opt, without writing them.
func build(opt Options, dir string, t, notAfter time.Time) (*CA, error) {
	var err error
	if opt.CN == "" {
		if opt.CN, err = DefaultCN(opt.Machine); err != nil {
			return nil, err
		}
	}
	if opt.Org == "" {
		opt.Org = "certkit"
	}

	key, err := GenerateKey(opt.KeyType)
	if err != nil {
		return nil, err
	}
	req := &csr.CertificateRequest{
		CN:    opt.CN,
		Names: []csr.Name{{O: opt.Org}},
		CA:    &csr.CAConfig{PathLength: 0, PathLenZero: true},
	}
	csrPEM, err := csr.Generate(key, req)
	if err != nil {
		return nil, fmt.Errorf("making the CA request: %v", cfsslMessage(err))
	}
	s, err := NewSigner(key, nil, map[string]Profile{"ca": {
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		CA:       true,
		PathLen:  btoi(opt.PerRegistry),
	}})
	if err != nil {
		return nil, fmt.Errorf("making the CA signer: %v", err)
	}
	der, certPEM, err := s.Sign(SignRequest{
		CSR:       csrPEM,
		Profile:   "ca",
		NotBefore: t.Add(-Backdate).Truncate(time.Second),
		NotAfter:  notAfter.Truncate(time.Second),
	})
	if err != nil {
		return nil, fmt.Errorf("signing the CA certificate: %v", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &CA{Cert: cert, CertPEM: certPEM, Key: key, Dir: dir}, nil
}

// Load reads the CA of a home, through safefs: inside the home (no link
// leads out of it), bounded, and as root under sudo with the rights of
// the user who owns the home.
func Load(homeDir string) (*CA, error) { return loadAt(homeDir, "ca") }

// loadAt reads the CA of the folder rel of the home: "ca", or the
// previous CA's folder during a rotation.
func loadAt(homeDir, rel string) (*CA, error) {
	dir := filepath.Join(homeDir, rel)
	var certPEM, keyPEM, chainPEM []byte
	hd, err := safefs.OpenDir(homeDir)
	if err == nil {
		err = hd.Do(func(r *safefs.Root) error {
			var err error
			if certPEM, err = r.ReadFile(filepath.Join(rel, CertFile), 0); err != nil {
				return err
			}
			if keyPEM, err = r.ReadFile(filepath.Join(rel, KeyFile), 0); err != nil {
				return fmt.Errorf("reading the CA key: %w", err)
			}
			// An imported intermediate CA: the CAs above it and the root.
			if chainPEM, err = r.ReadFile(filepath.Join(rel, ChainFile), 0); errors.Is(err, fs.ErrNotExist) {
				chainPEM, err = nil, nil
			}
			return err
		})
	}
	if errors.Is(err, fs.ErrNotExist) && certPEM == nil {
		return nil, &NotFoundError{Dir: dir}
	}
	if errors.Is(err, fs.ErrNotExist) && atomicfile.Exists(filepath.Join(dir, SignerFile)) {
		return nil, &RemoteHomeError{Dir: homeDir}
	}
	if err != nil {
		return nil, err
	}
	certs, err := ParseCerts(certPEM)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", filepath.Join(dir, CertFile), err)
	}
	key, err := ParseKey(keyPEM)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", filepath.Join(dir, KeyFile), err)
	}
	if !KeyMatches(certs[0].PublicKey, key) {
		return nil, fmt.Errorf("%s does not belong to %s", filepath.Join(dir, KeyFile), filepath.Join(dir, CertFile))
	}
	c := &CA{Cert: certs[0], CertPEM: certPEM, Key: key, Dir: dir}
	if chainPEM != nil {
		if err := loadChain(c, chainPEM, chainPath(dir)); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// lockedWrite writes the CA under the home's lock, and checks again, under
// it, that no CA appeared meanwhile (the key was made before the lock was
// taken, so that a slow RSA key does not hold it).
func lockedWrite(homeDir string, c *CA, force, perRegistry bool, now time.Time) (written, backups []string, err error) {
	release, err := home.Lock(homeDir, true)
	if err != nil {
		return nil, nil, err
	}
	defer func() { release(err != nil) }()
	if !force {
		if err := refuseExisting(c.Dir); err != nil {
			return nil, nil, err
		}
	}
	return write(homeDir, c, force, perRegistry, now)
}

func write(homeDir string, c *CA, force, perRegistry bool, now time.Time) (written, backups []string, err error) {
	// A new CA starts with an empty CRL, so that a server configuration
	// rendered now (which names the list) still works after a revocation.
	// (An imported CA whose key usage forbids CRLs gets none; revoking
	// under it is refused with the reason.)
	files, err := c.pairFiles()
	if err != nil {
		return nil, nil, err
	}
	var crl *CRL
	if CanSignCRL(c.Cert) {
		if crl, err = c.SignCRL(nil, big.NewInt(1), now, DefaultCRLValidity); err != nil {
			return nil, nil, err
		}
	}
	files = append(files, CRLFiles(c, crl)...)
	if c.Anchor != nil {
		files = append(files, atomicfile.File{Path: chainPath(c.Dir), Data: chainFile(c), Mode: 0o644})
	} else if force {
		// The replaced CA's chain is not the new one's.
		if err := safefs.Remove(chainPath(c.Dir)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, nil, err
		}
	}
	if perRegistry {
		files = append(files, markerFile(homeDir))
	}
	// A replaced CA's issuing CAs go with it, kept as a backup like its
	// pair; without them the home is per-registry only if asked again.
	var moved []string
	if force {
		if moved, err = retireIssuers(homeDir, perRegistry, now); err != nil {
			return nil, nil, err
		}
	}
	res, err := atomicfile.WriteAll(files, atomicfile.Options{Force: force, Now: now, DirMode: 0o700})
	if err != nil {
		for _, m := range moved {
			_ = safefs.Rename(m, filepath.Join(home.CADir(homeDir), RegistriesDir))
		}
		return nil, nil, err
	}
	res.Backups = append(res.Backups, moved...)
	// The old lists went with the old CA; its certificate and key are the
	// backups that matter.
	if res.Backups, err = dropCRLBackups(res.Backups); err != nil {
		return nil, nil, err
	}
	// The CA folder must stay private even if it existed with looser modes.
	d, err := safefs.OpenDir(filepath.Dir(c.Dir))
	if err == nil {
		err = d.Do(func(r *safefs.Root) error { return r.Chmod(filepath.Base(c.Dir), 0o700) })
	}
	if err != nil {
		return nil, nil, err
	}
	return res.Written, res.Backups, nil
}

func refuseExisting(dir string) error {
	var found []string
	for _, name := range []string{CertFile, KeyFile} {
		if p := filepath.Join(dir, name); atomicfile.Exists(p) {
			found = append(found, p)
		}
	}
	if len(found) > 0 {
		return &ExistsError{Dir: dir}
	}
	return nil
}

// ExistsError reports a CA that is already there.
type ExistsError struct{ Dir string }

func (e *ExistsError) Error() string { return "a CA already exists in " + e.Dir }

// Hint says how to replace it, and what that costs.
func (e *ExistsError) Hint() string {
	return "nothing was changed; pass --force to replace it (the old pair is kept as a .bak- backup, and certificates it issued stop being trusted)"
}

// checkWritable fails early, before any key is made, when the home cannot
// be created or written.
func checkWritable(dir string) error {
	d := dir
	for {
		fi, err := os.Stat(d)
		if err == nil {
			if !fi.IsDir() {
				return errs.Input(fmt.Sprintf("certkit home %s is not writable: %s is not a folder", dir, d), "pass another folder with --home or CERTKIT_HOME")
			}
			break
		}
		if !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR) {
			return errs.Input(fmt.Sprintf("certkit home %s is not usable: %v", dir, err), "pass another folder with --home or CERTKIT_HOME")
		}
		parent := filepath.Dir(d)
		if parent == d {
			break
		}
		d = parent
	}
	if err := accessWrite(d); err != nil {
		return errs.Input(fmt.Sprintf("certkit home %s is not writable: %v", dir, err), "pass another folder with --home or CERTKIT_HOME, or fix the folder's permissions")
	}
	return nil
}

// pairFiles are the files of c's key (0600) and certificate (0644) in its
// folder.
func (c *CA) pairFiles() ([]atomicfile.File, error) {
	keyPEM, err := MarshalKey(c.Key)
	if err != nil {
		return nil, err
	}
	return []atomicfile.File{
		{Path: c.KeyPath(), Data: keyPEM, Mode: 0o600},
		{Path: c.CertPath(), Data: EncodeCert(c.Cert), Mode: 0o644},
	}, nil
}
