// Package status reports the certificates of a certkit home and the copies
// installed in certs roots: what each is, until when, and whether it needs
// attention (a renewal, a renewal not yet installed, a certificate that
// outlives its CA). It reads; it never writes.
package status

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/certkit/certkit/ca"
	"github.com/certkit/certkit/host"
	"github.com/certkit/certkit/install"
	"github.com/certkit/certkit/internal/home"
	"github.com/certkit/certkit/internal/safefs"
)

// Kind is what a certificate is for.
type Kind string

// The kinds.
const (
	CA     Kind = "ca"
	Server Kind = "server"
	Client Kind = "client"
)

// State is what a certificate's dates say of it.
type State string

// The states, from the certificate's dates and its CA's.
const (
	OK          State = "ok"
	Renew       State = "renew"         // inside the renewal window
	Expired     State = "expired"       // past its notAfter
	NotYetValid State = "not-yet-valid" // before its notBefore
	OutlivesCA  State = "outlives-ca"   // valid past its CA's notAfter
)

// Copy says how a copy installed in a certs root stands to the home's.
type Copy string

// The copies.
const (
	Same    Copy = "same"    // the home's certificate, byte for byte
	Older   Copy = "older"   // the home has a newer one: a renewal not yet installed
	Missing Copy = "missing" // the registry's folder is there, the pair is not
	Unknown Copy = "unknown" // installed, but the home has no such certificate (or there is no home)
)

// Location says where a certificate was read.
type Location string

// The locations.
const (
	InHome    Location = "home"
	InCertsD  Location = "certs.d"
	MaxWindow          = 30 * 24 * time.Hour // the default window's ceiling
)

// Cert is one certificate in the report. The JSON form is certkit's
// documented schema (README, "certkit status --json").
type Cert struct {
	Location Location `json:"location"`
	Registry string   `json:"registry,omitempty"` // "" for the home's CA
	Name     string   `json:"name"`               // "ca", "server" or the client name
	Kind     Kind     `json:"kind"`
	Path     string   `json:"path"`
	// Root and Target: the certs root of a certs.d copy.
	Root   string         `json:"root,omitempty"`
	Target install.Target `json:"target,omitempty"`
	Copy   Copy           `json:"copy,omitempty"`

	KeyType   string    `json:"key_type,omitempty"`
	Serial    string    `json:"serial,omitempty"` // hex
	SHA256    string    `json:"sha256,omitempty"` // of the DER, AA:BB:… as openssl prints it
	Subject   string    `json:"subject,omitempty"`
	Issuer    string    `json:"issuer,omitempty"`
	NotBefore time.Time `json:"not_before"`
	NotAfter  time.Time `json:"not_after"`
	// DaysLeft is whole days until NotAfter (negative once expired).
	DaysLeft int `json:"days_left"`
	// WindowDays is the renewal window that applied, in days.
	WindowDays float64 `json:"window_days"`
	State      State   `json:"state"`

	// cert is the parsed certificate of a CA; a leaf's is dropped once
	// its fields are read (a parsed certificate takes 3 KiB, 29 MiB for
	// 10,000 pairs) and parsed again from der when a signature is to be
	// checked (see x509).
	cert      *x509.Certificate
	der       []byte
	pemSum    [32]byte // SHA-256 of the file as read
	serial    *big.Int
	subjectCN string
	issuerCN  string
	// issuing is the CA certificate after a leaf in its file: its
	// registry's issuing CA, in a per-registry home (shared by the leaves).
	issuing *x509.Certificate
}

// x509 is the parsed certificate: c.cert, or c.der parsed again (and
// kept) for a leaf whose parse was dropped. nil for a certificate that
// was not read.
func (c *Cert) x509() *x509.Certificate {
	if c.cert == nil && c.der != nil {
		if x, err := x509.ParseCertificate(c.der); err == nil {
			c.cert = x
		}
	}
	return c.cert
}

