package issue

import (
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"path/filepath"
	"time"

	"github.com/certkit/certkit/ca"
	"github.com/certkit/certkit/host"
	"github.com/certkit/certkit/internal/atomicfile"
	"github.com/certkit/certkit/internal/home"
	"github.com/certkit/certkit/internal/safefs"
)

// Renewal names one certificate of the home to make again.
type Renewal struct {
	Registry host.Registry
	Kind     Kind   // Server or Client
	Name     string // the client name; "server" for the server
}

// RenewOptions say what to renew and how.
type RenewOptions struct {
	Home  string
	Certs []Renewal
	// ReuseKey certifies the old key again; by default each certificate
	// gets a new key.
	ReuseKey bool
	Now      func() time.Time
	Workers  int
	// DryRun reads and checks everything, and writes nothing.
	DryRun bool
}

// Renewed is one certificate made again.
type Renewed struct {
	Registry  host.Registry `json:"registry"`
	Kind      Kind          `json:"kind"`
	Name      string        `json:"name"`
	CertPath  string        `json:"cert"`
	KeyPath   string        `json:"key"`
	ChainPath string        `json:"chain,omitempty"`
	KeyType   ca.KeyType    `json:"key_type"`
	NewKey    bool          `json:"new_key"`
	OldSerial string        `json:"old_serial"`
	OldEnd    time.Time     `json:"old_not_after"`
	NotAfter  time.Time     `json:"not_after"`
	SHA256    string        `json:"sha256,omitempty"` // empty for a dry run
	// Clamped: the old validity length would run past the CA's expiry,
	// and was cut to it.
	Clamped bool `json:"clamped,omitempty"`
}

// RenewResult is what Renew made (or, for a dry run, would make).
type RenewResult struct {
	Certs   []Renewed `json:"certificates"`
	Backups []string  `json:"backups,omitempty"`
}

// RenewError is a certificate of the home that cannot be renewed as it is.
type RenewError struct {
	Path string
	Msg  string
}

func (e *RenewError) Error() string { return e.Path + ": " + e.Msg }

// Hint says how to go on.
func (e *RenewError) Hint() string {
	return "nothing was renewed; issue it again by hand (certkit issue … --force), or remove it from the certkit home"
}

