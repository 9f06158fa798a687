// Package templates renders the server-side configuration a private registry
// with TLS client authentication needs: the registry's own config.yml, nginx
// or Apache in front of it, containerd's hosts.toml and a docker-compose
// file. Each one names the absolute paths of the server certificate, key,
// chain and CA that certkit issued for the registry.
package templates

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
	"text/template"
	"unicode"
	"unicode/utf8"

	"github.com/certkit/certkit/ca"
	"github.com/certkit/certkit/host"
	"github.com/certkit/certkit/install"
	"github.com/certkit/certkit/internal/errs"
	"github.com/certkit/certkit/internal/home"
	"github.com/certkit/certkit/internal/shellquote"
)

//go:embed files/*.tmpl
var files embed.FS

// Kind names one template.
type Kind string

// The templates.
const (
	Registry   Kind = "registry"   // distribution config.yml
	Nginx      Kind = "nginx"      // a TLS server block in front of the registry
	Apache     Kind = "apache"     // a TLS virtual host in front of the registry
	Containerd Kind = "containerd" // hosts.toml
	Compose    Kind = "compose"    // docker-compose.yml running registry:2
)

// Kinds lists every template, in the order the CLI shows them.
var Kinds = []Kind{Registry, Nginx, Apache, Containerd, Compose}

var fileOf = map[Kind]string{
	Registry:   "files/registry.yml.tmpl",
	Nginx:      "files/nginx.conf.tmpl",
	Apache:     "files/apache.conf.tmpl",
	Containerd: "files/containerd.toml.tmpl",
	Compose:    "files/compose.yml.tmpl",
}

// Defaults.
const (
	DefaultStorage  = "/var/lib/docker-registry"        // Debian's docker-registry storage
	DebianConfig    = "/etc/docker/registry/config.yml" // the config Debian's docker-registry service reads
	DefaultCertsDir = "/etc/containerd/certs.d"         // containerd's first certs root
	DefaultPort     = 443                               // the port of a registry named without one
	caFileInCertsD  = ca.CertFile                       // the CA's name inside a certs.d folder
	composeTarget   = "5000"                            // the port registry:2 listens on inside its container
)

// UpstreamRule says how DefaultUpstream picks the registry's address
// behind a proxy; help and the rendered files quote it.
const UpstreamRule = "127.0.0.1 on the proxy's port + 1 (5000 for a port below 1024, 65534 for 65535)"

// DefaultUpstream is where the registry listens behind a proxy on
// proxyPort when no upstream is given (see UpstreamRule). It is never the
// proxy's own port, so the two can run on one machine; below 1024 it is
// 5000, since the registry runs unprivileged.
func DefaultUpstream(proxyPort int) string {
	return "127.0.0.1:" + strconv.Itoa(upstreamPort(proxyPort))
}

// upstreamPort is the port of DefaultUpstream.
func upstreamPort(proxyPort int) int {
	switch {
	case proxyPort < 1024:
		return 5000
	case proxyPort == 65535:
		return 65534
	}
	return proxyPort + 1
}

// Options say what to render.
type Options struct {
	Home     string        // the certkit home
	Registry host.Registry // the registry, as clients name it
	// Listen is where the server listens: "PORT", ":PORT", "HOST:PORT" or
	// "[V6]:PORT". Empty means every address, on the registry's port (443
	// when it has none).
	Listen string
	// Upstream is the plain-HTTP registry behind nginx or Apache: where
	// the proxy sends requests and, with BehindProxy, where the registry
	// listens. Empty means DefaultUpstream of the proxy's port.
	Upstream string
	// BehindProxy renders the registry's config.yml for running behind
	// nginx or Apache (Registry only): plain HTTP on Upstream, no tls
	// section. Listen is then where the proxy listens, as for the proxy's
	// own template, so that the same Listen and Upstream render two files
	// that agree.
	BehindProxy bool
	// Storage is the registry's storage folder (DefaultStorage when empty).
	// For compose it is bind-mounted; when empty compose uses a named volume.
	Storage string
	// CertsDir is containerd's certs root (DefaultCertsDir when empty).
	CertsDir string
	// ServerDir, for the registry's TLS config.yml, is the folder where
	// certkit install --server put its chain, key and CA, for a service
	// user who cannot read the certkit home; empty names the home's files.
	ServerDir string
	// HomeFlags are the run's flags that name its certkit home (" --home
	// DIR"), for the certkit commands written in the file's comments.
	HomeFlags string
}

