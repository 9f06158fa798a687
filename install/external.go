package install

import (
	"crypto/x509"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/certkit/certkit/ca"
	"github.com/certkit/certkit/host"
	"github.com/certkit/certkit/internal/errs"
	"github.com/certkit/certkit/internal/home"
	"github.com/certkit/certkit/internal/shellquote"
)

// Material is what install copies for one registry when it does not come
// from the certkit home (Options.From): a CA certificate and client pairs,
// for example out of a bundle made by certkit export on the CA machine.
type Material struct {
	Registry host.Registry
	// Source names where the material came from (a bundle file), in
	// errors about it.
	Source string
	// Fix is what to do about material that must not be installed
	// (make the bundle again).
	Fix   string
	CA    []byte // PEM
	Pairs []MaterialPair
}

// MaterialPair is one client pair: NAME.cert and NAME.key in the registry folder.
type MaterialPair struct {
	Name      string
	Cert, Key []byte // PEM
}

// material returns what the run installs: opt.From when given, else what
// the certkit home holds for opt.Registries.
func (opt Options) material(now time.Time) ([]host.Registry, []*material, error) {
	if opt.From == nil {
		return readHome(opt.Home, opt.Registries, now, opt.HomeFlags)
	}
	var regs []host.Registry
	var mats []*material
	for _, m := range opt.From {
		mat, err := checkMaterial(m, now)
		if err != nil {
			return nil, nil, err
		}
		regs = append(regs, m.Registry)
		mats = append(mats, mat)
	}
	return regs, mats, nil
}

// checkMaterial checks m as the home's material is checked (loadMaterial).
func checkMaterial(m Material, now time.Time) (*material, error) {
	caCert, err := checkCA(m.Source+" (CA certificate)", m.CA, now, m.Fix, m.Fix)
	if err != nil {
		return nil, err
	}
	if len(m.Pairs) == 0 {
		return nil, &MaterialError{m.Source, "holds no client pair", m.Fix}
	}
	roots := x509.NewCertPool()
	roots.AddCert(caCert)
	mat := &material{caPEM: ca.EncodeCert(caCert), caCert: caCert}
	v := newChainVerifier(roots, now, x509.ExtKeyUsageClientAuth)
	for _, p := range m.Pairs {
		certPath := m.Source + " (" + p.Name + ".cert)"
		if !validPairName(p.Name) {
			return nil, &MaterialError{certPath, fmt.Sprintf("the name %q cannot be a certs.d file name (use letters, digits, '.', '_' and '-')", p.Name), m.Fix}
		}
		pm, err := checkPair(p.Name, certPath, m.Source+" ("+p.Name+".key)", p.Cert, p.Key, v, now, m.Fix)
		if err != nil {
			return nil, err
		}
		mat.pairs = append(mat.pairs, *pm)
	}
	return mat, nil
}

// ReadPair reads, from the certkit home, the CA certificate and the client
// pair name issued for reg, checked as Install checks what it copies; with
// name "", the registry's one pair. The CA's key is never read.
//
// homeFlags (" --home DIR") go into the certkit commands of the fixes.
func ReadPair(homeDir string, reg host.Registry, name string, now time.Time, homeFlags string) (*Material, error) {
	_, mats, err := readHome(homeDir, []host.Registry{reg}, now, homeFlags)
	if err != nil {
		return nil, err
	}
	m := mats[0]
	var names []string
	for _, p := range m.pairs {
		if p.name == name || name == "" && len(m.pairs) == 1 {
			roots := x509.NewCertPool()
			roots.AddCert(m.caCert)
			if newChainVerifier(roots, now, x509.ExtKeyUsageAny).verify(p.cert, pemCerts(p.certPEM)[1:], now) != nil {
				// A CA rotation: a bundle carries one CA, the new one,
				// and a client given it would not trust this pair.
				return nil, &MaterialError{filepath.Join(home.HostDir(homeDir, reg.String()), p.name+CertExt),
					"was issued by the previous CA (a CA rotation is under way), and a bundle carries the new CA only",
					"issue it again under the new CA first: certkit renew --all --host " + shellquote.Quote(reg.String()) + " --name " + shellquote.Quote(p.name)}
			}
			return &Material{Registry: reg, Source: homeDir, CA: m.caPEM,
				Pairs: []MaterialPair{{Name: p.name, Cert: p.certPEM, Key: p.keyPEM}}}, nil
		}
		names = append(names, p.name)
	}
	q := shellquote.Quote(reg.String())
	if name == "" {
		return nil, errs.Input(fmt.Sprintf("%s has %d client pairs in the certkit home (%s)", reg, len(names), strings.Join(names, ", ")),
			"name one: --host "+q+" --name "+shellquote.Quote(names[0]))
	}
	return nil, errs.Input(fmt.Sprintf("no client pair %q for %s in the certkit home (it has %s)", name, reg, strings.Join(names, ", ")),
		"issue it first: certkit issue client --host "+q+" --name "+shellquote.Quote(name))
}
