package install

import (
	"bytes"
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/certkit/certkit/ca"
	"github.com/certkit/certkit/host"
	"github.com/certkit/certkit/internal/prose"
	"github.com/certkit/certkit/internal/shellquote"
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
	// is in the folder (it matches a server certificate in a .crt, or its
	// name says so: server.key, NAME-server.key).
	KindServerKey Kind = "server-key"
	// KindMisnamedClientCert: a client certificate saved as NAME.crt beside
	// its key NAME.key: the loaders take the .crt for a CA and fail on the
	// key without NAME.cert.
	KindMisnamedClientCert Kind = "misnamed-client-cert"
	// KindSelfSignedClient: NAME.cert is a self-signed certificate (the old
	// openssl req -x509 recipe), which a registry that checks client
	// certificates against its CA does not trust.
	KindSelfSignedClient Kind = "self-signed-client"
	// KindCaseCollision: two names the loaders read differ only in case;
	// on a case-insensitive file system (macOS, Windows, Docker Desktop)
	// they are one file.
	KindCaseCollision Kind = "case-collision"
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
	// the folder (a registry set up with certkit trusts that CA for client
	// certificates too).
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
	// containerd therefore ignores (File is the loose file); install also
	// uses it for hosts.toml itself (File is hosts.toml), a user's that
	// does not name the files certkit installs beside it.
	KindHiddenByHostsTOML Kind = "hidden-by-hosts-toml"
)

// Problem is one finding about a registry folder.
type Problem struct {
	Severity Severity `json:"severity"`
	Kind     Kind     `json:"kind"`
	File     string   `json:"file,omitempty"` // name in the folder; empty for the folder itself
	// Path is, for a problem of hosts.toml with a file it names (kinds
	// hosts-toml-unreadable-file, hosts-toml-not-pem, hosts-toml-bad-pair),
	// that file, absolute (for a client pair, its certificate, or its key
	// when only the key cannot be read).
	Path    string `json:"path,omitempty"`
	Message string `json:"message"`
	Fix     string `json:"fix,omitempty"`
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
	// Flags are the flags that name the folder's certs root (" --target
	// podman --certs-dir DIR"), for the certkit install commands the fixes
	// suggest; empty for Docker's root.
	Flags string
	// HostsTOML: the folder's certs root has the containerd layout, where
	// certkit install writes a hosts.toml naming its files (the fixes
	// then say to run install with Flags); when false, the fixes about
	// hosts.toml name --target containerd.
	HostsTOML bool
	// ContainerdSkips: containerd never reads the folder's certs root
	// (Root.ContainerdReads is false: podman's roots, a per-user Docker
	// root, a --certs-dir containerd's config_path does not name), so what
	// fails only containerd's reading of the loose files (a .crt that is
	// not PEM, which Docker and podman ignore) stays a warning. False,
	// the default (a bare ReadFolder), takes the folder as one containerd
	// may read, and such a file as an error.
	ContainerdSkips bool
	// As is the path the folder read will have, when that is another one
	// (install and uninstall check a new folder beside the one it
	// replaces): the folder is reported at As, and a file hosts.toml names
	// in As (by a relative path, an absolute one, or through a symbolic
	// link to As) is read in the folder read, as containerd will read it
	// once the folder is in place. Empty: the folder's own path.
	As string
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
	r := &reader{opt: opt, now: opt.Now(), dir: dir, f: &Folder{Dir: dir}, names: map[string]bool{},
		crtProblems: map[string][]int{}, judged: map[string]bool{}, dropped: map[int]bool{}}
	if opt.As != "" && filepath.Clean(opt.As) != filepath.Clean(dir) {
		r.f.Dir = filepath.Clean(opt.As)
		r.as, _ = os.Stat(opt.As) // nil when it does not exist yet
	}
	for _, e := range entries {
		r.names[e.Name()] = true
	}
	for _, e := range entries {
		r.entry(e)
	}
	// A pair's certificate is judged once every .crt is read: whether it
	// signs one of them decides if its key is a CA key.
	for i := range r.f.Pairs {
		r.checkPair(i)
	}
	r.checkChains()
	r.checkStrayKeys()
	r.checkCase(entries)
	r.readHostsTOML()
	if h := r.f.HostsTOML; (h == nil || h.Err != nil) && !opt.ContainerdSkips {
		r.containerdLoose()
	}
	r.dropProblems()
	return r.f, nil
}

type reader struct {
	opt   ReadOptions
	now   time.Time
	dir   string // the folder read; f.Dir is where it is reported (ReadOptions.As)
	as    fs.FileInfo
	f     *Folder
	names map[string]bool
	keys  []strayKey // private keys found outside a pair
	// loose are the problems (by index) of loose files that containerd
	// fails on when it reads the loose files (no usable hosts.toml).
	loose []looseFailure
	// crtProblems are the problems (by index) about a .crt holding a
	// certificate that is not a CA, by file name: a later diagnosis of the
	// file (a client certificate saved as .crt) replaces them.
	crtProblems map[string][]int
	// judged are the pairs (by name) whose certificate is diagnosed as no
	// client certificate of the registry's CA (a CA's, a self-signed one);
	// the chain check does not repeat it.
	judged map[string]bool
	// dropped are problems (by index) replaced by a better diagnosis,
	// removed at the end (indexes stay valid until then).
	dropped map[int]bool
}