// Renew makes every certificate of opt.Certs again, as it was: the same
// subject, names (SANs), profile and key type, a new key (or the old one
// with ReuseKey), and the same validity length, from now (cut at the CA's
// expiry). The old files are kept as .bak- backups. All or nothing: one
// certificate that cannot be renewed stops the run before any file is
// written.
func Renew(opt RenewOptions) (*RenewResult, error) {
	now := time.Now
	if opt.Now != nil {
		now = opt.Now
	}
	release, err := home.Lock(opt.Home, false)
	if err != nil {
		return nil, err
	}
	defer release(false)
	c, remote, err := loadCA(opt.Home)
	if err != nil {
		return nil, err
	}
	t := now()
	if !t.Before(c.Cert.NotAfter) {
		return nil, &CAExpiredError{NotAfter: c.Cert.NotAfter}
	}
	res := &RenewResult{}
	reqs := make([]leafRequest, len(opt.Certs))
	d, err := safefs.OpenDir(opt.Home)
	if err != nil {
		return nil, err
	}
	err = d.Do(func(r *safefs.Root) error {
		// Each registry's folder is opened once: a name inside it is one
		// open, where hosts/<registry>/NAME would be three.
		subs := map[string]*safefs.Root{}
		defer func() {
			for _, sub := range subs {
				if sub != nil {
					sub.Close()
				}
			}
		}()
		for i, want := range opt.Certs {
			folder := want.Registry.String()
			sub, ok := subs[folder]
			if !ok {
				var err error
				if sub, err = r.Sub(filepath.Join("hosts", folder)); err != nil && !errors.Is(err, fs.ErrNotExist) {
					return err
				}
				subs[folder] = sub
			}
			rn, req, err := renewal(r, sub, c, want, opt.ReuseKey, t)
			if err != nil {
				return err
			}
			res.Certs = append(res.Certs, rn)
			reqs[i] = req
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if opt.DryRun || len(reqs) == 0 {
		return res, nil
	}
	// Each registry's leaves are signed by its signer (signerFor).
	// A remote signer signs them all: one pool of clients, per registry
	// for a per-registry signer.
	signers := map[string]*ca.CA{}
	issuers := map[string]leafIssuer{}
	var shared leafIssuer
	if remote != nil && !remote.PerRegistry {
		if shared, _, err = newIssuer(c, remote, "", t, opt.Workers, len(reqs)); err != nil {
			return nil, err
		}
		defer closeIssuer(shared)
	}
	for _, rn := range res.Certs {
		reg := rn.Registry.String()
		if _, ok := signers[reg]; ok {
			continue
		}
		if shared != nil {
			signers[reg], issuers[reg] = c, shared
			continue
		}
		if remote != nil {
			ls, _, err := newIssuer(c, remote, reg, t, opt.Workers, len(reqs))
			if err != nil {
				return nil, err
			}
			defer closeIssuer(ls)
			signers[reg], issuers[reg] = ls.(*remoteIssuer).signer, ls
			continue
		}
		s, _, err := signerFor(opt.Home, c, reg, t)
		if err != nil {
			return nil, err
		}
		if issuers[reg], err = newLeafSigner(s); err != nil {
			return nil, err
		}
		signers[reg] = s
	}
	for i := range reqs {
		reqs[i].registry = res.Certs[i].Registry.String()
	}
	workers := opt.Workers
	if remote != nil && workers <= 0 {
		workers = DefaultRemoteWorkers
	}
	leaves, err := issueAll(routed(issuers), reqs, workers)
	if err != nil {
		return nil, err
	}
	var files []atomicfile.File
	for i, l := range leaves {
		rn := &res.Certs[i]
		rn.SHA256 = ca.FingerprintSum(l.sha256)
		keyPath := rn.KeyPath
		if !rn.NewKey {
			keyPath = "" // the key stays as it is
		}
		files = append(files, leafFiles(l, signers[rn.Registry.String()], c, keyPath, rn.CertPath, rn.ChainPath)...)
	}
	if res.Backups, err = writeLeaves(files, len(leaves), true, t, opt.Home); err != nil {
		return nil, err
	}
	return res, nil
}

// renewal reads one certificate of the home (and its key, to reuse it)
// through sub, the registry's folder of the home r (nil when it has none),
// and makes the request that issues it again.
func renewal(r, sub *safefs.Root, c *ca.CA, want Renewal, reuse bool, t time.Time) (Renewed, leafRequest, error) {
	folder := want.Registry.String()
	rel := filepath.Join("hosts", folder)
	certName, keyName := want.Name+home.CertExt, want.Name+home.KeyExt
	rn := Renewed{Registry: want.Registry, Kind: want.Kind, Name: want.Name, NewKey: !reuse}
	if want.Kind == Server {
		certName, keyName = home.ServerCert, home.ServerKey
		rn.ChainPath = r.Join(filepath.Join(rel, home.ServerChain))
	}
	rn.CertPath, rn.KeyPath = r.Join(filepath.Join(rel, certName)), r.Join(filepath.Join(rel, keyName))
	if sub == nil {
		return rn, leafRequest{}, &RenewError{rn.CertPath, "no such certificate in the certkit home"}
	}
	data, err := sub.ReadFile(certName, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return rn, leafRequest{}, &RenewError{rn.CertPath, "no such certificate in the certkit home"}
	}
	if err != nil {
		return rn, leafRequest{}, err
	}
	certs, err := ca.ParseCerts(data)
	if err != nil {
		return rn, leafRequest{}, &RenewError{rn.CertPath, err.Error()}
	}
	old := certs[0]
	kt := ca.KeyTypeOf(old.PublicKey)
	if kt == "" {
		return rn, leafRequest{}, &RenewError{rn.CertPath, "its key type is not one certkit issues"}
	}
	profile, err := profileFor(want.Kind, kt)
	if err != nil {
		return rn, leafRequest{}, err
	}
	if !hasUsage(old, profiles[profile].ExtKeyUsage[0]) {
		return rn, leafRequest{}, &RenewError{rn.CertPath, fmt.Sprintf("is not a %s certificate (its extended key usage lacks %s)", want.Kind, usageName(want.Kind))}
	}
	req := leafRequest{profile: profile, cn: old.Subject.CommonName, keyType: kt}
	if len(old.Subject.Organization) > 0 {
		req.org = old.Subject.Organization[0]
	}
	for _, n := range old.DNSNames {
		req.sans = append(req.sans, SAN{DNS: n})
	}
	for _, ip := range old.IPAddresses {
		a, ok := netip.AddrFromSlice(ip)
		if ok {
			req.sans = append(req.sans, SAN{IP: a.Unmap()})
		}
	}
	if reuse {
		keyPEM, err := sub.ReadFile(keyName, 0)
		if err != nil {
			return rn, leafRequest{}, err
		}
		key, err := ca.ParseKey(keyPEM)
		if err != nil {
			return rn, leafRequest{}, &RenewError{rn.KeyPath, err.Error()}
		}
		if !ca.KeyMatches(old.PublicKey, key) {
			return rn, leafRequest{}, &RenewError{rn.KeyPath, "does not belong to " + certName}
		}
		req.key = key
	}
	// The same length as before: certkit backdates notBefore by
	// ca.Backdate, which is not part of what was asked for.
	length := old.NotAfter.Sub(old.NotBefore) - ca.Backdate
	if length < time.Hour {
		length = old.NotAfter.Sub(old.NotBefore)
	}
	req.notBefore = t.Add(-ca.Backdate).Truncate(time.Second)
	req.notAfter = t.Add(length).Truncate(time.Second)
	if length >= c.Cert.NotAfter.Sub(t) {
		req.notAfter = c.Cert.NotAfter.Truncate(time.Second)
		rn.Clamped = true
	}
	rn.KeyType, rn.OldSerial, rn.OldEnd, rn.NotAfter = kt, old.SerialNumber.Text(16), old.NotAfter.UTC(), req.notAfter.UTC()
	return rn, req, nil
}

func hasUsage(c *x509.Certificate, u x509.ExtKeyUsage) bool {
	for _, e := range c.ExtKeyUsage {
		if e == u {
			return true
		}
	}
	return false
}

func usageName(k Kind) string {
	if k == Server {
		return "serverAuth"
	}
	return "clientAuth"
}

// routed sends each request to the issuer of its registry.
type routed map[string]leafIssuer

func (r routed) issue(req leafRequest) (*leaf, error) { return r[req.registry].issue(req) }
