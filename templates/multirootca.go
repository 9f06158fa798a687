package templates

import (
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/certkit/certkit/ca"
	"github.com/certkit/certkit/host"
	"github.com/certkit/certkit/internal/errs"
	"github.com/certkit/certkit/internal/home"
)

// Multirootca is the remote signer's configuration: cfssl's multirootca
// with the home's CA key. It is not among Kinds: it is several files (the
// roots file, the signing configuration, the auth key, the signer's TLS
// pair), which the CLI writes together.
const Multirootca Kind = "multirootca"

// The files of a signer's folder.
const (
	SignerINI    = "multirootca.ini" // the roots file (-roots)
	SignerPolicy = "signing.json"    // cfssl's signing configuration
	// SignerClosedPolicy is the CA label's configuration in a
	// per-registry home: profiles without an auth key, which sign nothing.
	SignerClosedPolicy = "signing-ca.json"
	SignerAuthKey      = "auth.key"      // the HMAC key of authsign (0600)
	SignerTLSCert      = "tls-chain.crt" // the signer's TLS certificate + CA (-tls-cert)
	SignerTLSKey       = "tls.key"       // its key (-tls-key, 0600)
)

// DefaultSignerPort is cfssl's port.
const DefaultSignerPort = 8888

// DefaultLabel is the section of the roots file, and the signer's default
// label (-l).
const DefaultLabel = "certkit"

// labelRE is what multirootca's roots file takes as a section name.
var labelRE = regexp.MustCompile(`^\w{1,64}$`)

// SignerOptions describe a signer.
type SignerOptions struct {
	Home   string
	Signer host.Registry // the name clients reach the signer by, HOST[:PORT]
	Dir    string        // the folder of the files (absolute)
	Label  string        // default DefaultLabel
	Listen string        // -a; default every address on the signer's port
	Nets   []string      // CIDRs allowed to ask for certificates; none: any
}

// SignerConfig is what RenderSigner made.
type SignerConfig struct {
	INI     []byte
	Command []string // the command that starts the signer
	Label   string
	URL     string // what clients pass to init-ca --remote
	// Registries are the registries of a per-registry home the signer
	// signs for, each under ca.RegistryLabel.
	Registries []string
}

// SignerPort is the port clients reach the signer on.
func SignerPort(reg host.Registry) int {
	if reg.Port == 0 {
		return DefaultSignerPort
	}
	return reg.Port
}

// CheckLabel checks a label for a roots file section.
func CheckLabel(label string) error {
	if !labelRE.MatchString(label) {
		return errs.Input(fmt.Sprintf("--label %q is not a multirootca label", label), "use 1 to 64 letters, digits or '_', e.g. --label certkit")
	}
	return nil
}

