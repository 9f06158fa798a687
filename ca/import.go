package ca

import (
	"bytes"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/certkit/certkit/internal/errs"
	"github.com/certkit/certkit/internal/home"
)

// ChainFile, in the CA folder, holds what an imported intermediate CA
// chains to: the CAs above it, then the root (the anchor the certs.d
// folders and the servers in front of a registry trust).
const ChainFile = "chain.crt"

// ImportOptions for Import.
type ImportOptions struct {
	Home  string
	Force bool
	Now   func() time.Time
	// PerRegistry makes the home per-registry when the CA's path length
	// allows issuing CAs (CanIssueCAs); with RequirePerRegistry a CA that
	// does not allow them is refused.
	PerRegistry, RequirePerRegistry bool
	// Chain is, for an intermediate CA, the certificates up to its root
	// (PEM, the root included): --import-chain.
	Chain []byte
	// LeafValidity is how long certkit's leaves are valid by default: a
	// CA that expires sooner is warned about.
	LeafValidity time.Duration
}

// Import adopts an existing CA (for example one made with openssl), after
// checking that it is a CA, that it is valid now, that the key is its own,
// and that what certkit issues under it can work: no unknown critical
// extension, an extended key usage (if any) that allows serverAuth and
// clientAuth, name constraints that do not exclude the home's registries,
// and for an intermediate CA the chain to its root (opt.Chain). What
// would only limit it (name constraints, an expiry before the leaves' own)
// comes back in Result.Warnings.
func Import(certPEM, keyPEM []byte, opt ImportOptions) (*Result, error) {
	c, perRegistry, warnings, t, err := prepareImport(certPEM, keyPEM, opt)
	if err != nil {
		return nil, err
	}
	if err := checkWritable(opt.Home); err != nil {
		return nil, err
	}
	if !opt.Force {
		if err := refuseExisting(c.Dir); err != nil {
			return nil, err
		}
	} else if prev := Rotating(opt.Home); prev != nil {
		return nil, &RotatingError{Previous: prev.Subject.CommonName, Command: "init-ca --force"}
	}
	written, backups, err := lockedWrite(opt.Home, c, opt.Force, perRegistry, t)
	if err != nil {
		return nil, err
	}
	return &Result{CA: c, Backups: backups, Written: written, PerRegistry: perRegistry, Warnings: warnings}, nil
}

// checkImported checks the CA certificate itself.
func checkImported(cert *x509.Certificate, t time.Time) error {
	name := cert.Subject.CommonName
	switch {
	case !cert.BasicConstraintsValid || !cert.IsCA:
		return errs.Input(fmt.Sprintf("%q is not a CA certificate (no basicConstraints CA:TRUE)", name), "import the CA certificate, not a server or client certificate")
	case cert.KeyUsage != 0 && cert.KeyUsage&x509.KeyUsageCertSign == 0:
		return errs.Input(fmt.Sprintf("%q may not sign certificates (its key usage lacks keyCertSign)", name), "")
	case t.After(cert.NotAfter):
		return errs.Input(fmt.Sprintf("%q expired on %s", name, cert.NotAfter.UTC().Format(time.DateOnly)), "create a new CA with: certkit init-ca")
	case t.Before(cert.NotBefore):
		return errs.Input(fmt.Sprintf("%q is not valid before %s", name, cert.NotBefore.UTC().Format(time.RFC3339)), "check this machine's clock")
	}
	if len(cert.UnhandledCriticalExtensions) > 0 {
		var oids []string
		for _, o := range cert.UnhandledCriticalExtensions {
			oids = append(oids, o.String())
		}
		return errs.Input(fmt.Sprintf("%q has critical extensions no TLS client knows (%s): Docker, podman and containerd would refuse every certificate under it", name, strings.Join(oids, ", ")),
			"import a CA without them, or make one with certkit init-ca")
	}
	if missing := forbiddenUsages(cert); len(missing) > 0 {
		return errs.Input(fmt.Sprintf("%q limits what its certificates may be used for (extended key usage), and %s is not among it: Go's TLS clients and servers refuse such certificates under it", name, strings.Join(missing, " and ")),
			"import a CA without an extended key usage, or with serverAuth and clientAuth, or make one with certkit init-ca")
	}
	// A weak CA would sign everything with its weakness: the import takes
	// only the key types certkit makes itself (RSA below 2048 is refused).
	if kt := KeyTypeOf(cert.PublicKey); kt == "" {
		return errs.Input("the CA key type is not supported", "use one of: "+joinKeyTypes())
	}
	if k, ok := cert.PublicKey.(*rsa.PublicKey); ok && k.N.BitLen() < 2048 {
		return errs.Input(fmt.Sprintf("%q has a %d-bit RSA key; RSA keys below 2048 bits are broken", name, k.N.BitLen()),
			"make a new CA with certkit init-ca")
	}
	return nil
}

