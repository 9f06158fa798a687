// Package issue makes the leaf certificates of a registry: the server
// certificate the registry presents, and the client certificates Docker,
// podman and containerd send it. With package ca it is the only code that
// calls cfssl (its csr package makes each request); ca.Signer signs the
// request under one of certkit's explicit profiles.
//
// Files land in the certkit home, per registry:
//
//	hosts/<host[:port]>/server.crt        0644 the leaf (+ its issuing CAs)
//	                    server-chain.crt  0644 leaf + issuing CAs + root (a registry's tls.certificate)
//	                    server.key        0600
//	                    NAME.cert         0644 a client certificate
//	                    NAME.key          0600
package issue

import (
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/certkit/certkit/ca"
	"github.com/certkit/certkit/host"
	"github.com/certkit/certkit/internal/atomicfile"
	"github.com/certkit/certkit/internal/errs"
	"github.com/certkit/certkit/internal/home"
	"github.com/certkit/certkit/internal/safefs"
)

// Kind is the kind of certificate: server or client.
type Kind string

// The two kinds.
const (
	Server Kind = "server"
	Client Kind = "client"
)

// DefaultValidity is 825 days, the longest validity Apple's TLS clients
// accept for a server certificate; certkit uses it for clients too.
const DefaultValidity = 825 * 24 * time.Hour

// Options describe what to issue.
type Options struct {
	Home     string
	Registry host.Registry // from host.Parse
	Kind     Kind

	// Names are the client names (file stems and default CNs); default
	// ["client"]. Servers have none.
	Names []string
	// SANs are extra subject alternative names of a server certificate,
	// after the ones derived from Registry (see ParseSAN).
	SANs []SAN
	// CN is the Common Name. Servers default to the registry's host name
	// (when it fits in 64 characters); clients to their name. With several
	// client names CN must be empty.
	CN  string
	Org string // Organization, none by default

	KeyType  ca.KeyType    // default ecdsa-p256
	Validity time.Duration // default DefaultValidity; clamped to the CA's expiry
	Force    bool          // replace existing files, keeping backups

	// CA signs; nil loads it from Home with ca.Load.
	CA *ca.CA
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Workers bounds how many certificates are made at once; default
	// GOMAXPROCS (key generation and signing are CPU-bound).
	Workers int
}

// Result is what Issue made.
type Result struct {
	Registry host.Registry
	Kind     Kind
	KeyType  ca.KeyType
	Dir      string // the registry's folder in the home
	Certs    []Cert // in the order of the names
	SANs     []SAN  // of the server certificate
	NotAfter time.Time
	// Clamped is set when the validity asked for ran past the CA's
	// expiry and was cut to CANotAfter.
	Clamped    bool
	Requested  time.Duration
	CANotAfter time.Time
	Backups    []string
	// IssuerMade lists the files of the registry's issuing CA when this
	// run made it (a per-registry home's first certificate for it).
	IssuerMade []string
}

// Cert is one issued certificate.
type Cert struct {
	Name      string // "server", or the client name
	CN        string
	CertPath  string
	KeyPath   string
	ChainPath string // servers only
	SHA256    string // of the DER certificate, as openssl prints it
}

// CAExpiredError reports a CA that can no longer issue.
type CAExpiredError struct {
	NotAfter time.Time
	// Flags are the run's flags that name its certkit home (" --home
	// DIR"), for the command of the hint.
	Flags string
}

func (e *CAExpiredError) Error() string {
	return "the CA expired on " + e.NotAfter.UTC().Format(time.DateOnly)
}

// Hint says how to go on.
func (e *CAExpiredError) Hint() string {
	return "make a new CA with certkit init-ca --force" + e.Flags + ", then issue and install every certificate again"
}

// LoopbackWarning returns the warning for a registry on a loopback address
// (localhost, 127.0.0.0/8, ::1), or "" for any other registry. The text
// lives here once so that issue, install and verify say the same thing
// (certsd.md §4).
func LoopbackWarning(reg host.Registry) string {
	if !reg.IsLoopback() {
		return ""
	}
	return fmt.Sprintf("%s is a loopback registry: Docker's classic path sends no client certificate to one (README: the loopback trap)", reg)
}

// LoopbackFix is what to do about a loopback registry (LoopbackWarning).
const LoopbackFix = "to test for real, reach the registry by a name that resolves to a non-loopback address of this machine"

