package templates

// Where a registry's server material is: in the certkit home (Locate),
// with the trust files of a per-registry home or an imported chain, or in
// a folder certkit install --server filled.

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/certkit/certkit/ca"
	"github.com/certkit/certkit/host"
	"github.com/certkit/certkit/install"
	"github.com/certkit/certkit/internal/errs"
	"github.com/certkit/certkit/internal/home"
	"github.com/certkit/certkit/internal/safefs"
	"github.com/certkit/certkit/internal/shellquote"
)

// ServerFiles are the absolute paths of a registry's server material.
type ServerFiles struct {
	Cert  string // the server leaf certificate
	Key   string // its private key
	Chain string // leaf + CA, what servers should present
	CA    string // the certkit CA certificate
	// ClientCAs holds every CA whose clients the server accepts (the CA,
	// and the previous one during a rotation), CRL their revocation
	// lists: certkit updates both files in place, so a configuration
	// rendered once follows revocations and rotations.
	ClientCAs string
	CRL       string
	// In a per-registry home ClientCAs holds the registry's issuing CA(s)
	// (ca.RegistryClientCAs), Roots the roots they chain to (OpenSSL,
	// under nginx and Apache, verifies up to a root), and Issuers the
	// issuing CAs' names (RFC 2253) the proxies compare with the client
	// certificate's issuer: the other registries' clients chain to the
	// same root.
	Roots   string
	Issuers []string
	// Depth is how many CA certificates may stand between a client's
	// certificate and the root: 1, and one more for a registry's issuing
	// CA and for each CA of an imported intermediate CA's chain.
	Depth int
	// CRLLeaf says the servers can check the CRL of a client's issuer
	// only: the CAs above an imported intermediate CA are not certkit's,
	// and their lists are not in CRL (Apache checks the leaf; nginx, which
	// checks the whole chain or nothing, checks none).
	CRLLeaf bool
}

// NotIssuedError reports a registry without an issued server certificate.
type NotIssuedError struct {
	Registry string // the registry folder name
	Missing  string // the first missing file
	Flags    string // the run's flags the hint's command carries (" --home DIR")
}

func (e *NotIssuedError) Error() string {
	return fmt.Sprintf("no server certificate was issued for %s (%s is missing)", e.Registry, e.Missing)
}

// Hint names the command that issues it.
func (e *NotIssuedError) Hint() string {
	return "certkit issue server --host " + shellquote.Quote(e.Registry) + e.Flags
}

// Locate returns the paths of the server material issued for reg in the
// certkit home homeDir, or a *NotIssuedError when any of it is missing (a
// missing CA gets a *ca.NotFoundError instead).
func Locate(homeDir string, reg host.Registry) (ServerFiles, error) {
	abs, err := filepath.Abs(homeDir)
	if err != nil {
		return ServerFiles{}, err
	}
	f, err := locateCA(abs)
	if err != nil {
		return ServerFiles{}, err
	}
	dir := home.HostDir(abs, reg.String())
	f.Cert = filepath.Join(dir, home.ServerCert)
	f.Key = filepath.Join(dir, home.ServerKey)
	f.Chain = filepath.Join(dir, home.ServerChain)
	f.ClientCAs = filepath.Join(home.CADir(abs), ca.ClientCAsFile)
	f.CRL = filepath.Join(home.CADir(abs), ca.ClientCRLsFile)
	if _, err := os.Stat(f.ClientCAs); err != nil {
		return ServerFiles{}, errs.WithHint(fmt.Errorf("the certkit home has no %s: %w", filepath.Base(f.ClientCAs), err),
			"certkit crl writes it (certkit template does too, before it renders)")
	}

	if _, err := os.Stat(f.CRL); errors.Is(err, fs.ErrNotExist) {
		// A CA that may not sign CRLs (an imported one) has none: the
		// servers then check none.
		f.CRL = ""
	}
	for _, p := range []string{f.Cert, f.Key, f.Chain} {
		fi, err := os.Stat(p)
		if errors.Is(err, fs.ErrNotExist) {
			return ServerFiles{}, &NotIssuedError{Registry: reg.String(), Missing: p}
		}
		if err != nil {
			return ServerFiles{}, err
		}
		if !fi.Mode().IsRegular() {
			return ServerFiles{}, fmt.Errorf("%s is not a regular file", p)
		}
	}
	f.Depth = 1
	if ca.PerRegistry(abs) {
		if err := f.perRegistry(abs, reg); err != nil {
			return ServerFiles{}, err
		}
		f.Depth++
	}
	if err := f.importedChain(abs); err != nil {
		return ServerFiles{}, err
	}
	return f, nil
}

