package verify

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/certkit/certkit/host"
	"github.com/certkit/certkit/install"
	"github.com/certkit/certkit/internal/prose"
	"github.com/certkit/certkit/issue"
)

// DefaultTimeout bounds the live probe of one registry.
const DefaultTimeout = 10 * time.Second

// Read limits for the answers to GET /v2/. A registry answers with a few
// headers and "{}" or a short JSON error.
const (
	MaxHeaderBytes = 64 << 10
	MaxBodyBytes   = 64 << 10
)

// Pair is one client certificate and its key, as Docker and podman load
// NAME.cert and NAME.key (tls.LoadX509KeyPair: the chain as in the file,
// Leaf set).
type Pair struct {
	Name string
	Cert tls.Certificate
}

// Target is what the live probe needs to know about one registry.
type Target struct {
	Registry host.Registry
	// Addr is the host:port to connect to instead of resolving the
	// registry's name (like curl --resolve). The TLS server name and the
	// Host header stay those of Registry.
	Addr string
	// Dir is the certs.d folder the CAs and pairs come from, for messages.
	Dir string
	// CAs are the folder's CA files (*.crt), trusted on top of the roots.
	CAs []*x509.Certificate
	// Pairs are the folder's client pairs in filename order.
	Pairs []Pair
	// Refused is the error the container runtimes stop at when they load
	// the folder (install's LoaderError): they fail every pull and login
	// before they connect, so they send no pair at all. nil when they load
	// the folder.
	Refused error
	// Consumer is the target whose certs root holds the folder (Docker's
	// when empty): it says who reads the folder, and, with CertsDir, names
	// the certs root in the commands the fixes suggest.
	Consumer install.Target
	// CertsDir is the certs root given with --certs-dir, if any.
	CertsDir string
	// HomeFlags are the run's " --home DIR" (Options.HomeFlags).
	HomeFlags string
	// Manifest is certkit's record of the files it installed in the
	// folder (nil when none): certkit install replaces one of those that
	// changes only with --force, and never a file of the user's.
	Manifest *install.Manifest
	// InstallDir is the folder certkit install writes for Consumer, when
	// the folder read is another one (Options.Search); empty: Dir.
	InstallDir string
}

// flags name the certs root of the folder in suggested commands.
func (t *Target) flags() string { return targetFlags(t.Consumer, t.CertsDir) + t.HomeFlags }

// installCmd is the certkit install command a fix suggests for the
// folder's registry and certs root. replace are the folder's files it
// must replace (a re-issued pair, another CA), may are those it may
// change (ca.crt, installed from another certkit home). Install replaces
// a file it installed that changed only with --force, which the command
// then carries (install keeps a backup), and never a file of the user's:
// the command starts by moving those of replace out of certs.d.
func (t *Target) installCmd(replace []string, may ...string) string {
	dir, own := t.Dir, t.Manifest.Has
	if t.InstallDir != "" && t.InstallDir != t.Dir {
		// install writes another folder than the one read: only its
		// manifest says whether certkit installed there
		certkit := install.CertkitFolder(t.InstallDir, t.Registry)
		dir, own = t.InstallDir, func(string) (string, bool) { return "", certkit }
	}
	force := false
	var moves []string
	for i, name := range append(slices.Clone(replace), may...) {
		path := filepath.Join(dir, name)
		if _, err := os.Lstat(path); err != nil {
			continue
		}
		switch _, mine := own(name); {
		case mine:
			force = true
		case i < len(replace):
			moves = append(moves, path)
		}
	}
	cmd := install.Command(t.Registry.String(), force, t.flags())
	if len(moves) > 0 {
		cmd = fmt.Sprintf("move %s out of certs.d (install never replaces a file it did not install), then %s", prose.AndList(moves), cmd)
	}
	return cmd
}

// pairFiles are the files of the client pair name in a registry folder.
func pairFiles(name string) []string { return []string{name + install.CertExt, name + install.KeyExt} }

// LiveOptions tune the probe.
type LiveOptions struct {
	// Timeout bounds the whole probe of one registry (DefaultTimeout when
	// 0). Each network step gets its own deadline of at most half of it,
	// so a step that stalls still leaves time to report the others.
	Timeout time.Duration
	// Roots is the pool the folder's CAs are added to; nil means the
	// system roots, as Docker uses them.
	Roots *x509.CertPool
	// Now is the clock certificates are checked against (time.Now).
	Now func() time.Time
	// Lookup resolves a host name (net.DefaultResolver.LookupNetIP).
	Lookup func(ctx context.Context, host string) ([]netip.Addr, error)
	// Issued returns the server certificate the certkit home holds now
	// for a registry (nil when there is none, or no home): a registry that
	// serves an older one has not been restarted since it was renewed.
	Issued func(reg host.Registry) *x509.Certificate
	// AllowOpen says the registry is meant to serve clients without a
	// certificate (verify --allow-open). Without it a registry that does
	// is an error: keeping strangers out is what certkit is for.
	AllowOpen bool
}