// PortWarning returns the warning for a registry named with port 443, the
// HTTPS default: image references without a port (reg/IMAGE) read the
// folder certs.d/reg, never certs.d/reg:443, so only references that spell
// reg:443/IMAGE use what certkit issues for it. Empty for any other name.
func PortWarning(reg host.Registry) string {
	if reg.Port != 443 {
		return ""
	}
	bare := reg
	bare.Port = 0
	return fmt.Sprintf("%s and %s are different certs.d folders: image references without a port (%s/IMAGE) read %s/ only; "+
		"unless your references say %s/IMAGE, use --host %s", reg, bare, bare, bare, reg, bare)
}

// Warnings are the warnings about how the runtimes treat the registry's
// name itself (LoopbackWarning, PortWarning), for every command that names
// one.
func Warnings(reg host.Registry) []string {
	var ws []string
	for _, w := range []string{LoopbackWarning(reg), PortWarning(reg)} {
		if w != "" {
			ws = append(ws, w)
		}
	}
	return ws
}

// Issue validates every input, then makes the certificates and writes
// them, all or none.
func Issue(opt Options) (_ *Result, err error) {
	now := time.Now
	if opt.Now != nil {
		now = opt.Now
	}
	if opt.Registry.Name == "" {
		return nil, errs.Input("no registry given", "pass --host, e.g. --host reg.example.com:5000")
	}
	if opt.KeyType == "" {
		opt.KeyType = ca.ECDSAP256
	}
	kt, err := ca.ParseKeyType(string(opt.KeyType))
	if err != nil {
		return nil, err
	}
	if opt.Validity == 0 {
		opt.Validity = DefaultValidity
	}
	if opt.Validity < 0 {
		return nil, errs.Input("validity must be positive", "")
	}
	if err := checkSubject("--cn", opt.CN); err != nil {
		return nil, err
	}
	if err := checkSubject("--org", opt.Org); err != nil {
		return nil, err
	}
	profile, err := profileFor(opt.Kind, kt)
	if err != nil {
		return nil, err
	}

	dir := home.HostDir(opt.Home, opt.Registry.String())
	res := &Result{Registry: opt.Registry, Kind: opt.Kind, KeyType: kt, Dir: dir, Requested: opt.Validity}
	var reqs []leafRequest
	switch opt.Kind {
	case Server:
		if len(opt.Names) > 0 {
			return nil, errs.Input("a server certificate has no client names", "drop --name")
		}
		res.SANs = ServerSANs(opt.Registry, opt.SANs)
		cn := opt.CN
		if cn == "" && len(opt.Registry.Hostname()) <= MaxNameLen {
			cn = opt.Registry.Hostname()
		}
		reqs = []leafRequest{{profile: profile, cn: cn, org: opt.Org, sans: res.SANs, keyType: kt}}
		res.Certs = []Cert{{
			Name: "server", CN: cn,
			CertPath:  filepath.Join(dir, home.ServerCert),
			KeyPath:   filepath.Join(dir, home.ServerKey),
			ChainPath: filepath.Join(dir, home.ServerChain),
		}}
	case Client:
		if len(opt.SANs) > 0 {
			return nil, errs.Input("client certificates carry no --san", "drop --san, or issue a server certificate")
		}
		names := opt.Names
		if len(names) == 0 {
			names = []string{DefaultClientName}
		}
		if err := checkNames(names); err != nil {
			return nil, err
		}
		if opt.CN != "" && len(names) > 1 {
			return nil, errs.Input("--cn names one certificate, but several names were given", "drop --cn: each certificate's Common Name is its name")
		}
		for _, n := range names {
			cn := n
			if opt.CN != "" {
				cn = opt.CN
			}
			reqs = append(reqs, leafRequest{profile: profile, cn: cn, org: opt.Org, keyType: kt})
			res.Certs = append(res.Certs, Cert{
				Name: n, CN: cn,
				CertPath: filepath.Join(dir, n+home.CertExt),
				KeyPath:  filepath.Join(dir, n+home.KeyExt),
			})
		}
	}

	// The home's lock is held from the check of what exists to the last
	// file written: two runs for one name cannot both succeed.
	release, err := home.Lock(opt.Home, false)
	if err != nil {
		return nil, err
	}
	defer release(false)

	// Every target is checked before the first key is made: a refused
	// batch costs nothing and changes nothing.
	if !opt.Force {
		var existing []string
		for _, c := range res.Certs {
			for _, p := range []string{c.CertPath, c.KeyPath, c.ChainPath} {
				if p != "" && atomicfile.Exists(p) {
					existing = append(existing, p)
				}
			}
		}
		if len(existing) > 0 {
			return nil, &atomicfile.ExistsError{Paths: existing}
		}
	}

	c, remote := opt.CA, (*ca.Remote)(nil)
	if c == nil {
		if c, remote, err = loadCA(opt.Home); err != nil {
			return nil, err
		}
	}
	t := now()
	res.CANotAfter = c.Cert.NotAfter
	if !t.Before(c.Cert.NotAfter) {
		return nil, &CAExpiredError{NotAfter: c.Cert.NotAfter}
	}
	notBefore := t.Add(-ca.Backdate).Truncate(time.Second)
	notAfter := t.Add(opt.Validity).Truncate(time.Second)
	// Compared as durations: t.Add of a huge validity could overflow.
	if opt.Validity >= c.Cert.NotAfter.Sub(t) {
		notAfter = c.Cert.NotAfter.Truncate(time.Second)
		res.Clamped = true
	}
	res.NotAfter = notAfter.UTC()
	for i := range reqs {
		reqs[i].notBefore, reqs[i].notAfter = notBefore, notAfter
	}

	root := c
	if remote == nil {
		if c, res.IssuerMade, err = signerFor(opt.Home, c, opt.Registry.String(), t); err != nil {
			return nil, err
		}
		if made := res.IssuerMade; len(made) > 0 {
			// A run that fails after it made the registry's issuing CA
			// takes it back: a failed command leaves no file behind.
			defer func() {
				if err != nil {
					for _, p := range made {
						_ = safefs.Remove(p)
					}
					safefs.RemoveEmpty([]string{filepath.Dir(made[0])})
				}
			}()
		}
	}
	ls, workers, err := newIssuer(c, remote, opt.Registry.String(), t, opt.Workers, len(reqs))
	if err != nil {
		return nil, err
	}
	defer closeIssuer(ls)
	if ri, ok := ls.(*remoteIssuer); ok {
		c = ri.signer // a per-registry signer's issuing CA
	}
	leaves, err := issueAll(ls, reqs, workers)
	if err != nil {
		return nil, err
	}

	var files []atomicfile.File
	for i, l := range leaves {
		cert := &res.Certs[i]
		cert.SHA256 = ca.FingerprintSum(l.sha256)
		files = append(files, leafFiles(l, c, root, cert.KeyPath, cert.CertPath, cert.ChainPath)...)
	}
	if res.Backups, err = writeLeaves(files, len(leaves), opt.Force, t, dir); err != nil {
		return nil, err
	}
	return res, nil
}