// forbiddenUsages lists the leaf usages certkit issues that a CA's
// extended key usage leaves out (Go checks that a chain's usages nest).
func forbiddenUsages(c *x509.Certificate) []string {
	if len(c.ExtKeyUsage) == 0 && len(c.UnknownExtKeyUsage) == 0 || slices.Contains(c.ExtKeyUsage, x509.ExtKeyUsageAny) {
		return nil
	}
	var out []string
	for _, u := range []struct {
		u    x509.ExtKeyUsage
		name string
	}{{x509.ExtKeyUsageServerAuth, "serverAuth"}, {x509.ExtKeyUsageClientAuth, "clientAuth"}} {
		if !slices.Contains(c.ExtKeyUsage, u.u) {
			out = append(out, u.name)
		}
	}
	return out
}

// selfSigned says whether c signed itself: a root.
func selfSigned(c *x509.Certificate) bool {
	return bytes.Equal(c.RawIssuer, c.RawSubject) && c.CheckSignatureFrom(c) == nil
}

// importChain checks an intermediate CA's chain (PEM, up to and with its
// root) and returns it in order from the CA's issuer to the root; a root
// takes none.
func importChain(cert *x509.Certificate, data []byte, t time.Time) ([]*x509.Certificate, error) {
	name := cert.Subject.CommonName
	if selfSigned(cert) {
		if len(data) > 0 {
			return nil, errs.Input(fmt.Sprintf("%q is a root CA (it signed itself): it has no chain", name), "drop --import-chain")
		}
		return nil, nil
	}
	if len(data) == 0 {
		issuer := cert.Issuer.CommonName
		if issuer == "" {
			issuer = cert.Issuer.String()
		}
		return nil, errs.Input(fmt.Sprintf("%q is an intermediate CA, issued by %q, and its chain up to the root is missing: nginx and Apache verify clients up to a root, and the certs.d folders need the root", name, issuer),
			"pass the CA certificates above it, the root included, as one PEM file: --import-chain chain.pem")
	}
	certs, err := ParseCerts(data)
	if err != nil {
		return nil, errs.Input("--import-chain: "+err.Error(), "pass the CA certificates above the imported CA, the root included, as PEM")
	}
	var root *x509.Certificate
	inter := x509.NewCertPool()
	for _, c := range certs {
		switch {
		case !c.IsCA || !c.BasicConstraintsValid:
			return nil, errs.Input(fmt.Sprintf("--import-chain holds %q, which is not a CA certificate", c.Subject.CommonName), "pass only the CA certificates above the imported CA")
		case t.After(c.NotAfter):
			return nil, errs.Input(fmt.Sprintf("--import-chain: %q expired on %s", c.Subject.CommonName, c.NotAfter.UTC().Format(time.DateOnly)), "")
		case len(c.UnhandledCriticalExtensions) > 0 || len(forbiddenUsages(c)) > 0:
			if err := checkImported(c, t); err != nil {
				return nil, err
			}
		case selfSigned(c):
			root = c
		default:
			inter.AddCert(c)
		}
	}
	if root == nil {
		return nil, errs.Input(fmt.Sprintf("--import-chain has no root (a self-signed CA certificate) above %q", name), "add the root CA certificate to the file")
	}
	roots := x509.NewCertPool()
	roots.AddCert(root)
	paths, err := cert.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: t, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
	if err != nil {
		return nil, errs.Input(fmt.Sprintf("%q does not chain to %q through --import-chain: %v", name, root.Subject.CommonName, strings.TrimPrefix(err.Error(), "x509: ")),
			"pass the CA certificates between it and its root, and the root")
	}
	return paths[0][1:], nil
}

// checkConstraints refuses a chain whose name constraints exclude a
// registry the home already has certificates for, and warns about any
// other name constraint: certkit issues for whatever registry it is
// asked, and clients refuse a certificate for a name outside them.
func checkConstraints(homeDir string, chain []*x509.Certificate) ([]string, error) {
	var warnings []string
	regs, _ := os.ReadDir(home.HostsDir(homeDir))
	for _, c := range chain {
		if !constrained(c) {
			continue
		}
		for _, r := range regs {
			host := r.Name()
			if h, _, err := net.SplitHostPort(host); err == nil {
				host = h
			}
			host = strings.Trim(host, "[]")
			if !allowedBy(c, host) {
				return nil, errs.Input(fmt.Sprintf("%q has name constraints that exclude %s, a registry of this certkit home: clients would refuse its certificates", c.Subject.CommonName, host),
					"import a CA whose name constraints allow every registry, or make one with certkit init-ca")
			}
		}
		permitted := append(append([]string{}, c.PermittedDNSDomains...), ipNets(c.PermittedIPRanges)...)
		excluded := append(append([]string{}, c.ExcludedDNSDomains...), ipNets(c.ExcludedIPRanges)...)
		w := fmt.Sprintf("%q has name constraints", c.Subject.CommonName)
		if len(permitted) > 0 {
			w += ": only " + strings.Join(permitted, ", ")
		}
		if len(excluded) > 0 {
			w += ", never " + strings.Join(excluded, ", ")
		}
		warnings = append(warnings, w+"; a registry outside them gets certificates its clients refuse")
	}
	return warnings, nil
}