// dropProblems removes the problems replaced by a better diagnosis.
func (r *reader) dropProblems() {
	if len(r.dropped) == 0 {
		return
	}
	kept := r.f.Problems[:0]
	for i, p := range r.f.Problems {
		if !r.dropped[i] {
			kept = append(kept, p)
		}
	}
	r.f.Problems = kept
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

// path is the path of name in the folder, as reported.
func (r *reader) path(name string) string { return filepath.Join(r.f.Dir, name) }

// src is where the file at p, a path as reported, is read: in the folder
// read when p is in the folder as reported (ReadOptions.As), by its path
// or through a symbolic link to it; p itself otherwise.
func (r *reader) src(p string) string {
	if r.f.Dir == r.dir {
		return p
	}
	if rel, err := filepath.Rel(r.f.Dir, p); err == nil && filepath.IsLocal(rel) {
		return filepath.Join(r.dir, rel)
	}
	if r.as != nil {
		if fi, err := os.Stat(filepath.Dir(p)); err == nil && os.SameFile(fi, r.as) {
			return filepath.Join(r.dir, filepath.Base(p))
		}
	}
	return p
}

// read reads the file at p, a path as reported; an error names p.
func (r *reader) read(p string) ([]byte, error) {
	src := r.src(p)
	data, err := readFile(src)
	if err != nil && src != p {
		err = withPath(err, p)
	}
	return data, err
}

// stat is os.Stat of the file at p, a path as reported.
func (r *reader) stat(p string) (fs.FileInfo, error) {
	fi, err := os.Stat(r.src(p))
	if err != nil {
		err = withPath(err, p)
	}
	return fi, err
}

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
	data, err := r.read(p)
	if err != nil {
		// Docker and podman return this error for the whole folder.
		if fi, serr := r.stat(p); serr != nil || !fi.IsDir() { // containerd skips folders
			r.loose = append(r.loose, looseFailure{problem: len(r.f.Problems), err: fmt.Sprintf("unable to read CA cert %q: %v", p, err)})
		}
		msg, fix := r.unreadable(name, false, err)
		r.add(SeverityError, KindUnreadable, name, msg, fix).LoaderError = err.Error()
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
			// Never the same file for -in and -out: openssl truncates the
			// output before it reads the input.
			fix = fmt.Sprintf("it is DER; convert it: openssl x509 -inform der -in %s -out %s && mv %s %s", shellquote.Quote(p), shellquote.Quote(p+".pem"), shellquote.Quote(p+".pem"), shellquote.Quote(p))
		}
		r.loose = append(r.loose, looseFailure{problem: len(r.f.Problems), err: fmt.Sprintf("unable to load CA cert %q", p), raise: true})
		r.add(SeverityWarning, KindNotPEM, name, "is not a PEM certificate; Docker and podman silently ignore it", fix)
		return
	}
	for _, c := range certs {
		what := "CA certificate " + describe(c)
		notCA := !(c.IsCA && c.BasicConstraintsValid)
		first := len(r.f.Problems)
		if notCA {
			fix := "put the CA that signed the registry's certificate here instead (certkit's is ca.crt in the certkit home's ca folder)"
			if name != CAFileName && r.names[CAFileName] {
				// ca.crt is there (certkit installs it): the leftover goes,
				// to a name no runtime reads.
				fix = fmt.Sprintf("unless the registry serves exactly this certificate, move it out of the way (%s is the folder's CA file): %s",
					CAFileName, moveAside(p, ""))
			}
			r.add(SeverityWarning, KindNotCA, name, fmt.Sprintf("holds %s, which is not a CA: it only helps if the registry serves exactly this certificate", describe(c)), fix)
			what = "certificate " + describe(c)
		}
		r.validity(name, what, c, SeverityWarning, "replace it with the current CA certificate")
		if notCA {
			for i := first; i < len(r.f.Problems); i++ {
				r.crtProblems[name] = append(r.crtProblems[name], i)
			}
		}
	}
}