// CollisionError reports a proxy and the registry behind it that cannot
// both listen on one machine: the same port, and addresses that overlap
// (either is every address, or they are the same one). It is bad input:
// the CLI exits 2.
type CollisionError struct {
	Kind     Kind          // the template being rendered
	Registry host.Registry // --host
	Listen   string        // --listen as given, "" when the proxy's address came from --host
	Upstream string        // --upstream
	Port     int           // the port both would take
	Suggest  string        // an upstream on another port, by UpstreamRule
}

func (e *CollisionError) Error() string {
	proxy := string(e.Kind)
	switch e.Kind {
	case Apache:
		proxy = "Apache"
	case Registry:
		proxy = "the proxy"
	}
	if e.Listen == "" {
		return fmt.Sprintf("--upstream %q collides with %s, which listens on port %d of every address (the port of --host %s): the two cannot both listen on one machine",
			e.Upstream, proxy, e.Port, e.Registry)
	}
	return fmt.Sprintf("--listen %q and --upstream %q collide: %s and the registry behind it cannot both listen on port %d of one machine",
		e.Listen, e.Upstream, proxy, e.Port)
}

// InputError marks a collision as bad input.
func (e *CollisionError) InputError() bool { return true }

// Hint names the commands that render a proxy and a registry that agree,
// with the registry on another port.
func (e *CollisionError) Hint() string {
	flags := ProxyFlags(e.Registry, e.Listen, e.Suggest)
	proxy := string(e.Kind)
	if e.Kind == Registry {
		proxy = "nginx"
	}
	return fmt.Sprintf("move the registry to another port, the same in both commands: certkit template registry%s --behind-proxy and certkit template %s%s",
		flags, proxy, flags)
}

// ProxyFlags are the flags, quoted for a shell, that make the templates of
// a proxy and of the registry behind it agree: --host, and --listen and
// --upstream when given.
func ProxyFlags(reg host.Registry, listen, upstream string) string {
	flags := " --host " + shellquote.Quote(reg.String())
	if listen != "" {
		flags += " --listen " + shellquote.Quote(listen)
	}
	if upstream != "" {
		flags += " --upstream " + shellquote.Quote(upstream)
	}
	return flags
}

// collides reports whether a proxy on lhost:lport ("" for every address)
// and a registry on upstream (HOST:PORT, checked) cannot both listen on one
// machine: the same port and overlapping addresses. A host name other than
// localhost is compared only with the same name: rendering does not
// resolve names.
func collides(lhost string, lport int, upstream string) bool {
	uh, up, err := net.SplitHostPort(upstream)
	if err != nil {
		return false
	}
	if n, err := strconv.Atoi(up); err != nil || n != lport {
		return false
	}
	return overlap(lhost, uh)
}

// overlap reports whether two listen addresses share an address.
func overlap(a, b string) bool {
	wild := func(h string) bool {
		ip, err := netip.ParseAddr(h)
		return h == "" || err == nil && ip.IsUnspecified()
	}
	if wild(a) || wild(b) {
		return true
	}
	ia, ea := netip.ParseAddr(a)
	ib, eb := netip.ParseAddr(b)
	switch {
	case ea == nil && eb == nil:
		return ia.Unmap() == ib.Unmap()
	case ea != nil && eb != nil:
		return strings.EqualFold(strings.TrimSuffix(a, "."), strings.TrimSuffix(b, "."))
	}
	// A name and an address: only localhost is known without resolving.
	name, ip := a, ib
	if ea == nil {
		name, ip = b, ia
	}
	ip = ip.Unmap()
	return strings.EqualFold(strings.TrimSuffix(name, "."), "localhost") &&
		(ip == netip.MustParseAddr("127.0.0.1") || ip == netip.IPv6Loopback())
}

// ParseKind returns the template called s.
func ParseKind(s string) (Kind, error) {
	for _, k := range Kinds {
		if string(k) == s {
			return k, nil
		}
	}
	names := make([]string, len(Kinds))
	for i, k := range Kinds {
		names[i] = string(k)
	}
	return "", errs.Input(fmt.Sprintf("unknown template %q", s), "choose one of "+strings.Join(names, ", "))
}