// Attention reports whether the certificate needs something done.
func (c *Cert) Attention() bool {
	return c.State != OK || c.Copy == Older || c.Copy == Missing
}

// Report is everything status found.
type Report struct {
	Home  string    `json:"home,omitempty"` // "" when there is none
	Now   time.Time `json:"now"`
	Certs []Cert    `json:"certificates"`
	// CADue: the home's CA itself is inside its window or past it: a new
	// CA is due, not a renewal of the leaves.
	CADue bool `json:"ca_due,omitempty"`
	// Rotation is set while a CA rotation is under way.
	Rotation *Rotation `json:"rotation,omitempty"`
	// Problems are files status could not read; each is also a reason to
	// exit 1.
	Problems []string `json:"problems,omitempty"`
	// CRLs are the home's revocation lists (the CA's, and the previous
	// CA's during a rotation); Revoked the certificates revoked from it.
	CRLs    []CRLInfo     `json:"crls,omitempty"`
	Revoked []RevokedCert `json:"revoked,omitempty"`

	issued map[[2]*x509.Certificate]bool // see issuedBy
}

// Attention counts the certificates (and problems) that need something
// done.
func (r *Report) Attention() int {
	n := len(r.Problems)
	for _, l := range r.CRLs {
		if l.State != OK {
			n++
		}
	}
	for i := range r.Certs {
		if r.Certs[i].Attention() {
			n++
		}
	}
	return n
}

// Options say what to read.
type Options struct {
	Home  string         // "" reads no home
	Roots []install.Root // certs roots to read; missing ones are skipped
	// Within is the renewal window; 0 means the default: a third of each
	// certificate's lifetime, at most 30 days.
	Within time.Duration
	Now    func() time.Time
}

// Window is the renewal window of a certificate: within, or the default.
func Window(c *x509.Certificate, within time.Duration) time.Duration {
	return window(c.NotBefore, c.NotAfter, within)
}

// window is Window of a certificate valid from notBefore to notAfter.
func window(notBefore, notAfter time.Time, within time.Duration) time.Duration {
	if within > 0 {
		return within
	}
	return min(notAfter.Sub(notBefore)/3, MaxWindow)
}