func (r *reader) pair(certName string) {
	stem := strings.TrimSuffix(certName, CertExt)
	keyName := stem + KeyExt
	p := Pair{Name: stem, CertPath: r.path(certName)}
	certPEM, certErr := r.read(p.CertPath)
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
			fix = "it is a CA certificate: " + r.caFileFix(certName, pemCerts(certPEM))
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
	keyPEM, keyErr := r.read(p.KeyPath)
	if certErr != nil || keyErr != nil {
		// The loaders read NAME.cert, then NAME.key, and stop at the first
		// that fails; each file that cannot be read is named.
		p.Err = certErr
		if p.Err == nil {
			p.Err = keyErr
		}
		r.f.Pairs = append(r.f.Pairs, p)
		loaderErr := p.Err.Error()
		for _, f := range []struct {
			name string
			key  bool
			err  error
		}{{certName, false, certErr}, {keyName, true, keyErr}} {
			if f.err == nil {
				continue
			}
			msg, fix := r.unreadable(f.name, f.key, f.err)
			r.add(SeverityError, KindUnreadable, f.name, msg, fix).LoaderError = loaderErr
			loaderErr = "" // the loaders stop at the first
		}
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
	if p.Cert == nil { // X509KeyPair succeeded, so there is one
		r.f.Pairs[len(r.f.Pairs)-1].Cert, _ = x509.ParseCertificate(p.TLS.Certificate[0])
	}
}

// checkPair judges the certificate of a pair that loads, once every file
// of the folder is read.
func (r *reader) checkPair(i int) {
	p := r.f.Pairs[i]
	if p.Err != nil || p.Cert == nil {
		return
	}
	c := p.Cert
	certName, keyName := filepath.Base(p.CertPath), filepath.Base(p.KeyPath)
	if c.IsCA && c.BasicConstraintsValid && r.isCAKey(c) {
		r.judged[p.Name] = true
		r.add(SeverityError, KindCAKey, certName, fmt.Sprintf("is a CA certificate (%s) with its private key in %s: a CA key must never be in certs.d", describe(c), keyName),
			fmt.Sprintf("move %s out of the folder to where the CA is kept; a CA certificate belongs here: %s", p.KeyPath, r.caFileFix(certName, []*x509.Certificate{c})))
		return
	}
	if selfSigned(c) && clientAuth(c) {
		// The old recipe: openssl req -new -x509 makes a self-signed
		// certificate (CA:TRUE with OpenSSL 3, no extended key usage)
		// that signs nothing else.
		r.judged[p.Name] = true
		r.add(SeverityWarning, KindSelfSignedClient, certName, fmt.Sprintf("is a self-signed client certificate (%s), as the old openssl req -x509 recipe made: a registry that checks client certificates against its CA (http.tls.clientcas) does not trust it, and Go clients do not even send it to a registry that names the CAs it accepts", describe(c)),
			fmt.Sprintf("move the old pair out of certs.d (%s), then issue a client certificate from the registry's CA and install it: certkit issue client --host %s, then %s",
				r.oldPairMove(p), r.host(), r.installCmd(false)))
		return
	}
	if !clientAuth(c) {
		what := "has no clientAuth in its extended key usage"
		if hasEKU(c, x509.ExtKeyUsageServerAuth) {
			what = "is a server certificate (serverAuth, no clientAuth)"
		}
		r.add(SeverityError, KindNoClientAuth, certName, what+": the registry rejects it with \"bad certificate\"",
			"issue a client certificate: certkit issue client --host "+r.host())
	}
	r.validity(certName, "client certificate "+describe(c), c, SeverityError, "issue a new one: certkit issue client --host "+r.host())
}

// oldPairMove is the command that moves a pair out of certs.d, into a
// folder of its own under ~/old-certs, per registry and pair name: the
// folder is made by this command (mkdir without -p), so that a second run,
// or another registry's pair of the same name, fails loudly rather than
// overwriting or skipping files.
func (r *reader) oldPairMove(p Pair) string {
	reg := "~/old-certs/" + shellquote.Quote(r.opt.Name)
	dst := reg + "/" + shellquote.Quote(p.Name)
	return fmt.Sprintf("mkdir -p -m 700 %s && mkdir -m 700 %s && mv %s %s %s/",
		reg, dst, shellquote.Quote(p.CertPath), shellquote.Quote(p.KeyPath), dst)
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
			decryptFix(p.KeyPath)
	case err != nil:
		return KindBadKey, fmt.Sprintf("%s is not a usable private key (%v): %s", filepath.Base(p.KeyPath), err, loaderSays),
			"put the key that belongs to " + p.CertPath + " in " + p.KeyPath
	case !ca.KeyMatches(p.Cert.PublicKey, key):
		return KindKeyMismatch, fmt.Sprintf("%s does not belong to %s: %s", filepath.Base(p.KeyPath), filepath.Base(p.CertPath), loaderSays),
			"install the matching pair again: " + r.installCmd(true)
	}
	return KindBadPair, "cannot be loaded: " + loaderSays, "replace both files with a working pair: " + r.installCmd(true)
}

func (r *reader) strayKeyFile(name, stem string) {
	msg := fmt.Sprintf("missing client certificate %s for key %s", stem+CertExt, name)
	r.keyMode(name)
	var pub crypto.PublicKey
	if data, err := r.read(r.path(name)); err == nil {
		if k, err := ca.ParseKey(data); err == nil {
			pub = k.Public()
		}
	}
	r.keys = append(r.keys, strayKey{file: name, key: pub, problem: len(r.f.Problems)})
	why := fmt.Sprintf("Docker and podman fail every pull and login for this registry with %q", msg)
	if r.opt.HostsTOML {
		// containerd's layout: only containerd reads this root, and it
		// ignores a key hosts.toml does not name. Still an error: a
		// private key does not belong in certs.d, and one certkit cannot
		// tell apart may be the registry's server key.
		why = "containerd, the only reader of this certs root, ignores it, but a private key does not belong in certs.d (Docker and podman would fail every pull on it)"
	}
	r.add(SeverityError, KindStrayKey, name, fmt.Sprintf("has no %s beside it: %s", stem+CertExt, why),
		fmt.Sprintf("move %s out of certs.d (a CA or server key never belongs here; a client key needs its certificate as %s)", r.path(name), stem+CertExt)).LoaderError = msg
}