// leafFiles are the files of one leaf that c signed under root: its key
// (none when keyPath is empty: a key kept), its certificate followed by
// the issuing CAs between it and the root (c.Chain: a client sends them
// with its certificate, so that the registry reaches the root), and for
// a server the chain (leaf, issuing CAs, root) a registry's
// tls.certificate wants. root is the home's CA; its Root is the anchor.
func leafFiles(l *leaf, c, root *ca.CA, keyPath, certPath, chainPath string) []atomicfile.File {
	var files []atomicfile.File
	if keyPath != "" {
		files = append(files, atomicfile.File{Path: keyPath, Data: l.keyPEM, Mode: 0o600})
	}
	cert := append(append([]byte{}, l.certPEM...), c.ChainPEM()...)
	files = append(files, atomicfile.File{Path: certPath, Data: cert, Mode: 0o644})
	if chainPath != "" {
		chain := append(append([]byte{}, cert...), ca.EncodeCert(root.Root())...)
		files = append(files, atomicfile.File{Path: chainPath, Data: chain, Mode: 0o644})
	}
	return files
}

// signerFor is the CA that signs the leaves of registry (a folder name):
// in a per-registry home its issuing CA, made on first use (the caller
// holds the home's lock), else root itself.
func signerFor(homeDir string, root *ca.CA, registry string, t time.Time) (*ca.CA, []string, error) {
	if !ca.PerRegistry(homeDir) {
		return root, nil, nil
	}
	return ca.Issuer(homeDir, root, registry, t)
}

