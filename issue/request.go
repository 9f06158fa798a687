package issue

import (
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"fmt"
	"path/filepath"
	"time"

	"github.com/cloudflare/cfssl/csr"

	"github.com/certkit/certkit/ca"
	"github.com/certkit/certkit/host"
	"github.com/certkit/certkit/internal/atomicfile"
	"github.com/certkit/certkit/internal/errs"
	"github.com/certkit/certkit/internal/home"
	"github.com/certkit/certkit/internal/shellquote"
)

// The pending requests of a client machine live in its certkit home until
// their certificate comes back:
//
//	pending/<host[:port]>/NAME.key  0600 the key, made here; it never leaves the home
//	                      NAME.csr  0644 the request to carry to the CA machine
//
// certkit install --cert (Accept) moves the key next to its certificate in
// hosts/<host[:port]>/ and removes both.
const (
	PendingDirName = "pending"
	CSRExt         = ".csr"
)

// PendingDir is the folder of a registry's pending requests in the home.
func PendingDir(homeDir, folder string) string {
	return filepath.Join(homeDir, PendingDirName, folder)
}

// RequestOptions describe a key and certificate request to make on a
// client machine, for a client certificate that the CA machine signs.
type RequestOptions struct {
	Home     string
	Registry host.Registry
	Name     string     // file stem and Common Name; default "client"
	KeyType  ca.KeyType // default ecdsa-p256
	Force    bool       // replace a pending request of that name (backups kept)
	Now      func() time.Time
}

// RequestResult is what Request made.
type RequestResult struct {
	Registry  host.Registry
	Name      string
	KeyType   ca.KeyType
	KeyPath   string
	CSRPath   string
	CSR       []byte // PEM
	KeySHA256 string // of the public key (SubjectPublicKeyInfo), as sign shows it
	Backups   []string
}

// Request makes a key and a certificate request for a client certificate
// in the home's pending folder. Nothing else is read or written: the CA
// need not be on this machine.
func Request(opt RequestOptions) (*RequestResult, error) {
	now := time.Now
	if opt.Now != nil {
		now = opt.Now
	}
	if opt.Registry.Name == "" {
		return nil, errs.Input("no registry given", "pass --host, e.g. --host reg.example.com:5000")
	}
	if opt.Name == "" {
		opt.Name = DefaultClientName
	}
	if err := ValidateName(opt.Name); err != nil {
		return nil, err
	}
	if opt.KeyType == "" {
		opt.KeyType = ca.ECDSAP256
	}
	kt, err := ca.ParseKeyType(string(opt.KeyType))
	if err != nil {
		return nil, err
	}
	folder := opt.Registry.String()
	dir := PendingDir(opt.Home, folder)
	res := &RequestResult{
		Registry: opt.Registry, Name: opt.Name, KeyType: kt,
		KeyPath: filepath.Join(dir, opt.Name+home.KeyExt),
		CSRPath: filepath.Join(dir, opt.Name+CSRExt),
	}

	release, err := home.Lock(opt.Home, true)
	if err != nil {
		return nil, err
	}
	failed := true
	defer func() { release(failed) }()
	hostDir := home.HostDir(opt.Home, folder)
	for _, p := range []string{filepath.Join(hostDir, opt.Name+home.CertExt), filepath.Join(hostDir, opt.Name+home.KeyExt)} {
		if atomicfile.Exists(p) {
			return nil, errs.Input(fmt.Sprintf("a client pair %q for %s is already in the certkit home (%s)", opt.Name, folder, p),
				"pick another name: certkit request --host "+shellquote.Quote(folder)+" --name "+shellquote.Quote(opt.Name+"-2"))
		}
	}
	if !opt.Force {
		var existing []string
		for _, p := range []string{res.KeyPath, res.CSRPath} {
			if atomicfile.Exists(p) {
				existing = append(existing, p)
			}
		}
		if len(existing) > 0 {
			return nil, &atomicfile.ExistsError{Paths: existing}
		}
	}

	key, err := ca.GenerateKey(kt)
	if err != nil {
		return nil, err
	}
	csrPEM, err := csr.Generate(key, &csr.CertificateRequest{CN: opt.Name})
	if err != nil {
		return nil, fmt.Errorf("making the certificate request: %s", ca.CfsslMessage(err))
	}
	keyPEM, err := ca.MarshalKey(key)
	if err != nil {
		return nil, err
	}
	if res.KeySHA256, err = KeyFingerprint(key.Public()); err != nil {
		return nil, err
	}
	res.CSR = csrPEM
	w, err := atomicfile.WriteAll([]atomicfile.File{
		{Path: res.KeyPath, Data: keyPEM, Mode: 0o600},
		{Path: res.CSRPath, Data: csrPEM, Mode: 0o644},
	}, atomicfile.Options{Force: opt.Force, Now: now(), DirMode: 0o700})
	if err != nil {
		return nil, err
	}
	res.Backups = w.Backups
	failed = false
	return res, nil
}

// KeyFingerprint is the SHA-256 of a public key's SubjectPublicKeyInfo, as
// `openssl pkey -pubin -outform DER | sha256sum` gives it (in openssl's
// colon form): request, sign and install --cert show it, so that the two
// machines can be compared.
func KeyFingerprint(pub crypto.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", fmt.Errorf("reading the public key: %v", err)
	}
	return ca.FingerprintSum(sha256.Sum256(der)), nil
}