func constrained(c *x509.Certificate) bool {
	return len(c.PermittedDNSDomains)+len(c.ExcludedDNSDomains)+len(c.PermittedIPRanges)+len(c.ExcludedIPRanges) > 0
}

func ipNets(nets []*net.IPNet) []string {
	var out []string
	for _, n := range nets {
		out = append(out, n.String())
	}
	return out
}

// allowedBy reports whether c's name constraints allow host (a DNS name
// or an IP address), as RFC 5280 matches them.
func allowedBy(c *x509.Certificate, host string) bool {
	if ip := net.ParseIP(host); ip != nil {
		for _, n := range c.ExcludedIPRanges {
			if n.Contains(ip) {
				return false
			}
		}
		if len(c.PermittedIPRanges) == 0 {
			return true
		}
		for _, n := range c.PermittedIPRanges {
			if n.Contains(ip) {
				return true
			}
		}
		return false
	}
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	match := func(domain string) bool {
		d := strings.ToLower(strings.TrimPrefix(domain, "."))
		return host == d || strings.HasSuffix(host, "."+d)
	}
	for _, d := range c.ExcludedDNSDomains {
		if match(d) {
			return false
		}
	}
	if len(c.PermittedDNSDomains) == 0 {
		return true
	}
	for _, d := range c.PermittedDNSDomains {
		if match(d) {
			return true
		}
	}
	return false
}

// chainFile is the file of an imported intermediate CA's chain: the CAs
// above it, then the root.
func chainFile(c *CA) []byte {
	return append(EncodeCerts(c.Chain[1:]), EncodeCert(c.Anchor)...)
}

// loadChain reads an imported intermediate CA's chain into c (Chain,
// Anchor); a CA without ChainFile is a root.
func loadChain(c *CA, data []byte, path string) error {
	certs, err := ParseCerts(data)
	if err != nil {
		return fmt.Errorf("%s: %v", path, err)
	}
	c.Anchor = certs[len(certs)-1]
	c.Chain = append([]*x509.Certificate{c.Cert}, certs[:len(certs)-1]...)
	return nil
}

// chainPath is where the chain of the CA folder dir is.
func chainPath(dir string) string { return filepath.Join(dir, ChainFile) }

// prepareImport parses and checks a CA to import (Import's checks) and
// returns it, for the home's CA folder, with what it decided: whether the
// home is per-registry, the warnings, and the time of the checks.
func prepareImport(certPEM, keyPEM []byte, opt ImportOptions) (c *CA, perRegistry bool, warnings []string, t time.Time, err error) {
	now := time.Now
	if opt.Now != nil {
		now = opt.Now
	}
	t = now()
	fail := func(err error) (*CA, bool, []string, time.Time, error) { return nil, false, nil, t, err }
	certs, err := ParseCerts(certPEM)
	if err != nil {
		return fail(errs.Input("CA certificate to import: "+err.Error(), "pass a PEM certificate with --import-cert"))
	}
	cert := certs[0]
	key, err := ParseKey(keyPEM)
	if errors.Is(err, ErrEncryptedKey) {
		return fail(errs.Input("CA key to import: "+err.Error(), "decrypt it first: openssl pkey -in ca.key -out ca-plain.key"))
	}
	if err != nil {
		return fail(errs.Input("CA key to import: "+err.Error(), "pass a PEM private key with --import-key"))
	}
	if err := checkImported(cert, t); err != nil {
		return fail(err)
	}
	if !KeyMatches(cert.PublicKey, key) {
		return fail(errs.Input("the key does not belong to the certificate", "pass the key that was made with this CA certificate"))
	}
	chain, err := importChain(cert, opt.Chain, t)
	if err != nil {
		return fail(err)
	}
	if warnings, err = checkConstraints(opt.Home, append([]*x509.Certificate{cert}, chain...)); err != nil {
		return fail(err)
	}
	if opt.LeafValidity > 0 && cert.NotAfter.Sub(t) < opt.LeafValidity {
		warnings = append(warnings, fmt.Sprintf("%q expires on %s, sooner than certkit's certificates would (%d days): they are cut to the CA's expiry, and everything must be issued again under a new CA by then",
			cert.Subject.CommonName, cert.NotAfter.UTC().Format(time.DateOnly), int(opt.LeafValidity.Hours()/24)))
	}
	perRegistry = (opt.PerRegistry || opt.RequirePerRegistry) && CanIssueCAs(cert)
	if opt.RequirePerRegistry && !perRegistry {
		return fail(errs.Input(fmt.Sprintf("%q may not sign issuing CAs (its path length is 0), so it cannot give each registry its own", cert.Subject.CommonName),
			"import it with --per-registry=false (one CA for every registry), or make a CA with certkit init-ca"))
	}
	c = &CA{Cert: cert, CertPEM: EncodeCert(cert), Key: key, Dir: home.CADir(opt.Home)}
	if len(chain) > 0 {
		c.Chain, c.Anchor = append([]*x509.Certificate{cert}, chain[:len(chain)-1]...), chain[len(chain)-1]
	}
	return c, perRegistry, warnings, t, nil
}
