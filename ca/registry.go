package ca

import (
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"path/filepath"
	"strings"
	"time"

	"github.com/cloudflare/cfssl/csr"

	"github.com/certkit/certkit/internal/atomicfile"
	"github.com/certkit/certkit/internal/home"
	"github.com/certkit/certkit/internal/safefs"
)

// Per-registry access. A client certificate of a CA that every registry
// trusts opens every registry. In a per-registry home the root signs one
// issuing CA per registry (ca/registries/<host[:port]>/), and that CA
// signs the registry's server and client certificates. A registry's
// server trusts, for clients, only its own issuing CA
// (RegistryClientCAs): distribution takes it as the anchor, nginx and
// Apache also need the root and check the issuer's name. Clients keep
// one ca.crt, the root, in every certs.d folder; each leaf file carries
// its issuing CA, so the chain reaches the root.
const (
	// PerRegistryFile, in the CA folder, marks a per-registry home.
	PerRegistryFile = "per-registry"
	// RegistriesDir, in a root's folder, holds its issuing CAs.
	RegistriesDir = "registries"
)

// perRegistryText is the marker's content.
const perRegistryText = "certkit: each registry gets its own issuing CA under this CA, in registries/<host[:port]>/ (README: Per-registry access).\n"

// PerRegistry reports whether the home gives each registry its own
// issuing CA.
func PerRegistry(homeDir string) bool {
	return atomicfile.Exists(filepath.Join(home.CADir(homeDir), PerRegistryFile))
}

// CanIssueCAs reports whether a CA certificate's basic constraints let it
// sign CA certificates: a path length other than 0.
func CanIssueCAs(c *x509.Certificate) bool {
	return c.IsCA && c.BasicConstraintsValid && c.MaxPathLen != 0 && !(c.MaxPathLen == 0 && c.MaxPathLenZero) &&
		(c.KeyUsage == 0 || c.KeyUsage&x509.KeyUsageCertSign != 0)
}

// markerFile is the file that makes a home per-registry.
func markerFile(homeDir string) atomicfile.File {
	return atomicfile.File{Path: filepath.Join(home.CADir(homeDir), PerRegistryFile), Data: []byte(perRegistryText), Mode: 0o644}
}

// IssuerName is the subject of a registry's issuing CA. nginx and Apache
// compare it, as RFC 2253 text (IssuerDN), with the issuer of a client's
// certificate, so it is plain ASCII and the same under every root.
func IssuerName(registry string) pkix.Name {
	cn := "certkit issuing CA for " + registry
	if len(cn) > 64 {
		sum := sha256.Sum256([]byte(registry))
		cn = "certkit issuing CA " + hex.EncodeToString(sum[:12])
	}
	return pkix.Name{CommonName: cn, Organization: []string{"certkit"}}
}

// IssuerRel is the folder, relative to the home, of a registry's issuing
// CA under the current root, or under the previous one during a rotation.
func IssuerRel(registry string, previous bool) string {
	if previous {
		return filepath.Join("ca", PreviousDir, RegistriesDir, registry)
	}
	return filepath.Join("ca", RegistriesDir, registry)
}

// RegistryClientCAs is the file of a per-registry home that a registry's
// server trusts for clients: its issuing CA, and during a rotation the
// one under the previous root (or the previous root itself, when that one
// signed leaves directly).
func RegistryClientCAs(homeDir, registry string) string {
	return filepath.Join(homeDir, IssuerRel(registry, false), ClientCAsFile)
}

// checkRegistry refuses a registry folder name that is not one name.
func checkRegistry(registry string) error {
	if registry == "" || registry == "." || registry == ".." || strings.ContainsAny(registry, "/\\\x00") {
		return fmt.Errorf("%q is not a registry folder name", registry)
	}
	return nil
}

