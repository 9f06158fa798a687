package install

import (
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/certkit/certkit/ca"
	"github.com/certkit/certkit/host"
)

// File name rules of a certs.d registry folder, as Docker (moby
// registry.ReadCertsDirectory), podman/skopeo/buildah
// (tlsclientconfig.SetupCertificates) and containerd read them.
const (
	CAExt     = ".crt"       // a CA certificate file (PEM); any number of them
	CertExt   = ".cert"      // a client certificate: NAME.cert
	KeyExt    = ".key"       // its private key: NAME.key
	HostsFile = "hosts.toml" // containerd: when present, only what it names is read
)

// DefaultExpiryWarning is how close to its end a certificate must be for
// ReadFolder to warn about it.
const DefaultExpiryWarning = 30 * 24 * time.Hour

// Severity grades a Problem.
type Severity string

const (
	// SeverityError marks a folder that fails: the loaders refuse it, the
	// registry will refuse the client, or a secret is exposed.
	SeverityError Severity = "error"
	// SeverityWarning marks something that works today but is a trap.
	SeverityWarning Severity = "warning"
)

// Kind names what a Problem is, for scripts and tests: one word per
// diagnosis, stable across releases, whatever the message says. The
// severity and the file say how bad it is and where.
type Kind string

// The diagnoses ReadFolder reports.
const (
	// KindUnreadable: a file the loaders read (a .crt, a pair, hosts.toml)
	// cannot be read.
	KindUnreadable Kind = "unreadable"
	// KindNotPEM: a .crt or .cert holds no PEM certificate (DER, or
	// something else).
	KindNotPEM Kind = "not-pem"
	// KindKeyInCert: a certificate file (.crt or .cert), which is public,
	// also holds a private key.
	KindKeyInCert Kind = "key-in-cert"
	// KindNotCA: a .crt holds a certificate that is not a CA.
	KindNotCA Kind = "not-ca"
	// KindUnpairedCert: NAME.cert without NAME.key; Docker and podman
	// refuse the whole folder.
	KindUnpairedCert Kind = "unpaired-cert"
	// KindStrayKey: a private key without its certificate (NAME.key
	// without NAME.cert, or a key in a file no loader reads).
	KindStrayKey Kind = "stray-key"
	// KindCAKey: a CA's private key is in the folder (as a stray key, or
	// as the key of a CA certificate saved as a client pair).
	KindCAKey Kind = "ca-key"
	// KindServerKey: the private key of the registry's server certificate
	// is in the folder.
	KindServerKey Kind = "server-key"
	// KindKeyMismatch: NAME.key is not the key of NAME.cert.
	KindKeyMismatch Kind = "key-mismatch"
	// KindEncryptedKey: NAME.key is encrypted; no runtime can read it.
	KindEncryptedKey Kind = "encrypted-key"
	// KindBadKey: NAME.key is not a usable private key.
	KindBadKey Kind = "bad-key"
	// KindBadPair: the pair does not load for another reason.
	KindBadPair Kind = "bad-pair"
	// KindKeyReadable: a private key is readable by other users (an error)
	// or by its group (a warning).
	KindKeyReadable Kind = "key-readable"
	// KindNoClientAuth: a client certificate lacks the clientAuth usage.
	KindNoClientAuth Kind = "no-client-auth"
	// KindUntrustedClient: a client certificate does not chain to a CA in
	// the folder.
	KindUntrustedClient Kind = "untrusted-client"
	// KindExpired: a certificate is past its end.
	KindExpired Kind = "expired"
	// KindNotYetValid: a certificate is not valid yet.
	KindNotYetValid Kind = "not-yet-valid"
	// KindExpiring: a certificate ends within the expiry warning.
	KindExpiring Kind = "expiring"
	// KindBadManifest: certkit's manifest cannot be read.
	KindBadManifest Kind = "bad-manifest"
	// KindHostsTOMLEmpty: hosts.toml is empty.
	KindHostsTOMLEmpty Kind = "hosts-toml-empty"
	// KindHostsTOMLSyntax: hosts.toml does not parse.
	KindHostsTOMLSyntax Kind = "hosts-toml-syntax"
	// KindHostsTOMLWrongServer: hosts.toml's server is another registry.
	KindHostsTOMLWrongServer Kind = "hosts-toml-wrong-server"
	// KindHostsTOMLUnreadableFile: hosts.toml names a file containerd
	// cannot read (often one that does not exist).
	KindHostsTOMLUnreadableFile Kind = "hosts-toml-unreadable-file"
	// KindHostsTOMLNotPEM: hosts.toml names a CA file with no PEM
	// certificate.
	KindHostsTOMLNotPEM Kind = "hosts-toml-not-pem"
	// KindHostsTOMLBadPair: hosts.toml names a client pair that does not
	// load.
	KindHostsTOMLBadPair Kind = "hosts-toml-bad-pair"
	// KindSkipVerify: hosts.toml turns off the check of the registry's
	// certificate.
	KindSkipVerify Kind = "skip-verify"
	// KindHiddenByHostsTOML: a loose file hosts.toml does not name, which
	// containerd therefore ignores.
	KindHiddenByHostsTOML Kind = "hidden-by-hosts-toml"
)