// clientPair is one client certificate and key, for containerd.
type clientPair struct{ Cert, Key string }

// data is what the templates see.
type data struct {
	Host     string // the registry folder name, reg:5000
	Hostname string // lowercased, no port or brackets
	// ServerName is Hostname, in brackets for an IPv6 address: nginx's
	// server_name and Apache's ServerName.
	ServerName string
	URL        string // https://reg:5000
	ID         string // the host as an nginx/Apache identifier
	// VarID is a short tag of the host for nginx variable names, which
	// must stay short: nginx refuses long ones with its default
	// variables_hash_bucket_size.
	VarID string
	Files ServerFiles
	// ServerDir is Options.ServerDir, absolute: the files are there, not
	// in the certkit home.
	ServerDir string
	// InstallServer is the command that copies the files out of the home
	// into ServerDir (by default install.DefaultServerDir) for a service
	// user, and RenderServer the one that renders this file naming them.
	InstallServer, RenderServer string

	ListenHost string // "" for every address
	ListenPort int

	RegistryAddr   string   // http.addr
	NginxListen    []string // listen directives
	ApacheListen   string   // Listen directive, "" for 443 on every address
	ApacheVHost    string   // <VirtualHost ...>
	ComposePublish string   // ports: entry

	Upstream string
	// UpstreamByRule says Upstream is DefaultUpstream, picked by
	// UpstreamRule (quoted in the file as Rule).
	UpstreamByRule bool
	Rule           string
	BehindProxy    bool   // the registry's config.yml for running behind a proxy
	ProxyAt        string // where the proxy listens, in words
	// Flags are --host, --listen and --upstream as given, quoted for a
	// shell: the registry behind the proxy and the proxy rendered with the
	// same ones agree.
	Flags string
	// HomeFlags is Options.HomeFlags.
	HomeFlags string
	Storage   string

	CertsDir      string // containerd certs root
	ContainerdDir string // CertsDir/<host>
	HostsTOML     string // ContainerdDir/hosts.toml
	ContainerdCA  string
	Clients       []clientPair
}