// Probe checks the live registry: connect, TLS handshake, the server's
// CertificateRequest, GET /v2/ with each pair and with none, the API
// version header, and loopback names. It never returns an error: every
// failure is a check in the report.
func Probe(ctx context.Context, t Target, opt LiveOptions) *Report {
	start := time.Now()
	rep := probeChecks(ctx, t, opt)
	rep.count()
	rep.Elapsed = Millis(time.Since(start))
	return rep
}

// probeChecks is Probe without the totals, for Verify, which counts once the
// folder's checks are in.
func probeChecks(ctx context.Context, t Target, opt LiveOptions) *Report {
	rep := &Report{Registry: t.Registry.String(), Dir: t.Dir, Accepted: []string{}}
	p := newProber(t, opt, rep)
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	p.run(ctx)
	return rep
}

type prober struct {
	t         Target
	allowOpen bool
	timeout   time.Duration
	step      time.Duration
	now       func() time.Time
	lookup    func(ctx context.Context, host string) ([]netip.Addr, error)
	roots     *x509.CertPool
	// issued is the certkit home's current server certificate for the
	// registry, when known.
	issued *x509.Certificate
	port   int
	rep    *Report

	resolved []netip.Addr       // what the name resolved to, when it was resolved
	addr     string             // the address every connection goes to
	bodyNote *Check             // the first oversized or stalled body
	answers  map[string]*answer // the accepted pairs' answers
	// refusesNoCert is set when the registry refused the connection made
	// without a client certificate.
	refusesNoCert bool
	// acceptable are the CAs the server's CertificateRequest names, as
	// nameOf writes them; unlisted[i] is set when it names some and the
	// chain of pair i has an issuer among none of them (requestCheck).
	acceptable []string
	unlisted   []bool
	// front is the server software that answered GET /v2/ (frontOf),
	// "" until one said.
	front string
}

func newProber(t Target, opt LiveOptions, rep *Report) *prober {
	p := &prober{t: t, allowOpen: opt.AllowOpen, timeout: opt.Timeout, now: opt.Now, lookup: opt.Lookup, rep: rep, answers: map[string]*answer{}}
	if opt.Issued != nil {
		p.issued = opt.Issued(t.Registry)
	}
	if p.timeout <= 0 {
		p.timeout = DefaultTimeout
	}
	p.step = p.timeout / 2
	if p.now == nil {
		p.now = time.Now
	}
	if p.lookup == nil {
		p.lookup = func(ctx context.Context, h string) ([]netip.Addr, error) {
			return net.DefaultResolver.LookupNetIP(ctx, "ip", h)
		}
	}
	roots := opt.Roots
	if roots == nil {
		sys, err := x509.SystemCertPool()
		if err != nil {
			sys = x509.NewCertPool()
		}
		roots = sys
	}
	p.roots = roots.Clone()
	for _, c := range t.CAs {
		p.roots.AddCert(c)
	}
	p.port = t.Registry.Port
	if p.port == 0 {
		p.port = 443
	}
	return p
}

func (p *prober) add(c Check) { p.rep.Checks = append(p.rep.Checks, c) }

// stepCtx gives one network step its own deadline inside the probe's.
func (p *prober) stepCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, p.step)
}

// outOfTime reports a check that could not start because the probe's
// timeout ran out.
func (p *prober) outOfTime(id string) Check {
	return Check{ID: id, Status: Error, Kind: "out-of-time",
		Message: fmt.Sprintf("not checked: the timeout of %s ran out before this step", p.timeout),
		Fix:     "give the registry more time with --timeout, or look at the steps above that were slow"}
}

func (p *prober) run(ctx context.Context) {
	defer p.refused()
	defer p.loopback()
	if !p.resolve(ctx) {
		return
	}
	conn, ok := p.connect(ctx)
	if !ok {
		return
	}
	// The first connection sends no client certificate: it shows the
	// server's chain and its CertificateRequest, and whether the registry
	// answers a client without a certificate.
	first := p.session(ctx, conn, nil)
	if !p.tlsCheck(first) {
		return
	}
	sent := p.requestCheck(first)
	for i := range p.t.Pairs {
		p.pairCheck(ctx, i, i == sent)
	}
	p.nameWorkingPair(sent)
	p.noCertCheck(first)
	if p.bodyNote != nil {
		p.add(*p.bodyNote)
	}
	p.apiVersionCheck(first)
}