// Read reads the home and the certs roots.
func Read(opt Options) (*Report, error) {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	r := &Report{Home: opt.Home, Now: opt.Now().UTC()}
	var caCert, prevCert *x509.Certificate
	var rev *revocation
	homePairs := map[string]*Cert{}     // registry + "\x00" + name
	homeClients := map[string][]*Cert{} // by registry, in order
	// all is the report in the making. A Cert is some 400 bytes, and
	// appending 10,000 of them at a time to growing slices was 8 % of
	// status over 10,000 pairs: the home is read into a slice with room
	// for a copy of each in each root, and the copies into it.
	var all []Cert
	// The certs roots are listed meanwhile (see listRoots).
	listed := make(chan []rootListing, 1)
	go func() { listed <- listRoots(opt.Roots) }()
	if opt.Home != "" {
		certs, err := readHome(opt.Home, len(opt.Roots))
		if err != nil {
			return nil, err
		}
		rev = r.readRevocation(opt.Home)
		for i := range certs {
			c := &certs[i]
			if c.Kind == CA && c.Registry == "" && c.Name == "ca" {
				caCert = c.cert
			}
			if c.Kind == CA && c.Name == PreviousCAName {
				prevCert = c.cert
			}
		}
		for i := range certs {
			c := &certs[i]
			r.judge(c, caCert, opt.Within)
			r.underPrevious(c, prevCert)
			switch {
			case c.Kind == CA && c.Name == "ca":
				r.CADue = c.State != OK
			case c.Kind == CA:
			default:
				homePairs[c.Registry+"\x00"+c.Name] = c
				if c.Kind == Client {
					homeClients[c.Registry] = append(homeClients[c.Registry], c)
				}
			}
		}
		if prevCert != nil {
			r.Rotation = r.rotation(prevCert, certs)
		}
		// homePairs point into certs: the copies are appended after them,
		// and a slice grown meanwhile leaves them where they are.
		all = certs
	}
	lists := <-listed
	for i, root := range opt.Roots {
		l := lists[i]
		if !l.folder {
			continue
		}
		if l.err != nil {
			r.Problems = append(r.Problems, fmt.Sprintf("%s: %v", root.Dir, l.err))
			continue
		}
		for j, reg := range l.regs {
			regName := reg.String()
			start := len(all)
			var err error
			all, err = readInstalled(root, reg, l.names[j], homePairs, all)
			if err != nil {
				all = all[:start]
				r.Problems = append(r.Problems, err.Error())
				continue
			}
			copies := all[start:]
			seen := make(map[string]bool, len(copies))
			for i := range copies {
				c := &copies[i]
				issuer := caCert
				r.judge(c, issuer, opt.Within)
				r.underPrevious(c, prevCert)
				if _, ok := rev.revokedAt(c, r.issuedBy); ok && c.Kind == Client {
					c.State = Revoked
				}
				switch {
				case c.Kind == CA:
					c.Copy = Unknown
					if caCert != nil && bytesEqual(c.der, caCert.Raw) || prevCert != nil && bytesEqual(c.der, prevCert.Raw) {
						c.Copy = Same
					}
				default:
					seen[c.Name] = true
					h := homePairs[regName+"\x00"+c.Name]
					switch {
					case h == nil:
						c.Copy = Unknown
					case bytesEqual(c.der, h.der):
						c.Copy = Same
					default:
						c.Copy = Older
						if c.NotAfter.After(h.NotAfter) {
							// The installed one is newer than the home's:
							// another home renewed it; still not the home's.
							c.Copy = Unknown
						}
					}
				}
			}
			for _, h := range homeClients[regName] {
				if seen[h.Name] {
					continue
				}
				m := *h
				m.Location, m.Root, m.Target, m.Copy = InCertsD, root.Dir, root.Target, Missing
				m.Path = filepath.Join(root.Dir, regName, h.Name+home.CertExt)
				all = append(all, m)
			}
		}
	}
	r.Certs = sorted(all)
	return r, nil
}

// sorted returns certs in the report's order (less), stable. The home
// and each registry folder are read in that order already: certs are
// sorted only when they are not (several roots, pairs missing from one),
// by pointer, so that no Cert is moved more than once.
func sorted(out []Cert) []Cert {
	if sort.SliceIsSorted(out, func(i, j int) bool { return less(&out[i], &out[j]) }) {
		return out
	}
	n := len(out)
	ptrs := make([]*Cert, n)
	for i := range out {
		ptrs[i] = &out[i]
	}
	sort.SliceStable(ptrs, func(i, j int) bool { return less(ptrs[i], ptrs[j]) })
	res := make([]Cert, n)
	for i, p := range ptrs {
		res[i] = *p
	}
	return res
}

// less orders the report: the home first, then each root; within each,
// the CA, then registries by name, server before clients, names in order.
func less(a, b *Cert) bool {
	if a.Location != b.Location {
		return a.Location == InHome
	}
	if a.Root != b.Root {
		return a.Root < b.Root
	}
	if a.Registry != b.Registry {
		return a.Registry < b.Registry
	}
	ka, kb := kindOrder(a.Kind), kindOrder(b.Kind)
	if ka != kb {
		return ka < kb
	}
	return a.Name < b.Name
}

func kindOrder(k Kind) int {
	switch k {
	case CA:
		return 0
	case Server:
		return 1
	}
	return 2
}