// keyMode flags private keys that other users can read.
func (r *reader) keyMode(name string) {
	fi, err := r.stat(r.path(name))
	if err != nil || !fi.Mode().IsRegular() {
		return
	}
	switch m := fi.Mode().Perm(); {
	case m&0o004 != 0:
		r.add(SeverityError, KindKeyReadable, name, fmt.Sprintf("is readable by every user on this machine (mode %04o)", m), "chmod 600 "+shellquote.Quote(r.path(name)))
	case m&0o040 != 0:
		r.add(SeverityWarning, KindKeyReadable, name, fmt.Sprintf("is readable by its group (mode %04o)", m), "chmod 600 "+shellquote.Quote(r.path(name)))
	}
}

// otherFile looks into files no loader reads for private keys left behind.
func (r *reader) otherFile(name string) {
	fi, err := r.stat(r.path(name))
	if err != nil {
		return
	}
	if fi.IsDir() || !fi.Mode().IsRegular() || fi.Size() > 1<<20 {
		return
	}
	data, err := r.read(r.path(name))
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

// checkStrayKeys says what the stray keys are: the key of a CA, of the
// registry's server certificate, or of a client certificate saved as .crt.
func (r *reader) checkStrayKeys() {
	for _, k := range r.keys {
		if r.matchStrayKey(k) || !serverKeyName(k.file) {
			continue
		}
		// The message stays the loaders' words; the fix says what it is.
		p := &r.f.Problems[k.problem]
		p.Severity, p.Kind = SeverityError, KindServerKey
		p.Fix = fmt.Sprintf("move %s out of certs.d: by its name it is the registry's server key, which never belongs in certs.d (the registry reads it from its own configuration, http.tls.key)", r.path(k.file))
	}
}

// matchStrayKey looks for the certificate of a stray key among the .crt
// files, rewrites the key's problem accordingly, and reports whether it
// found one.
func (r *reader) matchStrayKey(k strayKey) bool {
	pk, ok := k.key.(interface{ Equal(crypto.PublicKey) bool })
	if !ok {
		return false
	}
	for _, c := range r.f.CAs {
		for i, cert := range c.Certs {
			if !pk.Equal(cert.PublicKey) {
				continue
			}
			p := &r.f.Problems[k.problem]
			moveOut := "move " + r.path(k.file) + " out of certs.d, to where that key is kept"
			isCA := cert.IsCA && cert.BasicConstraintsValid
			caKey := func() {
				p.Severity, p.Kind, p.Fix = SeverityError, KindCAKey, moveOut
				p.Message = "is the private key of the CA in " + c.Name + ": whoever reads it can issue certificates your registry trusts; " + p.Message
			}
			switch {
			case isCA && (cert.KeyUsage&x509.KeyUsageCertSign != 0 || r.signsOther(cert)):
				caKey()
			case r.isServerCert(cert, k.file):
				p.Severity, p.Kind, p.Fix = SeverityError, KindServerKey, moveOut
				p.Message = "is the private key of the server certificate in " + c.Name + "; " + p.Message
			case isCA && !selfSigned(cert):
				caKey()
			case clientAuth(cert) && i == 0 && r.misnamedPair(p, k, c.Name, cert):
				// A self-signed CA:TRUE certificate that signs nothing is
				// the old recipe's client certificate (openssl req -x509).
			case isCA:
				caKey()
			default:
				p.Message = fmt.Sprintf("is the private key of the certificate %s in %s, which is neither a CA nor a client certificate; %s", describe(cert), c.Name, p.Message)
				p.Fix = moveOut
			}
			return true
		}
	}
	return false
}

// misnamedPair rewrites the problem of a stray key whose client
// certificate is saved as a .crt (crtName): the classic client.crt beside
// client.key. It reports false when no rename can make them a pair.
func (r *reader) misnamedPair(p *Problem, k strayKey, crtName string, cert *x509.Certificate) bool {
	var fix, certAs string
	if stem, ok := strings.CutSuffix(k.file, KeyExt); ok {
		// NAME.key is stray, so NAME.cert is free.
		certAs = stem + CertExt
		fix = fmt.Sprintf("mv %s %s", shellquote.Quote(r.path(crtName)), shellquote.Quote(r.path(certAs)))
	} else {
		stem := strings.TrimSuffix(crtName, CAExt)
		certAs = stem + CertExt
		if r.names[certAs] || r.names[stem+KeyExt] {
			return false
		}
		fix = fmt.Sprintf("mv %s %s && mv %s %s", shellquote.Quote(r.path(crtName)), shellquote.Quote(r.path(certAs)), shellquote.Quote(r.path(k.file)), shellquote.Quote(r.path(stem+KeyExt)))
	}
	// One diagnosis for both files: the .crt's own problems (not a CA,
	// expiring) were about a CA file it is not.
	for _, i := range r.crtProblems[crtName] {
		r.dropped[i] = true
	}
	p.Kind, p.File, p.Fix = KindMisnamedClientCert, crtName, fix
	p.Message = fmt.Sprintf("is a client certificate (%s), and %s beside it is its key: saved as .crt instead of %s, Docker and podman take it for a CA", describe(cert), k.file, certAs)
	if p.LoaderError != "" {
		p.Message += fmt.Sprintf(" and fail every pull and login for this registry with %q", p.LoaderError)
	} else {
		p.Message += " and no runtime sends it"
	}
	return true
}

// isServerCert says whether cert (whose key is in keyFile) is the
// registry's server certificate: serverAuth without clientAuth; or, when
// it may serve (serverAuth, or no extended key usage, as openssl req -x509
// makes), the key's name or the certificate's names say so.
func (r *reader) isServerCert(cert *x509.Certificate, keyFile string) bool {
	serverAuth := hasEKU(cert, x509.ExtKeyUsageServerAuth)
	if serverAuth && !clientAuth(cert) {
		return true
	}
	if !serverAuth && (len(cert.ExtKeyUsage) > 0 || len(cert.UnknownExtKeyUsage) > 0) {
		return false
	}
	if serverKeyName(keyFile) {
		return true
	}
	reg, err := host.Parse(r.opt.Name)
	if err != nil {
		return false
	}
	return cert.VerifyHostname(reg.Hostname()) == nil || strings.EqualFold(cert.Subject.CommonName, reg.Hostname())
}

// serverKeyName says whether a file's name says it holds a server key:
// server.key, NAME-server.key, server-chain.pem.
func serverKeyName(name string) bool {
	stem := strings.ToLower(strings.TrimSuffix(name, filepath.Ext(name)))
	return stem == "server" || strings.HasSuffix(stem, "-server") || strings.HasSuffix(stem, "server-chain")
}

// isCAKey says whether the CA certificate c of a pair, whose key is in the
// folder, is a CA that matters here: one made to sign certificates
// (keyCertSign), one of the folder's CA files, or the signer of a
// certificate in the folder. A self-signed CA:TRUE certificate that signs
// nothing is the old recipe's client certificate, not a CA.
func (r *reader) isCAKey(c *x509.Certificate) bool {
	if c.KeyUsage&x509.KeyUsageCertSign != 0 {
		return true
	}
	for _, f := range r.f.CAs {
		for _, x := range f.Certs {
			if x.Equal(c) {
				return true
			}
		}
	}
	return r.signsOther(c)
}

// signsOther says whether c signs a certificate of the folder other than
// itself (in a CA file, or a pair's certificate or chain).
func (r *reader) signsOther(c *x509.Certificate) bool {
	signs := func(x *x509.Certificate) bool {
		return !x.Equal(c) && bytes.Equal(x.RawIssuer, c.RawSubject) && x.CheckSignatureFrom(c) == nil
	}
	for _, f := range r.f.CAs {
		for _, x := range f.Certs {
			if signs(x) {
				return true
			}
		}
	}
	for _, p := range r.f.Pairs {
		if p.Err != nil {
			continue
		}
		for _, der := range p.TLS.Certificate {
			if x, err := x509.ParseCertificate(der); err == nil && signs(x) {
				return true
			}
		}
	}
	return false
}

// selfSigned says whether c is signed by its own key.
func selfSigned(c *x509.Certificate) bool {
	return bytes.Equal(c.RawIssuer, c.RawSubject) && c.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature) == nil
}