// resolve finds the addresses to connect to: --addr, the IP literal, or
// the name's DNS answer.
func (p *prober) resolve(ctx context.Context) bool {
	r := p.t.Registry
	switch {
	case p.t.Addr != "":
		p.addr = p.t.Addr
		return true
	case r.IP.IsValid():
		p.addr = net.JoinHostPort(r.IP.String(), strconv.Itoa(p.port))
		return true
	}
	if ctx.Err() != nil {
		p.add(p.outOfTime("resolve"))
		return false
	}
	sctx, cancel := p.stepCtx(ctx)
	defer cancel()
	start := time.Now()
	addrs, err := p.lookup(sctx, r.Hostname())
	c := Check{ID: "resolve", Elapsed: Millis(time.Since(start))}
	if err == nil && len(addrs) == 0 {
		err = &net.DNSError{Err: "no addresses", Name: r.Hostname(), IsNotFound: true}
	}
	if err != nil {
		c.Status = Error
		c.Kind, c.Message, c.Fix = p.diagnoseLookup(err)
		p.add(c)
		return false
	}
	p.resolved = addrs
	var list []string
	for _, a := range addrs {
		list = append(list, a.Unmap().String())
	}
	c.Status = OK
	c.Message = fmt.Sprintf("%s resolves to %s", r.Hostname(), strings.Join(list, ", "))
	p.add(c)
	return true
}

func (p *prober) diagnoseLookup(err error) (kind, msg, fix string) {
	name := p.t.Registry.Hostname()
	fix = fmt.Sprintf("check the name; add it to DNS or /etc/hosts, or test an address with --addr IP:%d", p.port)
	var dnsErr *net.DNSError
	switch {
	case isTimeout(err):
		return "dns-timeout", fmt.Sprintf("no DNS answer for %s within %s", name, p.step), fix
	case errors.As(err, &dnsErr) && dnsErr.IsNotFound:
		return "dns-not-found", fmt.Sprintf("%s does not resolve: no such host", name), fix
	}
	return "dns", fmt.Sprintf("cannot resolve %s: %v", name, err), fix
}