// judge sets a certificate's state and days from its dates, its CA's
// (when known) and the window.
func (r *Report) judge(c *Cert, caCert *x509.Certificate, within time.Duration) {
	now := r.Now
	w := window(c.NotBefore, c.NotAfter, within)
	c.WindowDays = w.Hours() / 24
	left := c.NotAfter.Sub(now)
	c.DaysLeft = int(left.Hours() / 24)
	if left < 0 && left.Hours()/24 != float64(c.DaysLeft) {
		c.DaysLeft-- // -0.5 days is day -1
	}
	switch {
	case !now.Before(c.NotAfter):
		c.State = Expired
	case now.Before(c.NotBefore):
		c.State = NotYetValid
	case c.Kind != CA && caCert != nil && c.NotAfter.After(caCert.NotAfter) && r.chainsTo(c, caCert):
		c.State = OutlivesCA
	case left < w:
		c.State = Renew
	default:
		c.State = OK
	}
}

// issuedBy reports whether c was signed by the CA ca.
func issuedBy(c, ca *x509.Certificate) bool {
	return c.CheckSignatureFrom(ca) == nil
}

// chainsTo reports whether ca signed c, directly or through the issuing
// CA c's file carries after it.
func (r *Report) chainsTo(c *Cert, ca *x509.Certificate) bool {
	if r.issuedBy(c.x509(), ca) {
		return true
	}
	return c.issuing != nil && r.issuedBy(c.x509(), c.issuing) && r.issuedBy(c.issuing, ca)
}

// issuedBy is issuedBy, checked once for each certificate and CA: a
// certs.d copy that is the home's certificate byte for byte shares the
// home's parse (the same *x509.Certificate), and so the answer.
func (r *Report) issuedBy(c, ca *x509.Certificate) bool {
	if c == nil || ca == nil {
		return false
	}
	k := [2]*x509.Certificate{c, ca}
	ok, seen := r.issued[k]
	if !seen {
		ok = issuedBy(c, ca)
		if r.issued == nil {
			r.issued = map[[2]*x509.Certificate]bool{}
		}
		r.issued[k] = ok
	}
	return ok
}

// readHome reads the CA and every leaf of the home, under its shared lock
// and through safefs, into a slice with room for copies more Certs for
// each (the copies of the certs roots, appended to it).
func readHome(homeDir string, copies int) ([]Cert, error) {
	if _, err := os.Stat(homeDir); err != nil {
		return nil, fmt.Errorf("certkit home %s: %w", homeDir, err)
	}
	release, err := home.RLock(homeDir)
	if err != nil {
		return nil, err
	}
	defer release()
	d, err := safefs.OpenDir(homeDir)
	if err != nil {
		return nil, err
	}
	var out []Cert
	err = d.Do(func(r *safefs.Root) error {
		c, err := readCert(r, filepath.Join("ca", ca.CertFile), Cert{Location: InHome, Name: "ca", Kind: CA})
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			return err
		default:
			out = append(out, c)
		}
		c, err = readCert(r, filepath.Join("ca", ca.PreviousDir, ca.CertFile), Cert{Location: InHome, Name: PreviousCAName, Kind: CA})
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			return err
		default:
			out = append(out, c)
		}
		regs, err := r.Names("hosts")
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		for _, name := range regs {
			reg, err := host.Parse(name)
			if err != nil || reg.String() != name {
				continue
			}
			sub, err := r.Sub(filepath.Join("hosts", name))
			if errors.Is(err, syscall.ENOTDIR) {
				continue
			}
			if err != nil {
				return err
			}
			out, err = readRegistry(sub, name, out, copies)
			sub.Close()
			if err != nil {
				return err
			}
		}
		return nil
	})
	return out, err
}