// Problem is one finding about a registry folder.
type Problem struct {
	Severity Severity `json:"severity"`
	Kind     Kind     `json:"kind"`
	File     string   `json:"file,omitempty"` // name in the folder; empty for the folder itself
	Message  string   `json:"message"`
	Fix      string   `json:"fix,omitempty"`
	// LoaderError is the error Docker and podman return for the whole
	// folder because of this file (every pull from the registry fails with
	// it); empty when they load the folder anyway.
	LoaderError string `json:"loader_error,omitempty"`
	// ContainerdError is the error containerd (and Docker's containerd
	// image store) fails with for this registry because of this file;
	// empty when containerd loads the folder anyway.
	ContainerdError string `json:"containerd_error,omitempty"`
}

func (p Problem) String() string {
	if p.File == "" {
		return p.Message
	}
	return p.File + ": " + p.Message
}

// CAFile is one *.crt file: CA certificates the registry's server
// certificate may chain to, on top of the system roots.
type CAFile struct {
	Name string `json:"name"`
	Path string `json:"path"`
	// Certs are the certificates the loaders add to the roots (what
	// x509.CertPool.AppendCertsFromPEM accepts); empty when the file is not
	// PEM, which the loaders silently ignore.
	Certs []*x509.Certificate `json:"-"`
}

// Pair is one NAME.cert with (normally) its NAME.key.
type Pair struct {
	Name     string `json:"name"`
	CertPath string `json:"cert"`
	KeyPath  string `json:"key,omitempty"` // empty when NAME.key is missing
	// Cert is the client certificate (the first certificate in NAME.cert);
	// nil when the file holds none.
	Cert *x509.Certificate `json:"-"`
	// TLS is the pair as tls.LoadX509KeyPair loads it; valid when Err is nil.
	TLS tls.Certificate `json:"-"`
	// Err is why the loaders cannot load the pair; nil when they can.
	Err error `json:"-"`
}

// HostsTOML is containerd's view of a folder that has a hosts.toml: only
// the files it names are read, loose ones are ignored.
type HostsTOML struct {
	Path   string `json:"path"`
	Server string `json:"server,omitempty"`
	// Hosts are the [host."…"] entries in file order, then the root entry
	// (server and root-level fields) last, as containerd orders them.
	Hosts []TOMLHost `json:"hosts,omitempty"`
	// Err is set when containerd cannot parse the file; it then logs the
	// error and falls back to the loose files.
	Err error `json:"-"`
}

// TOMLHost is one endpoint of a hosts.toml.
type TOMLHost struct {
	URL          string      `json:"url,omitempty"` // empty for a root entry without server
	Root         bool        `json:"root,omitempty"`
	Capabilities []string    `json:"capabilities,omitempty"`
	CA           []string    `json:"ca,omitempty"`     // absolute paths
	Client       [][2]string `json:"client,omitempty"` // absolute cert and key paths; key empty: in the cert file
	SkipVerify   *bool       `json:"skip_verify,omitempty"`
}