// RenderSigner renders multirootca's roots file and the command that
// starts it with TLS, for the files in opt.Dir and the home's CA.
func RenderSigner(opt SignerOptions) (*SignerConfig, error) {
	if opt.Label == "" {
		opt.Label = DefaultLabel
	}
	if err := CheckLabel(opt.Label); err != nil {
		return nil, err
	}
	if !filepath.IsAbs(opt.Dir) {
		return nil, fmt.Errorf("the signer's folder %q is not absolute", opt.Dir)
	}
	port := SignerPort(opt.Signer)
	listen := opt.Listen
	if listen == "" {
		listen = ":" + strconv.Itoa(port)
	}
	lh, lp, err := net.SplitHostPort(listen)
	if n, perr := strconv.Atoi(lp); err != nil || perr != nil || n < 1 || n > 65535 || strings.ContainsAny(lh, " /") {
		return nil, errs.Input(fmt.Sprintf("--listen %q is not ADDRESS:PORT", listen), "e.g. --listen 10.0.0.2:8888, or :8888 for every address")
	}
	var nets []string
	for _, n := range opt.Nets {
		_, ipn, err := net.ParseCIDR(strings.TrimSpace(n))
		if err != nil {
			return nil, errs.Input(fmt.Sprintf("--allow %q is not a network", n), "give CIDRs, e.g. --allow 10.0.0.0/8 --allow 192.168.1.0/24")
		}
		nets = append(nets, ipn.String())
	}
	caDir := home.CADir(opt.Home)
	paths := map[string]string{
		"the CA key":     filepath.Join(caDir, ca.KeyFile),
		"the CA":         filepath.Join(caDir, ca.CertFile),
		"--out-dir":      opt.Dir,
		"the roots file": filepath.Join(opt.Dir, SignerINI),
	}
	for what, p := range paths {
		if err := checkPath(what, p); err != nil {
			return nil, err
		}
		if p != strings.TrimSpace(p) || strings.Contains(p, "#") {
			return nil, errs.Input(fmt.Sprintf("path %q (from %s) has spaces at an end or a '#', which the roots file cannot hold", p, what), "use another folder")
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# multirootca roots file, rendered by certkit template multirootca.\n")
	fmt.Fprintf(&b, "# One section per CA label; clients send this label (certkit init-ca --label).\n")
	section := func(label, key, cert, policy string) {
		fmt.Fprintf(&b, "[%s]\n", label)
		fmt.Fprintf(&b, "private = %s\n", (&url.URL{Scheme: "file", Path: key}).String())
		fmt.Fprintf(&b, "certificate = %s\n", cert)
		fmt.Fprintf(&b, "config = %s\n", filepath.Join(opt.Dir, policy))
		if len(nets) > 0 {
			fmt.Fprintf(&b, "# Only these networks may ask for certificates.\n")
			fmt.Fprintf(&b, "nets = %s\n", strings.Join(nets, ", "))
		} else {
			fmt.Fprintf(&b, "# Any address may ask (with the auth key); restrict with: nets = 10.0.0.0/8, 192.168.1.0/24\n")
		}
	}
	var registries []string
	if ca.PerRegistry(opt.Home) {
		if len(opt.Label) > 55 {
			return nil, errs.Input(fmt.Sprintf("--label %q is too long for a per-registry signer, whose registry labels add 9 characters", opt.Label), "use at most 55 characters")
		}
		fmt.Fprintf(&b, "# A per-registry home: this section serves the CA to client machines (info)\n")
		fmt.Fprintf(&b, "# and signs nothing (its profiles have no auth key); each registry's issuing\n")
		fmt.Fprintf(&b, "# CA signs under a section of its own below.\n")
		section(opt.Label, paths["the CA key"], paths["the CA"], SignerClosedPolicy)
		regs, err := ca.IssuingRegistries(opt.Home)
		if err != nil {
			return nil, err
		}
		for _, reg := range regs {
			dir := filepath.Join(opt.Home, ca.IssuerRel(reg, false))
			key, cert := filepath.Join(dir, ca.KeyFile), filepath.Join(dir, ca.CertFile)
			for _, p := range []string{key, cert} {
				if err := checkPath("the issuing CA of "+reg, p); err != nil {
					return nil, err
				}
				if p != strings.TrimSpace(p) || strings.Contains(p, "#") {
					return nil, errs.Input(fmt.Sprintf("path %q has spaces at an end or a '#', which the roots file cannot hold", p), "use another folder")
				}
			}
			fmt.Fprintf(&b, "\n# %s\n", reg)
			section(ca.RegistryLabel(opt.Label, reg), key, cert, SignerPolicy)
			registries = append(registries, reg)
		}
	} else {
		section(opt.Label, paths["the CA key"], paths["the CA"], SignerPolicy)
	}
	return &SignerConfig{
		INI: []byte(b.String()),
		Command: []string{"multirootca", "-a", listen, "-roots", paths["the roots file"], "-l", opt.Label,
			"-tls-cert", filepath.Join(opt.Dir, SignerTLSCert), "-tls-key", filepath.Join(opt.Dir, SignerTLSKey)},
		Label:      opt.Label,
		URL:        "https://" + net.JoinHostPort(opt.Signer.Hostname(), strconv.Itoa(port)),
		Registries: registries,
	}, nil
}