// Render renders kind for opt.Registry. It refuses (*NotIssuedError) when
// no server certificate was issued for the registry, except for containerd's
// hosts.toml, which is for the machines that pull: it needs only the CA
// certificate, and names the client pairs issued so far.
func Render(kind Kind, opt Options) ([]byte, error) {
	name, ok := fileOf[kind]
	if !ok {
		_, err := ParseKind(string(kind))
		return nil, err
	}
	d, err := newData(kind, opt)
	if err != nil {
		return nil, err
	}
	t, err := template.New(filepath.Base(name)).
		Funcs(template.FuncMap{"q": quote, "hostsTOML": hostsTOML, "nginxIssuers": nginxIssuers, "apacheIssuers": apacheIssuers}).
		Option("missingkey=error").
		ParseFS(files, name)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, d); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func newData(kind Kind, opt Options) (*data, error) {
	reg := opt.Registry
	if reg.Name == "" {
		return nil, errs.Input("no registry given", "pass --host, e.g. --host reg.example.com:5000")
	}
	lhost, lport, err := parseListen(opt.Listen, reg)
	if err != nil {
		return nil, err
	}
	if opt.BehindProxy && kind != Registry {
		return nil, errs.Input(fmt.Sprintf("only the registry template runs behind a proxy, not %s", kind), "certkit template registry --host "+shellquote.Quote(reg.String())+" --behind-proxy")
	}
	if kind == Registry && opt.Upstream != "" && !opt.BehindProxy {
		return nil, errs.Input(fmt.Sprintf("--upstream %q is where the registry listens behind a proxy, and this config.yml is for one without", opt.Upstream),
			"add --behind-proxy: certkit template registry --host "+shellquote.Quote(reg.String())+" --behind-proxy --upstream "+shellquote.Quote(opt.Upstream))
	}
	upstream := opt.Upstream
	if upstream == "" {
		upstream = DefaultUpstream(lport)
	} else if err := checkUpstream(upstream, DefaultUpstream(lport)); err != nil {
		return nil, err
	}
	proxied := kind == Nginx || kind == Apache || kind == Registry && opt.BehindProxy
	if proxied && collides(lhost, lport, upstream) {
		uh, _, _ := net.SplitHostPort(upstream)
		return nil, &CollisionError{Kind: kind, Registry: reg, Listen: opt.Listen, Upstream: upstream, Port: lport,
			Suggest: net.JoinHostPort(uh, strconv.Itoa(upstreamPort(lport)))}
	}
	storage := opt.Storage
	if storage == "" && kind != Compose {
		storage = DefaultStorage
	}
	if storage != "" {
		if storage, err = filepath.Abs(storage); err != nil {
			return nil, err
		}
	}
	certsDir := opt.CertsDir
	if certsDir == "" {
		certsDir = DefaultCertsDir
	}
	if certsDir, err = filepath.Abs(certsDir); err != nil {
		return nil, err
	}
	if opt.ServerDir != "" && (kind != Registry || opt.BehindProxy) {
		return nil, errs.Input("--server-dir names the files of a registry that serves TLS itself: certkit template registry without --behind-proxy",
			"drop --server-dir")
	}
	var files ServerFiles
	if opt.ServerDir != "" {
		files, err = locateServerDir(opt.ServerDir, reg)
	} else if kind == Containerd {
		// hosts.toml is for the machines that pull: they have the CA
		// certificate and their client pairs, not the server's files.
		files, err = locateCA(opt.Home)
	} else {
		files, err = Locate(opt.Home, reg)
	}
	if err != nil {
		return nil, err
	}
	d := &data{
		Host:       reg.String(),
		Hostname:   reg.Hostname(),
		ServerName: reg.Hostname(),
		URL:        "https://" + reg.String(),
		ID:         identifier(reg.String()),
		VarID:      shortTag(reg.String()),
		Files:      files,
		ListenHost: lhost,
		ListenPort: lport,
		Upstream:   upstream,
		Storage:    storage,
		CertsDir:   certsDir,

		UpstreamByRule: opt.Upstream == "",
		Rule:           UpstreamRule,
		BehindProxy:    opt.BehindProxy,
		ProxyAt:        fmt.Sprintf("port %d of every address", lport),
	}
	if lhost != "" {
		d.ProxyAt = net.JoinHostPort(lhost, strconv.Itoa(lport))
	}
	d.Flags = ProxyFlags(reg, opt.Listen, opt.Upstream)
	d.HomeFlags = opt.HomeFlags
	d.InstallServer = "sudo certkit install" + opt.HomeFlags + " --server --host " + shellquote.Quote(reg.String())
	if opt.ServerDir != "" {
		d.ServerDir = filepath.Dir(files.Chain)
		d.InstallServer += " --dir " + shellquote.Quote(d.ServerDir)
	}
	d.RenderServer = "certkit template registry" + opt.HomeFlags + " --host " + shellquote.Quote(reg.String()) +
		" --server-dir " + shellquote.Quote(install.DefaultServerDir(reg))
	if reg.IP.Is6() {
		d.ServerName = "[" + reg.Hostname() + "]"
	}
	port := strconv.Itoa(lport)
	if lhost == "" {
		d.RegistryAddr = ":" + port
		d.NginxListen = []string{port, "[::]:" + port}
		d.ApacheVHost = "*:" + port
		d.ComposePublish = port + ":" + composeTarget
		if lport != DefaultPort {
			d.ApacheListen = port
		}
	} else {
		hp := net.JoinHostPort(lhost, port)
		d.RegistryAddr = hp
		d.NginxListen = []string{hp}
		d.ApacheVHost = hp
		d.ApacheListen = hp
		d.ComposePublish = hp + ":" + composeTarget
	}
	d.ContainerdDir = filepath.Join(certsDir, reg.String())
	// The certs.d file names are install's: the folder this file
	// describes is the one `certkit install --target containerd` writes.
	d.HostsTOML = filepath.Join(d.ContainerdDir, install.HostsFile)
	d.ContainerdCA = filepath.Join(d.ContainerdDir, install.CAFileName)
	if kind == Containerd {
		names, err := home.ClientNames(opt.Home, reg.String())
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		for _, n := range names {
			d.Clients = append(d.Clients, clientPair{
				Cert: filepath.Join(d.ContainerdDir, n+install.CertExt),
				Key:  filepath.Join(d.ContainerdDir, n+install.KeyExt),
			})
		}
	}
	for _, p := range []struct{ what, path string }{
		{"the certkit home", files.Chain}, {"the certkit home", files.CA},
		{"the certkit home", files.ClientCAs}, {"the certkit home", files.CRL},
		{"--storage", storage}, {"--certs-dir", d.ContainerdDir},
	} {
		if p.path == "" {
			continue
		}
		if err := checkPath(p.what, p.path); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// parseListen splits a --listen value. The port defaults to the registry's.
func parseListen(s string, reg host.Registry) (string, int, error) {
	port := reg.Port
	if port == 0 {
		port = DefaultPort
	}
	if s == "" {
		return "", port, nil
	}
	bad := func(why string) error {
		return errs.Input(fmt.Sprintf("--listen %q: %s", s, why), "give PORT, :PORT or ADDRESS:PORT, e.g. --listen 127.0.0.1:5000")
	}
	h, p := "", s
	if strings.ContainsAny(s, ":") {
		var err error
		if h, p, err = net.SplitHostPort(s); err != nil {
			return "", 0, bad("not an address and port")
		}
	}
	n, err := strconv.Atoi(p)
	if err != nil || n < 1 || n > 65535 || strconv.Itoa(n) != p {
		return "", 0, bad("the port must be a number from 1 to 65535")
	}
	if h != "" && net.ParseIP(h) == nil {
		if _, err := host.Parse(h); err != nil || strings.ContainsAny(h, "[]") {
			return "", 0, bad("the address is not an IP address or a host name")
		}
	}
	return h, n, nil
}

// checkUpstream accepts HOST:PORT with a literal IP or a host name; the
// hint offers example instead.
func checkUpstream(s, example string) error {
	bad := func(why string) error {
		return errs.Input(fmt.Sprintf("--upstream %q: %s", s, why), "give the registry's plain-HTTP address, e.g. --upstream "+example)
	}
	h, p, err := net.SplitHostPort(s)
	if err != nil || h == "" {
		return bad("not HOST:PORT")
	}
	if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
		return bad("the port must be a number from 1 to 65535")
	}
	if net.ParseIP(h) == nil {
		if r, err := host.Parse(h); err != nil || r.Port != 0 {
			return bad("the host is not an IP address or a host name")
		}
	}
	return nil
}

// checkPath refuses paths that nginx, Apache, YAML and TOML cannot all hold
// inside a plain double-quoted string: invalid UTF-8, quotes, backslashes,
// '$' (an nginx variable) and control characters.
func checkPath(what, p string) error {
	if p == "" {
		return nil
	}
	if !utf8.ValidString(p) {
		return errs.Input(fmt.Sprintf("path %q (from %s) is not valid UTF-8, which server configurations cannot hold", p, what),
			"use a folder whose name is valid UTF-8")
	}
	for _, c := range p {
		if c == '"' || c == '\\' || c == '$' || unicode.IsControl(c) {
			return errs.Input(fmt.Sprintf("path %q (from %s) contains %q, which server configurations cannot hold safely", p, what, c),
				"use a folder whose name has no quotes, backslashes, '$' or control characters")
		}
	}
	return nil
}

// quote writes s as a double-quoted string; checkPath made it safe for every
// format the templates produce.
func quote(s string) string { return `"` + s + `"` }

// hostsTOML is the body of containerd's hosts.toml for the registry host
// (host[:port]), with the CA file ca and the client pairs by absolute
// path: install's rendering (install.RenderHostsTOML), so that the
// template and certkit install --target containerd write the same keys in
// the same order.
func hostsTOML(host, ca string, clients []clientPair) string {
	pairs := make([][2]string, len(clients))
	for i, c := range clients {
		pairs[i] = [2]string{c.Cert, c.Key}
	}
	return string(install.RenderHostsTOML(host, []string{ca}, pairs))
}

// shortTag returns 8 hex digits of the SHA-256 of s.
func shortTag(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:4])
}

// identifier turns a registry name into [a-z0-9_]+ for nginx upstream and
// variable names and Apache site file names.
func identifier(s string) string {
	var b strings.Builder
	for _, c := range strings.ToLower(s) {
		if (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') {
			b.WriteRune(c)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}