// Uses lists the files containerd reads for this folder, absolute, in the
// order it reads them, without repeats.
func (h *HostsTOML) Uses() []string {
	var out []string
	seen := map[string]bool{}
	add := func(p string) {
		if p != "" && !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	for _, e := range h.Hosts {
		for _, c := range e.CA {
			add(c)
		}
		for _, p := range e.Client {
			add(p[0])
			add(p[1])
		}
	}
	return out
}

// Folder is one registry folder as the container runtimes see it.
type Folder struct {
	Dir       string     `json:"dir"`
	CAs       []CAFile   `json:"cas,omitempty"`
	Pairs     []Pair     `json:"pairs,omitempty"`
	HostsTOML *HostsTOML `json:"hosts_toml,omitempty"`
	// Manifest is certkit's record of the files it installed here; nil
	// when certkit did not install anything.
	Manifest *Manifest `json:"manifest,omitempty"`
	// Others are the names of entries no loader reads.
	Others   []string  `json:"others,omitempty"`
	Problems []Problem `json:"problems,omitempty"`
}

// Errors returns the problems of SeverityError.
func (f *Folder) Errors() []Problem {
	var out []Problem
	for _, p := range f.Problems {
		if p.Severity == SeverityError {
			out = append(out, p)
		}
	}
	return out
}

// LoaderError returns the error Docker and podman stop at when they read
// the folder (the first, in filename order), or nil when they load it.
func (f *Folder) LoaderError() error {
	for _, p := range f.Problems {
		if p.LoaderError != "" {
			return &LoaderError{Dir: f.Dir, File: p.File, Msg: p.LoaderError}
		}
	}
	return nil
}

// ContainerdError returns the first error containerd fails with when it
// reads the folder, or nil when it loads it.
func (f *Folder) ContainerdError() error {
	for _, p := range f.Problems {
		if p.ContainerdError != "" {
			return &LoaderError{Dir: f.Dir, File: p.File, Msg: p.ContainerdError}
		}
	}
	return nil
}

// LoaderError is what a container runtime reports for a folder it refuses.
type LoaderError struct {
	Dir, File, Msg string
}

func (e *LoaderError) Error() string { return e.Msg }

// ClientConfig returns the TLS settings Docker and podman build from the
// folder: the CA files on top of roots (the system roots when nil), and
// every pair in filename order. It fails exactly when they do.
func (f *Folder) ClientConfig(roots *x509.CertPool) (*tls.Config, error) {
	if err := f.LoaderError(); err != nil {
		return nil, err
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if len(f.CAs) > 0 {
		if roots == nil {
			sys, err := x509.SystemCertPool()
			if err != nil {
				return nil, fmt.Errorf("cannot load the system roots: %w", err)
			}
			roots = sys
		} else {
			roots = roots.Clone()
		}
		for _, c := range f.CAs {
			for _, cert := range c.Certs {
				roots.AddCert(cert)
			}
		}
		cfg.RootCAs = roots
	}
	for _, p := range f.Pairs {
		cfg.Certificates = append(cfg.Certificates, p.TLS)
	}
	return cfg, nil
}

// ReadOptions tune ReadFolderWith.
type ReadOptions struct {
	Now func() time.Time // time.Now when nil
	// ExpiryWarning is how close to expiry a certificate draws a warning;
	// DefaultExpiryWarning when zero.
	ExpiryWarning time.Duration
	// Name is the registry folder name (host[:port]) the folder serves;
	// the folder's own name when empty. hosts.toml's server is checked
	// against it.
	Name string
}

// ReadFolder reads one registry folder exactly as Docker and podman would
// (and containerd, for hosts.toml), and reports every problem found. It
// fails only when the folder cannot be listed.
func ReadFolder(dir string) (*Folder, error) { return ReadFolderWith(dir, ReadOptions{}) }

// ReadFolderWith is ReadFolder with options.
func ReadFolderWith(dir string, opt ReadOptions) (*Folder, error) {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.ExpiryWarning == 0 {
		opt.ExpiryWarning = DefaultExpiryWarning
	}
	if opt.Name == "" {
		opt.Name = filepath.Base(dir)
	}
	entries, err := os.ReadDir(dir) // sorted by name, as the loaders see them
	if err != nil {
		return nil, err
	}
	r := &reader{opt: opt, now: opt.Now(), f: &Folder{Dir: dir}, names: map[string]bool{}}
	for _, e := range entries {
		r.names[e.Name()] = true
	}
	for _, e := range entries {
		r.entry(e)
	}
	r.checkChains()
	r.checkStrayKeys()
	r.readHostsTOML()
	if h := r.f.HostsTOML; h == nil || h.Err != nil {
		r.containerdLoose()
	}
	return r.f, nil
}

type reader struct {
	opt   ReadOptions
	now   time.Time
	f     *Folder
	names map[string]bool
	keys  []strayKey // private keys found outside a pair
	// loose are the problems (by index) of loose files that containerd
	// fails on when it reads the loose files (no usable hosts.toml).
	loose []looseFailure
}

// looseFailure is a loose file containerd's fallback fails on.
type looseFailure struct {
	problem int    // index in Problems
	err     string // containerd's error
	raise   bool   // a warning for Docker and podman that is an error for containerd
}

type strayKey struct {
	file    string
	key     crypto.PublicKey // of the private key, nil when unreadable
	problem int              // index of the problem reported for the file
}

func (r *reader) add(sev Severity, kind Kind, file, msg, fix string) *Problem {
	r.f.Problems = append(r.f.Problems, Problem{Severity: sev, Kind: kind, File: file, Message: msg, Fix: fix})
	return &r.f.Problems[len(r.f.Problems)-1]
}

func (r *reader) path(name string) string { return filepath.Join(r.f.Dir, name) }

// entry handles one folder entry in filename order, with the loaders' rules.
func (r *reader) entry(e fs.DirEntry) {
	name := e.Name()
	switch {
	case strings.HasSuffix(name, CAExt):
		r.caFile(name)
	case strings.HasSuffix(name, CertExt):
		r.pair(name)
	case strings.HasSuffix(name, KeyExt):
		stem := strings.TrimSuffix(name, KeyExt)
		if !r.names[stem+CertExt] {
			r.strayKeyFile(name, stem)
		}
		// A paired key is checked with its .cert.
	default:
		if name == ManifestFile {
			r.manifest()
		}
		r.f.Others = append(r.f.Others, name)
		r.otherFile(name)
	}
}

func (r *reader) caFile(name string) {
	p := r.path(name)
	data, err := readFile(p)
	if err != nil {
		// Docker and podman return this error for the whole folder.
		if fi, serr := os.Stat(p); serr != nil || !fi.IsDir() { // containerd skips folders
			r.loose = append(r.loose, looseFailure{problem: len(r.f.Problems), err: fmt.Sprintf("unable to read CA cert %q: %v", p, err)})
		}
		r.add(SeverityError, KindUnreadable, name, "cannot be read: "+errText(err),
			"make it a readable file, or move it out of "+r.f.Dir).LoaderError = err.Error()
		return
	}
	certs := pemCerts(data)
	r.f.CAs = append(r.f.CAs, CAFile{Name: name, Path: p, Certs: certs})
	if hasPrivateKey(data) {
		r.add(SeverityError, KindKeyInCert, name, "holds a private key next to the certificate; a .crt file is public, and no loader reads a key from it",
			"keep only the CERTIFICATE block in "+p+" and move the key out of certs.d")
	}
	if len(certs) == 0 {
		fix := "replace it with the CA certificate in PEM form"
		if _, err := x509.ParseCertificate(data); err == nil {
			fix = fmt.Sprintf("it is DER; convert it: openssl x509 -inform der -in %s -out %s", p, p)
		}
		r.loose = append(r.loose, looseFailure{problem: len(r.f.Problems), err: fmt.Sprintf("unable to load CA cert %q", p), raise: true})
		r.add(SeverityWarning, KindNotPEM, name, "is not a PEM certificate; Docker and podman silently ignore it", fix)
		return
	}
	for _, c := range certs {
		what := "CA certificate " + describe(c)
		if !(c.IsCA && c.BasicConstraintsValid) {
			r.add(SeverityWarning, KindNotCA, name, fmt.Sprintf("holds %s, which is not a CA: it only helps if the registry serves exactly this certificate", describe(c)),
				"put the CA that signed the registry's certificate here instead (certkit's is ca.crt in the certkit home's ca folder)")
			what = "certificate " + describe(c)
		}
		r.validity(name, what, c, SeverityWarning, "replace it with the current CA certificate")
	}
}

func (r *reader) pair(certName string) {
	stem := strings.TrimSuffix(certName, CertExt)
	keyName := stem + KeyExt
	p := Pair{Name: stem, CertPath: r.path(certName)}
	certPEM, certErr := readFile(p.CertPath)
	if certErr == nil {
		if certs := pemCerts(certPEM); len(certs) > 0 {
			p.Cert = certs[0]
		}
	}
	if !r.names[keyName] {
		msg := fmt.Sprintf("missing key %s for client certificate %s. CA certificates must use the extension .crt", keyName, certName)
		p.Err = errors.New(msg)
		r.f.Pairs = append(r.f.Pairs, p)
		fix := fmt.Sprintf("put the client key beside it as %s, or move %s out of the folder", r.path(keyName), p.CertPath)
		if p.Cert != nil && p.Cert.IsCA {
			fix = fmt.Sprintf("it is a CA certificate: rename it to %s", r.path(stem+CAExt))
		}
		if certErr == nil {
			// containerd looks for the key in the .cert itself.
			if _, err := tls.X509KeyPair(certPEM, certPEM); err != nil {
				r.loose = append(r.loose, looseFailure{problem: len(r.f.Problems), err: "failed to load X509 key pair: " + err.Error()})
			}
		}
		r.add(SeverityError, KindUnpairedCert, certName, fmt.Sprintf("has no %s beside it: Docker and podman fail every pull and login for this registry with %q", keyName, msg),
			fix).LoaderError = msg
		return
	}
	p.KeyPath = r.path(keyName)
	r.keyMode(keyName)
	keyPEM, keyErr := readFile(p.KeyPath)
	if certErr != nil || keyErr != nil {
		err := certErr
		if err == nil {
			err = keyErr
		}
		p.Err = err
		r.f.Pairs = append(r.f.Pairs, p)
		r.add(SeverityError, KindUnreadable, certName, "cannot be read: "+errText(err), "make both files readable by the container runtime").LoaderError = err.Error()
		return
	}
	p.TLS, p.Err = tls.X509KeyPair(certPEM, keyPEM) // what tls.LoadX509KeyPair does after reading
	r.f.Pairs = append(r.f.Pairs, p)
	if hasPrivateKey(certPEM) {
		r.add(SeverityWarning, KindKeyInCert, certName, "holds a private key as well as the certificate; only containerd reads a combined file, and "+certName+" is meant to be public",
			"keep only the certificate in "+p.CertPath+" (the key belongs in "+keyName+")")
	}
	if p.Err != nil {
		kind, msg, fix := r.pairError(p, keyPEM)
		r.loose = append(r.loose, looseFailure{problem: len(r.f.Problems), err: "failed to load X509 key pair: " + p.Err.Error()})
		r.add(SeverityError, kind, certName, msg, fix).LoaderError = p.Err.Error()
		return
	}
	c := p.Cert
	if c == nil { // X509KeyPair succeeded, so there is one
		c, _ = x509.ParseCertificate(p.TLS.Certificate[0])
		p.Cert = c
		r.f.Pairs[len(r.f.Pairs)-1].Cert = c
	}
	if c.IsCA && c.BasicConstraintsValid {
		r.add(SeverityError, KindCAKey, certName, fmt.Sprintf("is a CA certificate (%s) with its private key in %s: a CA key must never be in certs.d", describe(c), keyName),
			fmt.Sprintf("move %s out of the folder to where the CA is kept; a CA certificate belongs here as %s", p.KeyPath, stem+CAExt))
		return
	}
	if !clientAuth(c) {
		what := "has no clientAuth in its extended key usage"
		if hasEKU(c, x509.ExtKeyUsageServerAuth) {
			what = "is a server certificate (serverAuth, no clientAuth)"
		}
		r.add(SeverityError, KindNoClientAuth, certName, what+": the registry rejects it with \"bad certificate\"",
			"issue a client certificate: certkit issue client --host "+r.opt.Name)
	}
	r.validity(certName, "client certificate "+describe(c), c, SeverityError, "issue a new one: certkit issue client --host "+r.opt.Name)
}

// pairError explains why a pair does not load.
func (r *reader) pairError(p Pair, keyPEM []byte) (kind Kind, msg, fix string) {
	loaderSays := fmt.Sprintf("Docker and podman fail every pull for this registry with %q", p.Err.Error())
	if p.Cert == nil {
		return KindNotPEM, "holds no PEM certificate: " + loaderSays, "replace it with the client certificate in PEM form"
	}
	key, err := ca.ParseKey(keyPEM)
	switch {
	case errors.Is(err, ca.ErrEncryptedKey):
		return KindEncryptedKey, fmt.Sprintf("%s is encrypted; no container runtime can read an encrypted key: %s", filepath.Base(p.KeyPath), loaderSays),
			fmt.Sprintf("decrypt it in place: openssl pkey -in %s -out %s (it stays 0600)", p.KeyPath, p.KeyPath)
	case err != nil:
		return KindBadKey, fmt.Sprintf("%s is not a usable private key (%v): %s", filepath.Base(p.KeyPath), err, loaderSays),
			"put the key that belongs to " + p.CertPath + " in " + p.KeyPath
	case !ca.KeyMatches(p.Cert.PublicKey, key):
		return KindKeyMismatch, fmt.Sprintf("%s does not belong to %s: %s", filepath.Base(p.KeyPath), filepath.Base(p.CertPath), loaderSays),
			"install the matching pair again: certkit install --force --host " + r.opt.Name
	}
	return KindBadPair, "cannot be loaded: " + loaderSays, "replace both files with a working pair: certkit install --force --host " + r.opt.Name
}

func (r *reader) strayKeyFile(name, stem string) {
	msg := fmt.Sprintf("missing client certificate %s for key %s", stem+CertExt, name)
	r.keyMode(name)
	var pub crypto.PublicKey
	if data, err := readFile(r.path(name)); err == nil {
		if k, err := ca.ParseKey(data); err == nil {
			pub = k.Public()
		}
	}
	r.keys = append(r.keys, strayKey{file: name, key: pub, problem: len(r.f.Problems)})
	r.add(SeverityError, KindStrayKey, name, fmt.Sprintf("has no %s beside it: Docker and podman fail every pull and login for this registry with %q", stem+CertExt, msg),
		fmt.Sprintf("move %s out of certs.d (a CA or server key never belongs here; a client key needs its certificate as %s)", r.path(name), stem+CertExt)).LoaderError = msg
}

// keyMode flags private keys that other users can read.
func (r *reader) keyMode(name string) {
	fi, err := os.Stat(r.path(name))
	if err != nil || !fi.Mode().IsRegular() {
		return
	}
	switch m := fi.Mode().Perm(); {
	case m&0o004 != 0:
		r.add(SeverityError, KindKeyReadable, name, fmt.Sprintf("is readable by every user on this machine (mode %04o)", m), "chmod 600 "+r.path(name))
	case m&0o040 != 0:
		r.add(SeverityWarning, KindKeyReadable, name, fmt.Sprintf("is readable by its group (mode %04o)", m), "chmod 600 "+r.path(name))
	}
}

// otherFile looks into files no loader reads for private keys left behind.
func (r *reader) otherFile(name string) {
	fi, err := os.Stat(r.path(name))
	if err != nil {
		return
	}
	if fi.IsDir() || !fi.Mode().IsRegular() || fi.Size() > 1<<20 {
		return
	}
	data, err := readFile(r.path(name))
	if err != nil || !hasPrivateKey(data) {
		return
	}
	var pub crypto.PublicKey
	if k, err := ca.ParseKey(data); err == nil {
		pub = k.Public()
	}
	r.keys = append(r.keys, strayKey{file: name, key: pub, problem: len(r.f.Problems)})
	r.add(SeverityError, KindStrayKey, name, "holds a private key that no container runtime uses here; a CA or server key never belongs in certs.d",
		"move "+r.path(name)+" out of certs.d")
}

// containerdLoose marks the problems containerd fails on when it reads the
// loose files: without a usable hosts.toml it loads every .crt (failing on
// one that holds no PEM certificate, which Docker and podman skip) and
// every .cert (with NAME.key, else looking for the key in the .cert).
func (r *reader) containerdLoose() {
	for _, l := range r.loose {
		p := &r.f.Problems[l.problem]
		p.ContainerdError = l.err
		if l.raise {
			p.Severity = SeverityError
			p.Message += fmt.Sprintf(", but containerd (and Docker's containerd image store) fails for this registry with %q", l.err)
		}
	}
}

// checkStrayKeys names the CA or server key among the stray keys, and
// turns their kind from KindStrayKey into KindCAKey or KindServerKey.
func (r *reader) checkStrayKeys() {
	for _, k := range r.keys {
		pk, ok := k.key.(interface{ Equal(crypto.PublicKey) bool })
		if !ok {
			continue
		}
		for _, c := range r.f.CAs {
			for _, cert := range c.Certs {
				if !pk.Equal(cert.PublicKey) {
					continue
				}
				what, kind := "the private key of the server certificate in "+c.Name, KindServerKey
				if cert.IsCA {
					what, kind = "the private key of the CA in "+c.Name+": whoever reads it can issue certificates your registry trusts", KindCAKey
				}
				p := &r.f.Problems[k.problem]
				p.Kind = kind
				p.Message = "is " + what + "; " + p.Message
				p.Fix = "move " + r.path(k.file) + " out of certs.d, to where that key is kept"
			}
		}
	}
}

// checkChains checks that each loadable client certificate chains to one of
// the folder's CAs (certkit signs server and client with one CA).
func (r *reader) checkChains() {
	if len(r.f.CAs) == 0 {
		return
	}
	roots := x509.NewCertPool()
	for _, c := range r.f.CAs {
		for _, cert := range c.Certs {
			roots.AddCert(cert)
		}
	}
	for _, p := range r.f.Pairs {
		if p.Err != nil || p.Cert == nil {
			continue
		}
		inter := x509.NewCertPool()
		for _, der := range p.TLS.Certificate[1:] {
			if c, err := x509.ParseCertificate(der); err == nil {
				inter.AddCert(c)
			}
		}
		// Expiry is reported on its own; check the chain at a time the
		// leaf is valid.
		at := r.now
		if at.After(p.Cert.NotAfter) || at.Before(p.Cert.NotBefore) {
			at = p.Cert.NotBefore.Add(p.Cert.NotAfter.Sub(p.Cert.NotBefore) / 2)
		}
		_, err := p.Cert.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: at, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
		if err != nil {
			r.add(SeverityWarning, KindUntrustedClient, filepath.Base(p.CertPath), fmt.Sprintf("is not signed by a CA in this folder (%v); the registry must trust its issuer for client certificates", err),
				"install the CA that signed it, or the client certificate of this registry's CA: certkit install --host "+r.opt.Name)
		}
	}
}

func (r *reader) validity(file, what string, c *x509.Certificate, expiredSev Severity, fix string) {
	switch {
	case r.now.After(c.NotAfter):
		r.add(expiredSev, KindExpired, file, fmt.Sprintf("%s expired on %s", what, c.NotAfter.UTC().Format(time.DateOnly)), fix)
	case r.now.Before(c.NotBefore):
		r.add(expiredSev, KindNotYetValid, file, fmt.Sprintf("%s is not valid before %s (check this machine's clock)", what, c.NotBefore.UTC().Format(time.RFC3339)), fix)
	case c.NotAfter.Sub(r.now) < r.opt.ExpiryWarning:
		days := int(c.NotAfter.Sub(r.now).Hours() / 24)
		r.add(SeverityWarning, KindExpiring, file, fmt.Sprintf("%s expires in %d days, on %s", what, days, c.NotAfter.UTC().Format(time.DateOnly)), fix)
	}
}

func (r *reader) manifest() {
	m, err := readManifest(r.f.Dir)
	if err != nil {
		r.add(SeverityWarning, KindBadManifest, ManifestFile, "cannot be read ("+err.Error()+"); certkit uninstall will not know which files certkit installed",
			"run certkit install --force --host "+r.opt.Name+" to write it again")
		return
	}
	r.f.Manifest = m
}

func (r *reader) readHostsTOML() {
	if !r.names[HostsFile] {
		return
	}
	p := r.path(HostsFile)
	data, err := readFile(p)
	if err != nil {
		r.add(SeverityError, KindUnreadable, HostsFile, "cannot be read: "+errText(err)+"; containerd fails for this registry", "make it readable by containerd").ContainerdError = err.Error()
		return
	}
	h := parseHostsTOML(r.f.Dir, data)
	h.Path = p
	r.f.HostsTOML = h
	if len(data) == 0 {
		r.add(SeverityWarning, KindHostsTOMLEmpty, HostsFile, "is empty; containerd reads the loose files instead",
			"remove it, or run: certkit install --target containerd --host "+r.opt.Name)
		r.f.HostsTOML = nil
		return
	}
	if h.Err != nil {
		r.add(SeverityError, KindHostsTOMLSyntax, HostsFile, "cannot be parsed ("+h.Err.Error()+"); containerd logs the error and falls back to the loose files",
			"fix the TOML syntax, or remove it and run: certkit install --target containerd --host "+r.opt.Name)
		return
	}
	r.checkServer(h)
	used := map[string]bool{}
	for _, u := range h.Uses() {
		used[u] = true
	}
	for _, e := range h.Hosts {
		for _, c := range e.CA {
			data, err := readFile(c)
			switch {
			case err != nil:
				r.add(SeverityError, KindHostsTOMLUnreadableFile, HostsFile, fmt.Sprintf("names the CA file %s, which containerd cannot read: %s", c, errText(err)),
					"fix the ca entry in "+p).ContainerdError = fmt.Sprintf("unable to read CA cert %q: %v", c, err)
			case len(pemCerts(data)) == 0:
				r.add(SeverityError, KindHostsTOMLNotPEM, HostsFile, fmt.Sprintf("names the CA file %s, which holds no PEM certificate; containerd fails with \"unable to load CA cert\"", c),
					"fix the ca entry in "+p).ContainerdError = fmt.Sprintf("unable to load CA cert %q", c)
			}
		}
		for _, pair := range e.Client {
			certPEM, err := readFile(pair[0])
			if err != nil {
				r.add(SeverityError, KindHostsTOMLUnreadableFile, HostsFile, fmt.Sprintf("names the client certificate %s, which containerd cannot read: %s", pair[0], errText(err)),
					"fix the client entry in "+p).ContainerdError = fmt.Sprintf("unable to read CERT file %q: %v", pair[0], err)
				continue
			}
			keyPEM := certPEM
			if pair[1] != "" {
				if keyPEM, err = readFile(pair[1]); err != nil {
					r.add(SeverityError, KindHostsTOMLUnreadableFile, HostsFile, fmt.Sprintf("names the client key %s, which containerd cannot read: %s", pair[1], errText(err)),
						"fix the client entry in "+p).ContainerdError = fmt.Sprintf("unable to read CERT file %q: %v", pair[1], err)
					continue
				}
			}
			if _, err := tls.X509KeyPair(certPEM, keyPEM); err != nil {
				r.add(SeverityError, KindHostsTOMLBadPair, HostsFile, fmt.Sprintf("names the client pair %s, %s, which containerd cannot load: %v", pair[0], pair[1], err),
					"fix the client entry in "+p).ContainerdError = "failed to load X509 key pair: " + err.Error()
			}
		}
		if e.SkipVerify != nil && *e.SkipVerify {
			r.add(SeverityWarning, KindSkipVerify, HostsFile, "sets skip_verify = true for "+e.URL+": containerd does not check the registry's certificate", "remove skip_verify and name the CA with ca = \"ca.crt\"")
		}
	}
	for _, name := range r.looseNames() {
		if !used[r.path(name)] {
			r.add(SeverityWarning, KindHiddenByHostsTOML, name, "is ignored by containerd: hosts.toml exists and does not name it (Docker and podman still read it)",
				"name it in "+p+" (ca = [...] for a .crt, client = [[\"NAME.cert\", \"NAME.key\"]] for a pair), or run: certkit install --target containerd --host "+r.opt.Name)
		}
	}
}

// checkServer compares hosts.toml's server with the registry the folder
// is named after.
func (r *reader) checkServer(h *HostsTOML) {
	if h.Server == "" {
		return
	}
	want, err := host.Parse(r.opt.Name)
	if err != nil {
		return // _default, or a folder not named after a registry
	}
	got := serverHost(h.Server)
	if !strings.EqualFold(got, want.String()) {
		r.add(SeverityWarning, KindHostsTOMLWrongServer, HostsFile, fmt.Sprintf("says server = %q, but the folder is for %s", h.Server, want),
			fmt.Sprintf("set server = %q", "https://"+want.String()))
	}
}

// looseNames lists the loose .crt, .cert and .key files, sorted.
func (r *reader) looseNames() []string {
	var out []string
	for n := range r.names {
		if strings.HasSuffix(n, CAExt) || strings.HasSuffix(n, CertExt) || strings.HasSuffix(n, KeyExt) {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// pemCerts returns the certificates x509.CertPool.AppendCertsFromPEM would
// add from data: CERTIFICATE blocks without headers that parse.
func pemCerts(data []byte) []*x509.Certificate {
	var out []*x509.Certificate
	for len(data) > 0 {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" || len(b.Headers) != 0 {
			continue
		}
		if c, err := x509.ParseCertificate(b.Bytes); err == nil {
			out = append(out, c)
		}
	}
	return out
}

func hasPrivateKey(data []byte) bool {
	for len(data) > 0 {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			return false
		}
		if strings.HasSuffix(b.Type, "PRIVATE KEY") {
			return true
		}
	}
	return false
}

func clientAuth(c *x509.Certificate) bool {
	// No extended key usage at all means any usage to Go's verifier.
	return len(c.ExtKeyUsage) == 0 && len(c.UnknownExtKeyUsage) == 0 ||
		hasEKU(c, x509.ExtKeyUsageClientAuth) || hasEKU(c, x509.ExtKeyUsageAny)
}

func hasEKU(c *x509.Certificate, u x509.ExtKeyUsage) bool {
	for _, e := range c.ExtKeyUsage {
		if e == u {
			return true
		}
	}
	return false
}

// describe names a certificate for messages: "CN=…" or its serial.
func describe(c *x509.Certificate) string {
	if c.Subject.CommonName != "" {
		return fmt.Sprintf("%q", c.Subject.CommonName)
	}
	return "with serial " + c.SerialNumber.Text(16)
}

// errText is an OS error without the path (messages name the file already).
func errText(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}