// readRegistry reads the server certificate and the client pairs of one
// registry folder of the home into out, making room for copies more
// Certs for each of out's (see readHome).
func readRegistry(r *safefs.Root, registry string, out []Cert, copies int) ([]Cert, error) {
	names, err := r.Names(".")
	if err != nil {
		return out, err
	}
	has := func(n string) bool { // names are sorted
		i := sort.SearchStrings(names, n)
		return i < len(names) && names[i] == n
	}
	pairs := pairNames(names)
	if need := len(out) + 1 + len(pairs); cap(out) < need {
		out = slices.Grow(out, need*(1+copies)-len(out))
	}
	if has(home.ServerCert) && has(home.ServerKey) {
		c, err := readCert(r, home.ServerCert, Cert{Location: InHome, Registry: registry, Name: "server", Kind: Server})
		if err != nil {
			return out, err
		}
		out = append(out, c)
	}
	certs := out[len(out) : len(out)+len(pairs)]
	err = each(r, len(pairs), func(i int) (err error) {
		certs[i], err = readCert(r, pairs[i]+home.CertExt, Cert{Location: InHome, Registry: registry, Name: pairs[i], Kind: Client})
		return err
	})
	return out[:len(out)+len(pairs)], err
}

// each calls fn for 0…n-1: on every core when r may be shared (this
// process acts as itself), else in order on this goroutine (which holds
// the user's rights).
func each(r *safefs.Root, n int, fn func(i int) error) error {
	workers := runtime.GOMAXPROCS(0)
	if !r.Shared() || n < 64 || workers < 2 {
		for i := range n {
			if err := fn(i); err != nil {
				return err
			}
		}
		return nil
	}
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < n; i += workers {
				if err := fn(i); err != nil {
					errs[w] = err
					return
				}
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// rootListing is a certs root as listRoots found it.
type rootListing struct {
	folder bool            // the root is a folder (else it is skipped)
	regs   []host.Registry // its registry folders (install.Registries)
	err    error           // from install.Registries
	names  [][]string      // by regs, each folder's names; nil where listing it failed
}

// listRoots lists the certs roots and their registry folders, through
// safefs as readInstalled reads them (with the rights of who controls
// each), while the home is read: listing 20,000 names is most of the work
// left on one core. A folder whose listing failed is listed again by
// readInstalled, for its error.
func listRoots(roots []install.Root) []rootListing {
	out := make([]rootListing, len(roots))
	for i, root := range roots {
		if fi, err := os.Stat(root.Dir); err != nil || !fi.IsDir() {
			continue
		}
		l := &out[i]
		l.folder = true
		if l.regs, l.err = install.Registries(root.Dir); l.err != nil {
			continue
		}
		l.names = make([][]string, len(l.regs))
		for j, reg := range l.regs {
			d, err := safefs.OpenDir(root.Folder(reg))
			if err != nil {
				continue
			}
			d.Do(func(r *safefs.Root) error {
				names, err := r.Names(".")
				if err == nil {
					l.names[j] = names
				}
				return nil
			})
		}
	}
	return out
}

// readInstalled reads the CA files and client pairs of a registry folder
// in a certs root. A file that is the home's, byte for byte, is not parsed
// again.
func readInstalled(root install.Root, reg host.Registry, names []string, homePairs map[string]*Cert, out []Cert) ([]Cert, error) {
	dir := root.Folder(reg)
	d, err := safefs.OpenDir(dir)
	if err != nil {
		return out, err
	}
	err = d.Do(func(r *safefs.Root) error {
		if names == nil {
			var err error
			if names, err = r.Names("."); err != nil {
				return err
			}
		}
		regName := reg.String()
		base := Cert{Location: InCertsD, Registry: regName, Root: root.Dir, Target: root.Target}
		var cas []Cert
		for _, n := range names {
			if name, ok := strings.CutSuffix(n, ".crt"); ok {
				c := base
				c.Name, c.Kind = name, CA
				if c, err = readCert(r, n, c); err == nil {
					cas = append(cas, c)
				}
				// A .crt that is not a certificate is verify's to report.
			}
		}
		pairs := pairNames(names)
		out = append(out, cas...)
		out = slices.Grow(out, len(pairs))
		certs := out[len(out) : len(out)+len(pairs)]
		err = each(r, len(pairs), func(i int) error {
			n := pairs[i]
			c := base
			c.Name, c.Kind = n, Client
			buf := readBufs.Get().(*[]byte)
			defer readBufs.Put(buf)
			data, err := r.ReadFileBuf(n+home.CertExt, 0, *buf)
			if err != nil {
				return err
			}
			if h := homePairs[regName+"\x00"+n]; h != nil && sha256.Sum256(data) == h.pemSum {
				c = *h
				c.Location, c.Registry, c.Root, c.Target = InCertsD, regName, root.Dir, root.Target
				c.Path = r.Join(n + home.CertExt)
			} else if c, err = parseCert(data, r.Join(n+home.CertExt), c); err != nil {
				return err
			}
			certs[i] = c
			return nil
		})
		out = out[:len(out)+len(pairs)]
		return err
	})
	return out, err
}

// readBufs hold the certs.d copies while they are compared with the
// home's (a file is kept only as its parse).
var readBufs = sync.Pool{New: func() any { b := make([]byte, 4096); return &b }}

// pairNames is home.PairNamesOf for names sorted (as safefs's Names
// gives them): NAME of each NAME.cert with a NAME.key beside it, sorted,
// found by binary search instead of a map of 20,000 names.
func pairNames(names []string) []string {
	if !sort.StringsAreSorted(names) {
		return home.PairNamesOf(names)
	}
	var out []string
	for _, n := range names {
		stem, ok := strings.CutSuffix(n, home.CertExt)
		if !ok || stem == "" {
			continue
		}
		k := stem + home.KeyExt
		if i := sort.SearchStrings(names, k); i < len(names) && names[i] == k {
			out = append(out, stem)
		}
	}
	if !sort.StringsAreSorted(out) {
		sort.Strings(out)
	}
	return out
}

// readCert reads the first certificate of a PEM file of r into c.
func readCert(r *safefs.Root, name string, c Cert) (Cert, error) {
	data, err := r.ReadFile(name, 0)
	if err != nil {
		c.Path = r.Join(name)
		return c, err
	}
	return parseCert(data, r.Join(name), c)
}

// parseCert reads the first certificate of the PEM data of the file at
// path into c.
func parseCert(data []byte, path string, c Cert) (Cert, error) {
	c.Path, c.pemSum = path, sha256.Sum256(data)
	x, issuing, err := firstCert(data)
	if err != nil {
		return c, fmt.Errorf("%s: %v", c.Path, err)
	}
	if issuing != nil && issuing.IsCA && !x.IsCA {
		c.issuing = issuing
	}
	c.der, c.serial, c.subjectCN, c.issuerCN = x.Raw, x.SerialNumber, x.Subject.CommonName, x.Issuer.CommonName
	if c.Kind == CA {
		c.cert = x
	}
	c.KeyType = string(ca.KeyTypeOf(x.PublicKey))
	c.Serial = serialHex(x.SerialNumber)
	c.SHA256 = fingerprint(x.Raw)
	c.Subject, c.Issuer = x.Subject.String(), issuerName(x)
	c.NotBefore, c.NotAfter = x.NotBefore.UTC(), x.NotAfter.UTC()
	return c, nil
}

func serialHex(n *big.Int) string { return hex.EncodeToString(n.Bytes()) }

// firstCert is the first certificate of ca.ParseCerts(data), which also
// fails on a later block that is not a certificate. A file that is one
// certificate as certkit (pem.Encode) writes it is decoded here (pemDER)
// without pem.Decode's copy of the text: 6 % of status over 10,000 pairs.
//
// It also returns the certificate after it, if any: a leaf's issuing CA,
// which every leaf of a registry carries, so it is parsed once (parsed).
func firstCert(data []byte) (*x509.Certificate, *x509.Certificate, error) {
	if der, ok := pemDER(data); ok {
		if x, err := x509.ParseCertificate(der); err == nil {
			return x, nil, nil
		}
	}
	// A leaf and its issuing CA, both as certkit writes them.
	if i := bytes.Index(data, []byte("\n"+pemEnd)); i >= 0 {
		first, second := data[:i+1+len(pemEnd)], data[i+1+len(pemEnd):]
		if der, ok := pemDER(first); ok {
			x, err := x509.ParseCertificate(der)
			if iss := parsed(second); err == nil && iss != nil {
				return x, iss, nil
			}
		}
	}
	certs, err := ca.ParseCerts(data) // the error, or any other layout
	if err != nil {
		return nil, nil, err
	}
	if len(certs) > 1 {
		return certs[0], certs[1], nil
	}
	return certs[0], nil, nil
}

// parsedCerts holds the issuing CAs parsed, by their PEM text.
var (
	parsedMu    sync.Mutex
	parsedCerts = map[string]*x509.Certificate{}
)

// parsed is the certificate of block, one CERTIFICATE block as certkit
// writes it (pemDER), parsed once for each text; nil when it is not one.
func parsed(block []byte) *x509.Certificate {
	parsedMu.Lock()
	x, ok := parsedCerts[string(block)]
	parsedMu.Unlock()
	if ok {
		return x
	}
	if der, ok := pemDER(block); ok {
		x, _ = x509.ParseCertificate(der)
	}
	if x != nil {
		parsedMu.Lock()
		parsedCerts[string(block)] = x
		parsedMu.Unlock()
	}
	return x
}

const (
	pemBegin = "-----BEGIN CERTIFICATE-----\n"
	pemEnd   = "-----END CERTIFICATE-----\n"
)

// pemDER decodes data when it is exactly one CERTIFICATE block in
// pem.Encode's layout: the BEGIN line, lines of base64 (no headers, no
// spaces), the END line, and nothing else. For such data pem.Decode gives
// the same bytes, and nothing after them; for any other, ok is false.
func pemDER(data []byte) (der []byte, ok bool) {
	body, ok := bytes.CutPrefix(data, []byte(pemBegin))
	if !ok {
		return nil, false
	}
	body, ok = bytes.CutSuffix(body, []byte(pemEnd))
	if !ok || len(body) == 0 || body[len(body)-1] != '\n' {
		return nil, false
	}
	// base64 refuses any byte but its alphabet, '=', '\r' and '\n', the
	// last two skipped as pem.Decode's base64 skips them; pem.Decode
	// also drops spaces and tabs, which base64 refuses here: such a
	// file, as one with a '-' or a ':' in it, takes ca.ParseCerts.
	der = make([]byte, base64.StdEncoding.DecodedLen(len(body)))
	n, err := base64.StdEncoding.Decode(der, body)
	if err != nil {
		return nil, false
	}
	return der[:n], true
}

// fingerprint is ca.Fingerprint of the DER der (the SHA-256 as openssl
// prints it, AA:BB:…), written without fmt: 32 Fprintf calls a
// certificate were 4 % of status over 10,000 pairs.
func fingerprint(der []byte) string {
	const digits = "0123456789ABCDEF"
	sum := sha256.Sum256(der)
	b := make([]byte, 0, 3*len(sum)-1)
	for i, x := range sum {
		if i > 0 {
			b = append(b, ':')
		}
		b = append(b, digits[x>>4], digits[x&15])
	}
	return string(b)
}

// issuerNames holds issuers' names as strings, by the issuer's DER name:
// the leaves of a home share a few issuers, and Name.String is costly.
// At most maxIssuerNames are kept.
var (
	issuerNames     sync.Map
	issuerNameCount atomic.Int32
)

const maxIssuerNames = 256

// issuerName is x.Issuer.String(), written once for each issuer.
func issuerName(x *x509.Certificate) string {
	if s, ok := issuerNames.Load(string(x.RawIssuer)); ok {
		return s.(string)
	}
	s := x.Issuer.String()
	if issuerNameCount.Load() < maxIssuerNames {
		if _, loaded := issuerNames.LoadOrStore(string(x.RawIssuer), s); !loaded {
			issuerNameCount.Add(1)
		}
	}
	return s
}

func bytesEqual(a, b []byte) bool { return string(a) == string(b) }
