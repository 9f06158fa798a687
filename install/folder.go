package install

import (
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
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
	// KindIgnoredCert: a file no runtime reads (ca.pem, ca.cer) holds a
	// certificate.
	KindIgnoredCert Kind = "ignored-cert"
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
	// suggest; empty for Docker's root. They carry the run's --home too
	// (HomeFlags), as every command certkit prints does.
	Flags string
	// HomeFlags are the run's " --home DIR" when it named its certkit
	// home, for the certkit issue commands the fixes suggest.
	HomeFlags string
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

	// pre holds the folder's files as already read (install's own read
	// of the folder), by path: not read again.
	pre map[string][]byte
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
	if data, ok := r.opt.pre[src]; ok {
		return data, nil
	}
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