// caFileFix says where a CA certificate found in file name belongs: as
// STEM.crt, or, when STEM.crt exists, under a free name (a rename must not
// overwrite another CA file), or nowhere when STEM.crt holds it already.
func (r *reader) caFileFix(name string, certs []*x509.Certificate) string {
	stem := name[:len(name)-len(filepath.Ext(name))]
	want := stem + CAExt
	if !r.names[want] {
		return "rename it to " + r.path(want)
	}
	if data, err := r.read(r.path(want)); err == nil && len(certs) > 0 {
		have := pemCerts(data)
		all := true
		for _, c := range certs {
			found := false
			for _, h := range have {
				found = found || h.Equal(c)
			}
			all = all && found
		}
		if all {
			return fmt.Sprintf("%s holds this certificate already; remove the copy: rm %s", want, shellquote.Quote(r.path(name)))
		}
	}
	free := want
	for n := 2; r.names[free]; n++ {
		free = fmt.Sprintf("%s-%d%s", stem, n, CAExt)
	}
	return fmt.Sprintf("%s exists and holds another certificate, so give it a name of its own: mv %s %s", want, shellquote.Quote(r.path(name)), shellquote.Quote(r.path(free)))
}

// checkChains checks that each loadable client certificate chains to one of
// the folder's CAs (certkit signs server and client with one CA).
func (r *reader) checkChains() {
	if len(r.f.CAs) == 0 {
		return
	}
	roots := x509.NewCertPool()
	var cas []string
	for _, c := range r.f.CAs {
		var names []string
		for _, cert := range c.Certs {
			roots.AddCert(cert)
			names = append(names, describe(cert))
		}
		if len(names) > 0 {
			cas = append(cas, c.Name+": "+strings.Join(names, ", "))
		}
	}
	for _, p := range r.f.Pairs {
		if p.Err != nil || p.Cert == nil || r.judged[p.Name] {
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
		if err == nil {
			continue
		}
		certName := filepath.Base(p.CertPath)
		msg := fmt.Sprintf("is not signed by a CA in this folder (%v)", err)
		var ua x509.UnknownAuthorityError
		if errors.As(err, &ua) {
			issuer := p.Cert.Issuer.CommonName
			if issuer == "" {
				issuer = p.Cert.Issuer.String()
			}
			msg = fmt.Sprintf("is issued by %q, not by a CA in this folder (%s)", issuer, strings.Join(cas, "; "))
		}
		// certkit's registry trusts the CA that signed its own certificate
		// (the one in ca.crt) for client certificates too.
		msg += ": a registry that trusts this folder's CA for client certificates, as one set up with certkit does, refuses it"
		r.add(SeverityWarning, KindUntrustedClient, certName, msg, r.untrustedFix(p))
	}
}

// untrustedFix is the fix for a client pair that no CA of the folder
// signed. Read offline, the folder cannot say which side changed: the CA
// file (replaced, or never the CA that issued the pair) or the pair (from
// another CA). Both are named, each with its commands: install takes
// --force where it replaces a file certkit installed (a CA file changed
// since, a pair it installed), and a file of the user's under the name
// install writes is moved out first (install never replaces one).
func (r *reader) untrustedFix(p Pair) string {
	var files []string
	forceCA := false
	for _, c := range r.f.CAs { // at least one: checkChains needs it
		files = append(files, c.Name)
		// certkit's, changed since it installed it: install puts it back
		// only with --force
		if want, own := r.f.Manifest.Has(c.Name); own {
			data, err := r.read(c.Path)
			forceCA = forceCA || err == nil && sum(data) != want
		}
	}
	certName := p.Name + CertExt
	caSide := fmt.Sprintf("%s was replaced or is not the CA that issued %s", files[0], certName)
	if len(files) > 1 {
		caSide = fmt.Sprintf("the CA files (%s) were replaced or none of them is the CA that issued %s", strings.Join(files, ", "), certName)
	}
	caFix := "reinstall the right CA: " + r.installCmd(forceCA)
	if _, own := r.f.Manifest.Has(CAFileName); !own && r.names[CAFileName] {
		caFix = fmt.Sprintf("move %s out of the folder and %s", r.path(CAFileName), caFix)
	}
	issue := "certkit issue client --host " + r.host()
	if p.Name != "client" {
		issue += " --name " + shellquote.Quote(p.Name)
	}
	_, ownPair := r.f.Manifest.Has(certName)
	pairFix := fmt.Sprintf("issue a new one from this folder's CA, in the certkit home that holds it: %s, then %s", issue, r.installCmd(ownPair))
	if !ownPair {
		pairFix = fmt.Sprintf("move %s and %s out of certs.d and %s", p.CertPath, p.KeyPath, pairFix)
	}
	return fmt.Sprintf("either %s (%s), or %s comes from another CA (%s)", caSide, caFix, certName, pairFix)
}

// installCmd is the certkit install command for the folder's registry and
// certs root, with --force when it must replace a file certkit installed.
func (r *reader) installCmd(force bool) string {
	return Command(r.opt.Name, force, r.opt.Flags)
}

// hostsTOMLCmd is the certkit install command that writes certkit's
// hosts.toml in the folder: in its certs root when that has the
// containerd layout (ReadOptions.HostsTOML), with --force when it must
// replace certkit's own one, changed; else into containerd's own certs
// root.
func (r *reader) hostsTOMLCmd(force bool) string {
	if r.opt.HostsTOML {
		return r.installCmd(force)
	}
	return Command(r.opt.Name, false, " --target containerd")
}

// replaceTOML is the command that has certkit write its hosts.toml in
// place of the folder's, which is empty or broken, and whether the
// folder's must be removed first: install --force replaces certkit's
// own, but never the user's, which goes first (install then needs --force
// only when the manifest cannot be read). Outside the containerd layout,
// install writes one into containerd's own certs root, and the folder's,
// which containerd would read too, goes first.
func (r *reader) replaceTOML() (cmd string, remove bool) {
	if _, own := r.f.Manifest.Has(HostsFile); r.opt.HostsTOML && own {
		return r.installCmd(true), false
	}
	if r.opt.HostsTOML {
		return r.installCmd(r.badManifest()), true
	}
	return r.hostsTOMLCmd(false), true
}

// badManifest reports whether the folder has a certkit manifest that
// cannot be read (install then needs --force).
func (r *reader) badManifest() bool { return r.names[ManifestFile] && r.f.Manifest == nil }

// ownTOML reports whether the folder's hosts.toml (data, parsed as h) is
// certkit's: in its manifest, or, when the manifest cannot be read,
// exactly what certkit install writes (renderedByCertkit). force: install
// must replace it with --force (changed since certkit wrote it, or no
// manifest to say it is certkit's).
func (r *reader) ownTOML(data []byte, h *HostsTOML) (own, force bool) {
	if want, ok := r.f.Manifest.Has(HostsFile); ok {
		return true, sum(data) != want
	}
	if r.badManifest() && renderedByCertkit(data, r.opt.Name, h, r.f.Dir) {
		return true, true
	}
	return false, false
}

// entryFix is the fix for an entry of hosts.toml (path) naming a file
// containerd cannot use: the user's hosts.toml is theirs to fix; certkit's
// own is not to be edited by hand (install would then refuse it as
// changed), install writes it again for the files the folder has now.
func (r *reader) entryFix(entry, path string, data []byte, h *HostsTOML) string {
	if own, force := r.ownTOML(data, h); own && r.opt.HostsTOML {
		return "certkit wrote this hosts.toml; run install again, which writes it for the files the folder has now: " + r.installCmd(force)
	}
	return "fix the " + entry + " entry in " + path
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
	m, err := readManifest(r.dir, "")
	if err != nil {
		r.add(SeverityWarning, KindBadManifest, ManifestFile, "cannot be read ("+err.Error()+"); certkit uninstall will not know which files certkit installed",
			"run "+r.installCmd(true)+" to write it again")
		return
	}
	r.f.Manifest = m
}

func (r *reader) readHostsTOML() {
	if !r.names[HostsFile] {
		return
	}
	p := r.path(HostsFile)
	data, err := r.read(p)
	if err != nil {
		r.add(SeverityError, KindUnreadable, HostsFile, "cannot be read: "+errText(err)+"; containerd fails for this registry", "make it readable by containerd").ContainerdError = err.Error()
		return
	}
	tomlData := data
	h := parseHostsTOML(r.f.Dir, data)
	h.Path = p
	r.f.HostsTOML = h
	if len(data) == 0 {
		fix := "remove it"
		if cmd, remove := r.replaceTOML(); remove {
			fix += " (then, for certkit to write one, run: " + cmd + ")"
		} else {
			fix += ", or run: " + cmd
		}
		r.add(SeverityWarning, KindHostsTOMLEmpty, HostsFile, "is empty; containerd reads the loose files instead", fix)
		r.f.HostsTOML = nil
		return
	}
	if h.Err != nil {
		cmd, remove := r.replaceTOML()
		r.add(SeverityError, KindHostsTOMLSyntax, HostsFile, "cannot be parsed ("+prose.Printable(h.Err.Error())+"); containerd logs the error and falls back to the loose files",
			"fix the TOML syntax, or "+map[bool]string{true: "remove it and run", false: "run"}[remove]+": "+cmd)
		return
	}
	r.checkServer(h)
	// Files are compared as files, not as path text: hosts.toml may name
	// them through a linked certs root.
	used := map[string]bool{}
	for _, u := range h.Uses() {
		used[realPath(u)] = true
	}
	// A file named by several entries (the [host] entry and the root
	// entry name the same ones) is checked, and reported, once.
	checked := map[string]bool{}
	for _, e := range h.Hosts {
		for _, c := range e.CA {
			if checked["ca\x00"+c] {
				continue
			}
			checked["ca\x00"+c] = true
			data, err := r.read(c)
			switch {
			case err != nil:
				pr := r.add(SeverityError, KindHostsTOMLUnreadableFile, HostsFile, fmt.Sprintf("names the CA file %s, which containerd cannot read: %s", c, errText(err)),
					r.entryFix("ca", p, tomlData, h))
				pr.Path, pr.ContainerdError = c, fmt.Sprintf("unable to read CA cert %q: %v", c, err)
			case len(pemCerts(data)) == 0:
				pr := r.add(SeverityError, KindHostsTOMLNotPEM, HostsFile, fmt.Sprintf("names the CA file %s, which holds no PEM certificate; containerd fails with \"unable to load CA cert\"", c),
					r.entryFix("ca", p, tomlData, h))
				pr.Path, pr.ContainerdError = c, fmt.Sprintf("unable to load CA cert %q", c)
			}
		}
		for _, pair := range e.Client {
			if checked["client\x00"+pair[0]+"\x00"+pair[1]] {
				continue
			}
			checked["client\x00"+pair[0]+"\x00"+pair[1]] = true
			certPEM, err := r.read(pair[0])
			if err != nil {
				pr := r.add(SeverityError, KindHostsTOMLUnreadableFile, HostsFile, fmt.Sprintf("names the client certificate %s, which containerd cannot read: %s", pair[0], errText(err)),
					r.entryFix("client", p, tomlData, h))
				pr.Path, pr.ContainerdError = pair[0], fmt.Sprintf("unable to read CERT file %q: %v", pair[0], err)
				continue
			}
			keyPEM := certPEM
			if pair[1] != "" {
				if keyPEM, err = r.read(pair[1]); err != nil {
					pr := r.add(SeverityError, KindHostsTOMLUnreadableFile, HostsFile, fmt.Sprintf("names the client key %s, which containerd cannot read: %s", pair[1], errText(err)),
						r.entryFix("client", p, tomlData, h))
					pr.Path, pr.ContainerdError = pair[1], fmt.Sprintf("unable to read CERT file %q: %v", pair[1], err)
					continue
				}
			}
			if _, err := tls.X509KeyPair(certPEM, keyPEM); err != nil {
				pr := r.add(SeverityError, KindHostsTOMLBadPair, HostsFile, fmt.Sprintf("names the client pair %s, %s, which containerd cannot load: %v", pair[0], pair[1], err),
					r.entryFix("client", p, tomlData, h))
				pr.Path, pr.ContainerdError = pair[0], "failed to load X509 key pair: "+err.Error()
			}
		}
		if e.SkipVerify != nil && *e.SkipVerify {
			r.add(SeverityWarning, KindSkipVerify, HostsFile, "sets skip_verify = true for "+e.URL+": containerd does not check the registry's certificate", "remove skip_verify and name the CA with ca = \"ca.crt\"")
		}
	}
	notPEM := map[string]bool{}
	for _, c := range r.f.CAs {
		notPEM[c.Name] = len(c.Certs) == 0
	}
	for _, name := range r.looseNames() {
		// A .crt that is not PEM is reported as such: named in hosts.toml,
		// it would make containerd fail. A key without its certificate is
		// a stray key (reported as such): no hosts.toml entry can name it.
		stray := strings.HasSuffix(name, KeyExt) && !r.names[strings.TrimSuffix(name, KeyExt)+CertExt]
		if !used[realPath(r.path(name))] && !notPEM[name] && !stray {
			fix := "name it in " + p + " (ca = [...] for a .crt, client = [[\"NAME.cert\", \"NAME.key\"]] for a pair)"
			// certkit's own hosts.toml names every PEM .crt of the folder
			// once install writes it again; elsewhere, install writes one
			// into containerd's certs root.
			if _, own := r.f.Manifest.Has(HostsFile); strings.HasSuffix(name, CAExt) && (own || !r.opt.HostsTOML) {
				fix += ", or run: " + r.hostsTOMLCmd(false)
			}
			r.add(SeverityWarning, KindHiddenByHostsTOML, name, "is ignored by containerd: hosts.toml exists and does not name it (Docker and podman still read it)", fix)
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

// unreadable says why a file the loaders read cannot be read, and what to
// do about it.
func (r *reader) unreadable(name string, key bool, err error) (msg, fix string) {
	p := r.path(name)
	if !errors.Is(err, fs.ErrPermission) {
		return "cannot be read: " + errText(err), "make it a readable file, or move it out of " + r.f.Dir
	}
	fi, serr := r.stat(p)
	return permissionText(p, key, fi, serr, os.Geteuid(), r.opt.Name)
}

// permissionText explains a file (a key when key is set) that this user
// (euid) may not read; fi is the file's, nil when statErr says it cannot
// even be looked at.
func permissionText(path string, key bool, fi fs.FileInfo, statErr error, euid int, registry string) (msg, fix string) {
	sudo := fmt.Sprintf("run the check as root: sudo certkit verify --offline --host %s (with the same --certs-dir or --target, if you gave one)", shellquote.Quote(registry))
	if statErr != nil || fi == nil {
		return "cannot be read by this user: permission denied", sudo
	}
	mode := fi.Mode().Perm()
	uid, _, ok := ownerOf(fi)
	switch {
	case !ok || uid == euid:
		// This user's own file, kept out by its mode.
		if key {
			return fmt.Sprintf("cannot be read: permission denied (mode %04o)", mode), "chmod 600 " + shellquote.Quote(path)
		}
		return fmt.Sprintf("cannot be read: permission denied (mode %04o)", mode), "chmod 644 " + shellquote.Quote(path)
	case !key:
		return fmt.Sprintf("cannot be read by this user: it belongs to %s and has mode %04o", userName(uid), mode),
			"a certificate is public: sudo chmod 644 " + shellquote.Quote(path)
	}
	as := ""
	if mode&0o077 == 0 {
		as = ", as a private key should"
	}
	return fmt.Sprintf("cannot be read by this user (uid %d): it belongs to %s and has mode %04o%s", euid, userName(uid), mode, as),
		sudo + ". A container runtime that runs as this user (rootless Docker, podman or skopeo without sudo) cannot read it either: " +
			"such a runtime needs its own pair in this user's certs.d: certkit install --target docker-rootless --host " + shellquote.Quote(registry) + " (or --target podman), run as this user"
}

// userName names the owner of a file: the user name, else the uid.
func userName(uid int) string {
	if u, err := user.LookupId(strconv.Itoa(uid)); err == nil && u.Username != "" {
		return u.Username
	}
	return "uid " + strconv.Itoa(uid)
}

// decryptFix is the command that decrypts a key safely: into a new file,
// made 0600, then renamed over the old one. Never openssl pkey -in K -out
// K: openssl opens its output first, which empties K before it is read.
func decryptFix(key string) string {
	k, n := shellquote.Quote(key), shellquote.Quote(key+".new")
	return fmt.Sprintf("decrypt it (openssl asks for its passphrase): openssl pkey -in %s -out %s && chmod 600 %s && mv %s %s", k, n, n, n, k)
}

// checkCase warns about names the loaders read that differ only in case:
// on a case-insensitive file system (macOS, Windows, Docker Desktop) they
// are one file.
func (r *reader) checkCase(entries []fs.DirEntry) {
	seen := map[string]string{}
	for _, e := range entries {
		n := e.Name()
		if !strings.HasSuffix(n, CAExt) && !strings.HasSuffix(n, CertExt) && !strings.HasSuffix(n, KeyExt) {
			continue
		}
		low := strings.ToLower(n)
		first, ok := seen[low]
		if !ok {
			seen[low] = n
			continue
		}
		r.add(SeverityWarning, KindCaseCollision, n, fmt.Sprintf("differs from %s only in case: on a case-insensitive file system (macOS, Windows, Docker Desktop) they are one file, and a copy of this folder there keeps only one of them", first),
			fmt.Sprintf("rename it to a name that differs from %s in more than case (a pair's .cert and .key together)", first))
	}
}

// host is the registry's name as a command argument.
func (r *reader) host() string { return shellquote.Quote(r.opt.Name) }
