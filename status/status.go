// Package status reports the certificates of a certkit home and the copies
// installed in certs roots: what each is, until when, and whether it needs
// attention (a renewal, a renewal not yet installed, a certificate that
// outlives its CA). It reads; it never writes.
package status

import (
	"crypto/x509"
	"fmt"
	"math/big"
	"path/filepath"
	"sort"
	"time"

	"github.com/certkit/certkit/install"
	"github.com/certkit/certkit/internal/home"
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