// writeLeaves writes the files of n leaves, all or none, and returns the
// backups of the files replaced (force). One fsync per file costs about
// 0.7 ms on a disk, so a thousand clients would spend well over a second
// flushing 2000 small files one by one. A batch is written with NoSync
// (each file still goes to a temporary name and is renamed, so no reader
// sees half a file, and WriteAll still makes the whole set all or
// nothing), then flushed once with syncfs. A single certificate keeps the
// per-file fsync, which is cheaper than flushing a whole file system.
func writeLeaves(files []atomicfile.File, n int, force bool, t time.Time, dir string) ([]string, error) {
	batch := n > 1
	w, err := atomicfile.WriteAll(files, atomicfile.Options{Force: force, Now: t, DirMode: 0o700, NoSync: batch})
	if err != nil {
		return nil, err
	}
	if batch {
		if err := atomicfile.SyncFS(dir); err != nil {
			return nil, fmt.Errorf("the certificates are in %s, but flushing them to disk failed: %w", dir, err)
		}
	}
	return w.Backups, nil
}

// loadCA loads the home's CA: its key, or the remote signer that holds it
// (remote is nil for a home with the key).
func loadCA(home string) (c *ca.CA, remote *ca.Remote, err error) {
	if remote, err = ca.LoadRemote(home); err == nil {
		return remote.CA, remote, nil
	} else if !errors.Is(err, ca.ErrNotRemote) {
		return nil, nil, err
	}
	c, err = ca.Load(home)
	return c, nil, err
}

// newIssuer is what signs n leaves of registry: the remote signer (with
// a bounded number of requests in flight; a per-registry signer under the
// registry's label), or the CA key; and how many workers issueAll runs.
func newIssuer(c *ca.CA, remote *ca.Remote, registry string, now time.Time, workers, n int) (leafIssuer, int, error) {
	if remote != nil {
		if workers <= 0 {
			workers = DefaultRemoteWorkers
		}
		ls, err := newRemoteIssuer(remote, min(workers, n), registry, now)
		return ls, workers, err
	}
	ls, err := newLeafSigner(c)
	return ls, workers, err
}

// closeIssuer lets a remote issuer's connections go.
func closeIssuer(ls leafIssuer) {
	if ri, ok := ls.(*remoteIssuer); ok {
		ri.close()
	}
}

// leafIssuer makes one leaf: leafSigner with the home's CA key, or
// remoteIssuer through the home's remote signer. Both are safe for
// concurrent use.
type leafIssuer interface {
	issue(leafRequest) (*leaf, error)
}

// issueAll makes every certificate, using up to workers goroutines (all
// cores by default) and one shared signer. It stops at the first error.
func issueAll(ls leafIssuer, reqs []leafRequest, workers int) ([]*leaf, error) {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = min(workers, len(reqs))
	out := make([]*leaf, len(reqs))
	var (
		next    atomic.Int64
		failed  atomic.Bool
		errOnce sync.Once
		first   error
		wg      sync.WaitGroup
	)
	for range workers {
		wg.Go(func() {
			for !failed.Load() {
				i := int(next.Add(1) - 1)
				if i >= len(reqs) {
					return
				}
				l, err := ls.issue(reqs[i])
				if err != nil {
					failed.Store(true)
					errOnce.Do(func() { first = err })
					return
				}
				out[i] = l
			}
		})
	}
	wg.Wait()
	if first != nil {
		return nil, first
	}
	return out, nil
}

// checkSubject bounds a subject attribute to RFC 5280's 64 characters.
func checkSubject(flag, v string) error {
	switch {
	case !utf8.ValidString(v):
		return errs.Input(flag+" is not valid UTF-8", "use plain text")
	case utf8.RuneCountInString(v) > 64:
		return errs.Input(fmt.Sprintf("%s is %d characters long; RFC 5280 allows 64", flag, utf8.RuneCountInString(v)), "use a shorter value")
	case strings.ContainsFunc(v, func(r rune) bool { return r < ' ' || r == 0x7f }):
		return errs.Input(flag+" contains a control character", "use printable text")
	case v != strings.TrimSpace(v):
		return errs.Input(flag+" has leading or trailing spaces", "remove them")
	}
	return nil
}
