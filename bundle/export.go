package bundle

import (
	"crypto/x509"
	"errors"
	"time"

	pkcs12 "software.sslmate.com/src/go-pkcs12"

	"github.com/certkit/certkit/ca"
	"github.com/certkit/certkit/host"
	"github.com/certkit/certkit/install"
	"github.com/certkit/certkit/internal/atomicfile"
	"github.com/certkit/certkit/internal/errs"
)

// FileMode is the mode of a bundle and of a PKCS #12 file: both hold a
// private key.
const FileMode = 0o600

// ExportOptions say which pair to export, and where.
type ExportOptions struct {
	Home     string
	Registry host.Registry
	Name     string // the client pair; "" for the registry's only one
	Out      string // the bundle file, or ""
	P12      string // the PKCS #12 file, or ""
	// Password encrypts the PKCS #12 file; required with P12.
	Password string
	// Legacy encrypts the PKCS #12 file with 3DES and a SHA-1 MAC, for
	// Windows before 10 1709, older macOS and Java 8, instead of AES-256
	// with PBKDF2 and a SHA-256 MAC.
	Legacy bool
	Force  bool // replace existing files, keeping .bak- backups
	// HomeFlags are the run's flags that name its certkit home (" --home
	// DIR"), for the commands of the fixes.
	HomeFlags string
	Now       func() time.Time
}

// ExportResult is what Export wrote.
type ExportResult struct {
	Registry host.Registry
	Name     string
	Out, P12 string
	CA, Cert *x509.Certificate
	Legacy   bool
	Backups  []string
}

// Export writes the CA certificate and one client pair of the certkit home
// as a bundle (Out) and/or a PKCS #12 file (P12), both 0600, all or none.
// The pair is checked as install checks it; the CA's key is never read.
func Export(opt ExportOptions) (*ExportResult, error) {
	now := time.Now
	if opt.Now != nil {
		now = opt.Now
	}
	if opt.Out == "" && opt.P12 == "" {
		return nil, errs.Input("nothing to write", "pass --out FILE for a bundle, --p12 FILE for PKCS #12, or both")
	}
	if opt.P12 != "" && opt.Password == "" {
		return nil, errs.Input("a PKCS #12 file needs a password", "pass --password-file FILE, or run on a terminal to be asked")
	}
	if opt.Out != "" && opt.Out == opt.P12 {
		return nil, errs.Input("--out and --p12 name the same file", "give each its own file")
	}
	t := now()
	m, err := install.ReadPair(opt.Home, opt.Registry, opt.Name, t, opt.HomeFlags)
	if err != nil {
		return nil, err
	}
	p := m.Pairs[0]
	b := &Bundle{Registry: opt.Registry, Name: p.Name, CA: m.CA, Cert: p.Cert, Key: p.Key}
	caCerts, err := ca.ParseCerts(b.CA)
	if err != nil {
		return nil, err
	}
	certs, err := ca.ParseCerts(b.Cert)
	if err != nil {
		return nil, err
	}
	res := &ExportResult{Registry: opt.Registry, Name: p.Name, Out: opt.Out, P12: opt.P12,
		CA: caCerts[0], Cert: certs[0], Legacy: opt.Legacy}
	var files []atomicfile.File
	if opt.Out != "" {
		files = append(files, atomicfile.File{Path: opt.Out, Data: b.Encode(), Mode: FileMode})
	}
	if opt.P12 != "" {
		data, err := b.P12(opt.Password, opt.Legacy)
		if err != nil {
			return nil, err
		}
		files = append(files, atomicfile.File{Path: opt.P12, Data: data, Mode: FileMode})
	}
	w, err := atomicfile.WriteAll(files, atomicfile.Options{Force: opt.Force, Now: t, DirMode: 0o700})
	if err != nil {
		return nil, err
	}
	res.Backups = w.Backups
	return res, nil
}

// P12 encodes the bundle's pair, with its issuing CA (a per-registry
// home) and the CA certificate as its chain, as
// PKCS #12 encrypted with password: AES-256-CBC with PBKDF2 and a SHA-256
// MAC, or with legacy, 3DES and a SHA-1 MAC.
func (b *Bundle) P12(password string, legacy bool) ([]byte, error) {
	if password == "" {
		return nil, errors.New("a PKCS #12 file needs a password")
	}
	key, err := ca.ParseKey(b.Key)
	if err != nil {
		return nil, err
	}
	certs, err := ca.ParseCerts(b.Cert)
	if err != nil {
		return nil, err
	}
	caCerts, err := ca.ParseCerts(b.CA)
	if err != nil {
		return nil, err
	}
	enc := pkcs12.Modern
	if legacy {
		enc = pkcs12.Legacy
	}
	return enc.Encode(key, certs[0], append(certs[1:], caCerts[0]), password)
}