// connect opens the first connection, to the first address that answers,
// and keeps that address for every later connection.
func (p *prober) connect(ctx context.Context) (net.Conn, bool) {
	if ctx.Err() != nil {
		p.add(p.outOfTime("connect"))
		return nil, false
	}
	addrs := []string{p.addr}
	if p.addr == "" {
		addrs = addrs[:0]
		for _, a := range p.resolved {
			addrs = append(addrs, net.JoinHostPort(a.Unmap().String(), strconv.Itoa(p.port)))
		}
	}
	start := time.Now()
	var firstErr error
	for _, a := range addrs {
		conn, err := p.dialAddr(ctx, a)
		if err == nil {
			p.addr = a
			p.rep.Addr = a
			via := ""
			if p.t.Addr != "" {
				via = " (--addr)"
			}
			p.add(Check{ID: "connect", Status: OK, Elapsed: Millis(time.Since(start)),
				Message: fmt.Sprintf("connected to %s%s", a, via)})
			return conn, true
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	c := Check{ID: "connect", Status: Error, Elapsed: Millis(time.Since(start))}
	c.Kind, c.Message, c.Fix = p.diagnoseDial(firstErr, strings.Join(addrs, ", "))
	p.add(c)
	return nil, false
}

func (p *prober) dialAddr(ctx context.Context, addr string) (net.Conn, error) {
	sctx, cancel := p.stepCtx(ctx)
	defer cancel()
	var d net.Dialer
	return d.DialContext(sctx, "tcp", addr)
}

// session is one connection: a TLS handshake, then GET /v2/.
type session struct {
	hs      handshake
	hsErr   error
	answer  *answer
	getErr  error
	sniff   *sniffConn
	hsTime  time.Duration // the handshake
	elapsed time.Duration // handshake and GET /v2/
}

// handshake records what the TLS callbacks saw.
type handshake struct {
	cri       *tls.CertificateRequestInfo
	peer      []*x509.Certificate
	chains    [][]*x509.Certificate
	verifyErr error
	verified  bool
	version   uint16
}

// session runs one handshake on conn, sending pair when it is not nil
// (whatever the server's list of acceptable CAs says, so that every pair
// is tried), then GET /v2/ when the handshake succeeded. It closes conn.
func (p *prober) session(ctx context.Context, conn net.Conn, pair *Pair) *session {
	start := time.Now()
	defer conn.Close()
	s := &session{sniff: &sniffConn{Conn: conn}}
	tc := tls.Client(s.sniff, p.tlsConfig(&s.hs, pair))
	hctx, cancel := p.stepCtx(ctx)
	stop := armDeadline(hctx, conn)
	s.hsErr = tc.HandshakeContext(hctx)
	s.hsTime = time.Since(start)
	stop()
	cancel()
	if s.hsErr == nil {
		gctx, cancel := p.stepCtx(ctx)
		stop := armDeadline(gctx, conn)
		s.answer, s.getErr = p.get(gctx, tc)
		stop()
		cancel()
		if p.front == "" && s.answer != nil {
			p.front = frontOf(s.answer)
		}
	}
	s.elapsed = time.Since(start)
	return s
}

// armDeadline puts ctx's deadline on conn, and cuts conn short when ctx is
// cancelled early. The returned function undoes the watch.
func armDeadline(ctx context.Context, conn net.Conn) func() {
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	return func() { stop() }
}

// tlsConfig is a modern Go client's configuration (TLS 1.2 at least, the
// registry's name as server name), with two callbacks that record what the
// handshake shows. The server's chain is verified in VerifyConnection
// exactly as crypto/tls verifies it (same roots, intermediates, name and
// clock), so that the chain can be reported and a failure classified; a
// failure there aborts the handshake just as it would in Docker.
func (p *prober) tlsConfig(hs *handshake, pair *Pair) *tls.Config {
	return &tls.Config{
		ServerName:         p.t.Registry.Hostname(),
		MinVersion:         tls.VersionTLS12,
		Time:               p.now,
		InsecureSkipVerify: true, // verified in VerifyConnection, below
		VerifyConnection: func(cs tls.ConnectionState) error {
			hs.peer = cs.PeerCertificates
			hs.version = cs.Version
			hs.chains, hs.verifyErr = p.verifyServer(cs.PeerCertificates)
			hs.verified = hs.verifyErr == nil
			return hs.verifyErr
		},
		GetClientCertificate: func(cri *tls.CertificateRequestInfo) (*tls.Certificate, error) {
			hs.cri = cri
			if pair == nil {
				return &tls.Certificate{}, nil
			}
			return &pair.Cert, nil
		},
	}
}

// verifyServer is crypto/tls's verification of a server's chain.
func (p *prober) verifyServer(certs []*x509.Certificate) ([][]*x509.Certificate, error) {
	if len(certs) == 0 {
		return nil, errors.New("the server sent no certificate")
	}
	opts := x509.VerifyOptions{
		Roots:         p.roots,
		CurrentTime:   p.now(),
		DNSName:       p.t.Registry.Hostname(),
		Intermediates: x509.NewCertPool(),
	}
	for _, c := range certs[1:] {
		opts.Intermediates.AddCert(c)
	}
	return certs[0].Verify(opts)
}

// tlsCheck reports the handshake of the first connection. It returns false
// when the server's certificate was not verified: nothing after that would
// work for Docker either, and no client certificate is ever shown to a
// server that was not verified.
func (p *prober) tlsCheck(s *session) bool {
	hs := &s.hs
	if len(hs.peer) > 0 {
		info := &ServerInfo{TLSVersion: tls.VersionName(hs.version)}
		for _, c := range hs.peer {
			info.Chain = append(info.Chain, certInfo(c))
		}
		p.rep.Server = info
	}
	c := Check{ID: "tls", Elapsed: Millis(s.hsTime)}
	switch {
	case hs.verified:
		leaf := hs.peer[0]
		c.Status = OK
		c.Message = fmt.Sprintf("%s, server certificate %s valid for %s until %s, %s",
			tls.VersionName(hs.version), nameOf(leaf.Subject), p.t.Registry.Hostname(), day(leaf.NotAfter), p.trustedVia(hs.chains))
		if p.servesOld(leaf) {
			c.Status = Warning
			c.Kind, c.Message, c.Fix = p.restartNeeded(leaf)
		} else if left := leaf.NotAfter.Sub(p.now()); left < expiringWithin {
			c.Status = Warning
			c.Kind = "expiring"
			c.Message = fmt.Sprintf("the server certificate %s expires in %d days, on %s", nameOf(leaf.Subject), int(left.Hours()/24), day(leaf.NotAfter))
			c.Fix = fmt.Sprintf("renew it in the certkit home: certkit renew --all --host %s --name server%s, then restart the registry", hostArg(p.t.Registry), p.t.HomeFlags)
		}
		p.add(c)
		return true
	case hs.verifyErr != nil:
		c.Status = Error
		c.Kind, c.Message, c.Fix = p.diagnoseServerCert(hs.verifyErr, hs.peer)
	default:
		c.Status = Error
		c.Kind, c.Message, c.Fix = p.diagnoseHandshake(s.hsErr, s.sniff)
	}
	p.add(c)
	return false
}

// expiringWithin is when a valid certificate starts to deserve a warning.
const expiringWithin = 30 * 24 * time.Hour

// trustedVia names the root that vouched for the server: one of the
// folder's CA files, or the system roots.
func (p *prober) trustedVia(chains [][]*x509.Certificate) string {
	for _, chain := range chains {
		root := chain[len(chain)-1]
		for _, c := range p.t.CAs {
			if c.Equal(root) {
				return "trusted through the folder's CA " + nameOf(root.Subject)
			}
		}
	}
	if len(chains) > 0 {
		ch := chains[0]
		return "trusted through the system root " + nameOf(ch[len(ch)-1].Subject)
	}
	return "trusted"
}

// loopbackMessage is the loopback check's message: who (the registry
// named by a loopback name or address, or its name and the loopback
// address it resolves to), then refused (what that means here), if
// anything. README's loopback trap says the rest.
func loopbackMessage(who, refused string) string {
	return who + ": Docker's classic path sends it no client certificate" + refused
}

// loopback warns about registries that Docker's classic path treats as
// insecure (certsd.md §4): a loopback name or address, or a name that
// resolves to one.
func (p *prober) loopback() {
	r := p.t.Registry
	// what that means for this registry, when it turns such clients away
	refused := ""
	if p.refusesNoCert {
		refused = ", so docker login and pull are refused here"
	}
	if msg := issue.LoopbackWarning(r); msg != "" {
		p.add(Check{ID: "loopback", Status: Warning, Kind: "loopback", Message: loopbackMessage(r.String()+" is a loopback registry", refused), Fix: issue.LoopbackFix})
		return
	}
	if a, ok := p.loopbackAddr(); ok {
		p.add(Check{ID: "loopback", Status: Warning, Kind: "loopback",
			Message: loopbackMessage(fmt.Sprintf("%s resolves to %s, a loopback address", r.Hostname(), a), refused), Fix: issue.LoopbackFix})
	}
}

// loopbackAddr returns the first loopback address the name resolved to.
func (p *prober) loopbackAddr() (netip.Addr, bool) {
	for _, a := range p.resolved {
		if a.Unmap().IsLoopback() {
			return a.Unmap(), true
		}
	}
	return netip.Addr{}, false
}

// isLoopback reports a registry Docker's classic path treats as insecure
// and reads no certs.d folder for (certsd.md §4): a loopback name or
// address, or a name that resolved to one.
func (p *prober) isLoopback() bool {
	_, ok := p.loopbackAddr()
	return p.t.Registry.IsLoopback() || ok
}

// sender names the client whose choice of pair the messages describe:
// Docker, or podman where Docker sends none (a loopback registry).
func (p *prober) sender() string {
	if p.isLoopback() {
		return "podman"
	}
	return "Docker"
}

// refused reports, first among the live checks, a folder the container
// runtimes refuse to load: whatever the registry accepts, every pull and
// login fails before they connect, and the pairs tried below are what
// they would send once the folder is fixed.
func (p *prober) refused() {
	err := p.t.Refused
	if err == nil {
		return
	}
	who := readers(p.t.Consumer)
	r := p.t.Registry
	c := Check{ID: "loader", Status: Error, Kind: "folder-refused",
		Message: fmt.Sprintf("%s %s to load %s (%s), so every pull and login for %s fails before %s and no client certificate is sent, whatever the registry accepts; the checks below show the registry's side only",
			who, agree(p.t.Consumer, "refuse", "refuses"), p.t.Dir, err, r, agree(p.t.Consumer, "they connect", "it connects")),
		Fix: "correct the folder first (the folder checks above say how), then run certkit verify again"}
	if p.isLoopback() && dockerAndPodman(p.t.Consumer) {
		c.Message = fmt.Sprintf("podman refuses to load %s (%s), so every podman pull and login for %s fails before it connects; Docker's classic path does not read the folder of a loopback registry and sends no client certificate either; the checks below show the registry's side only",
			p.t.Dir, err, r)
	}
	p.rep.Checks = append([]Check{c}, p.rep.Checks...)
}