// Issuer returns the issuing CA of registry under root in a per-registry
// home, and makes it (with its empty CRL, and the servers' files
// published again) when the registry has none yet. The caller holds the
// home's lock. made lists the files of a CA it made.
func Issuer(homeDir string, root *CA, registry string, now time.Time) (c *CA, made []string, err error) {
	if err := checkRegistry(registry); err != nil {
		return nil, nil, err
	}
	c, err = loadAt(homeDir, IssuerRel(registry, false))
	if err == nil {
		c.Chain, c.Anchor = append([]*x509.Certificate{c.Cert}, root.Chain...), root.Root()
		if c.Cert.CheckSignatureFrom(root.Cert) != nil {
			return nil, nil, fmt.Errorf("%s was not issued by the CA %q of the certkit home", c.CertPath(), root.Cert.Subject.CommonName)
		}
		return c, nil, nil
	}
	if !errors.As(err, new(*NotFoundError)) {
		return nil, nil, err
	}
	if c, err = newIssuer(root, registry, filepath.Join(homeDir, IssuerRel(registry, false)), now); err != nil {
		return nil, nil, err
	}
	cas, err := LoadAll(homeDir)
	if err != nil {
		return nil, nil, err
	}
	s := Signed{CA: c, Registry: registry}
	if CanSignCRL(c.Cert) {
		if s.CRL, err = c.SignCRL(nil, big.NewInt(1), now, DefaultCRLValidity); err != nil {
			return nil, nil, err
		}
	}
	files, err := c.pairFiles()
	if err != nil {
		return nil, nil, err
	}
	if err := signMissing(cas, now, DefaultCRLValidity); err != nil {
		return nil, nil, err
	}
	if err := WriteCRLFiles(PublishFiles(append(cas, s)), now, files...); err != nil {
		return nil, nil, err
	}
	made = []string{c.KeyPath(), c.CertPath(), filepath.Join(c.Dir, CRLFile), filepath.Join(c.Dir, ClientCAsFile)}
	return c, made, nil
}

// newIssuer makes the issuing CA of registry under root, valid until the
// root expires, with a key of the root's type; nothing is written.
func newIssuer(root *CA, registry, dir string, now time.Time) (*CA, error) {
	kt := KeyTypeOf(root.Cert.PublicKey)
	if kt == "" {
		kt = ECDSAP256
	}
	key, err := GenerateKey(kt)
	if err != nil {
		return nil, err
	}
	name := IssuerName(registry)
	csrPEM, err := csr.Generate(key, &csr.CertificateRequest{CN: name.CommonName, Names: []csr.Name{{O: name.Organization[0]}}})
	if err != nil {
		return nil, fmt.Errorf("making the issuing CA's request: %v", cfsslMessage(err))
	}
	s, err := NewSigner(root.Key, root.Cert, map[string]Profile{"issuing-ca": {
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		CA:       true,
	}})
	if err != nil {
		return nil, err
	}
	notBefore := now.Add(-Backdate).Truncate(time.Second)
	if notBefore.Before(root.Cert.NotBefore) {
		notBefore = root.Cert.NotBefore
	}
	der, certPEM, err := s.Sign(SignRequest{CSR: csrPEM, Profile: "issuing-ca", NotBefore: notBefore, NotAfter: root.Cert.NotAfter.Truncate(time.Second)})
	if err != nil {
		return nil, fmt.Errorf("signing the issuing CA of %s: %v", registry, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &CA{Cert: cert, CertPEM: certPEM, Key: key, Dir: dir, Chain: append([]*x509.Certificate{cert}, root.Chain...), Anchor: root.Root()}, nil
}

// IssuingRegistries lists the registries with an issuing CA under the
// home's CA, sorted.
func IssuingRegistries(homeDir string) ([]string, error) {
	d, err := safefs.OpenDir(homeDir)
	if err != nil {
		return nil, err
	}
	var regs []string
	err = d.Do(func(r *safefs.Root) error {
		regs, err = issuerFolders(r, "ca")
		return err
	})
	return regs, err
}

// issuerFolders lists the registries with an issuing CA under the root
// folder rel ("ca", or the previous root's), sorted.
func issuerFolders(r *safefs.Root, rel string) ([]string, error) {
	names, err := r.Names(filepath.Join(rel, RegistriesDir))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, n := range names {
		if checkRegistry(n) != nil {
			continue
		}
		files, err := r.Names(filepath.Join(rel, RegistriesDir, n))
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			if f == CertFile {
				out = append(out, n)
			}
		}
	}
	return out, nil
}

// retireIssuers, when a CA is replaced (init-ca --force), renames the old
// root's issuing CAs to a backup folder and, for a home that is no longer
// per-registry, removes the marker. It returns the backup.
func retireIssuers(homeDir string, perRegistry bool, now time.Time) ([]string, error) {
	var out []string
	dir := filepath.Join(home.CADir(homeDir), RegistriesDir)
	if atomicfile.Exists(dir) {
		bak := dir + ".bak-" + now.UTC().Format("20060102T150405Z")
		if err := safefs.Rename(dir, bak); err != nil {
			return nil, err
		}
		out = append(out, bak)
	}
	if !perRegistry {
		if err := safefs.Remove(filepath.Join(home.CADir(homeDir), PerRegistryFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	return out, nil
}