// importedChain points f, in a home whose CA is an imported intermediate
// CA, at its chain: the root the proxies verify up to (Roots), the CA's
// name checked as the clients' issuer (Issuers: other CAs under that root
// are not this registry's), and the depth.
func (f *ServerFiles) importedChain(homeDir string) error {
	path := filepath.Join(home.CADir(homeDir), ca.ChainFile)
	data, err := safefs.ReadFile(path, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	chain, err := ca.ParseCerts(data)
	if err != nil {
		return fmt.Errorf("%s: %v", path, err)
	}
	f.Roots, f.CRLLeaf = path, true
	f.Depth += len(chain)
	if len(f.Issuers) > 0 {
		return nil
	}
	return f.issuerNames()
}

// locateCA finds the CA certificate of the certkit home (ServerFiles.CA
// only).
func locateCA(homeDir string) (ServerFiles, error) {
	abs, err := filepath.Abs(homeDir)
	if err != nil {
		return ServerFiles{}, err
	}
	caDir := home.CADir(abs)
	f := ServerFiles{CA: filepath.Join(caDir, ca.CertFile)}
	if _, err := os.Stat(f.CA); errors.Is(err, fs.ErrNotExist) {
		return ServerFiles{}, &ca.NotFoundError{Dir: caDir}
	} else if err != nil {
		return ServerFiles{}, err
	}
	return f, nil
}

// NotInstalledError reports a --server-dir without the files certkit
// install --server puts there.
type NotInstalledError struct {
	Registry string // the registry folder name
	Dir      string // the server folder
	Missing  string // the first missing file
}

func (e *NotInstalledError) Error() string {
	return fmt.Sprintf("%s holds no server files for %s (%s is missing)", e.Dir, e.Registry, e.Missing)
}

// Hint names the command that puts them there.
func (e *NotInstalledError) Hint() string {
	return "sudo certkit install --server --host " + shellquote.Quote(e.Registry) + " --dir " + shellquote.Quote(e.Dir)
}

// locateServerDir returns the paths of the files certkit install
// --server put in dir for reg (install.ServerPaths), which must exist.
func locateServerDir(dir string, reg host.Registry) (ServerFiles, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return ServerFiles{}, err
	}
	var f ServerFiles
	f.Chain, f.Key, f.CA = install.ServerPaths(abs)
	// install --server copies every CA the registry accepts clients of
	// (the previous one too, during a rotation) into the folder's CA file.
	f.ClientCAs = f.CA
	for _, p := range []string{f.Chain, f.Key, f.CA} {
		fi, err := os.Stat(p)
		if errors.Is(err, fs.ErrNotExist) {
			return ServerFiles{}, &NotInstalledError{Registry: reg.String(), Dir: abs, Missing: p}
		}
		if err != nil {
			return ServerFiles{}, err
		}
		if !fi.Mode().IsRegular() {
			return ServerFiles{}, fmt.Errorf("%s is not a regular file", p)
		}
	}
	return f, nil
}

// perRegistry points f at the registry's issuing CAs of a per-registry
// home (ServerFiles.Roots, Issuers).
func (f *ServerFiles) perRegistry(homeDir string, reg host.Registry) error {
	f.Roots = f.ClientCAs
	f.ClientCAs = ca.RegistryClientCAs(homeDir, reg.String())
	if _, err := os.Stat(f.ClientCAs); errors.Is(err, fs.ErrNotExist) {
		return &NotIssuedError{Registry: reg.String(), Missing: f.ClientCAs}
	}
	return f.issuerNames()
}

// issuerNames fills f.Issuers with the names of the CAs of f.ClientCAs.
func (f *ServerFiles) issuerNames() error {
	data, err := safefs.ReadFile(f.ClientCAs, 0)
	if err != nil {
		return err
	}
	certs, err := ca.ParseCerts(data)
	if err != nil {
		return fmt.Errorf("%s: %v", f.ClientCAs, err)
	}
	for _, c := range certs {
		dn, err := rfc2253(c.RawSubject)
		if err != nil {
			return fmt.Errorf("%s: %v", f.ClientCAs, err)
		}
		if strings.ContainsAny(dn, "\\\"'{}$`") || strings.ContainsFunc(dn, func(r rune) bool { return r < ' ' || r > '~' }) {
			return fmt.Errorf("%s: the issuing CA's name %q has characters the server configurations cannot compare safely", f.ClientCAs, dn)
		}
		f.Issuers = append(f.Issuers, dn)
	}
	return nil
}

// rfc2253 is a raw subject as OpenSSL prints it with XN_FLAG_RFC2253,
// as nginx's $ssl_client_i_dn and Apache's SSL_CLIENT_I_DN give it: the
// last RDN first.
func rfc2253(raw []byte) (string, error) {
	var rdn pkix.RDNSequence
	if rest, err := asn1.Unmarshal(raw, &rdn); err != nil || len(rest) > 0 {
		return "", fmt.Errorf("cannot read a certificate's subject")
	}
	return rdn.String(), nil
}

// nginxIssuers is the regular expression nginx matches
// $ssl_client_i_dn with: one of the names, whole.
func nginxIssuers(dns []string) string {
	quoted := make([]string, len(dns))
	for i, dn := range dns {
		quoted[i] = regexp.QuoteMeta(dn)
	}
	return `"^(?:` + strings.Join(quoted, "|") + `)$"`
}

// apacheIssuers is the list Apache's Require expr compares
// %{SSL_CLIENT_I_DN} with.
func apacheIssuers(dns []string) string {
	quoted := make([]string, len(dns))
	for i, dn := range dns {
		quoted[i] = "'" + dn + "'"
	}
	return "{" + strings.Join(quoted, ", ") + "}"
}
