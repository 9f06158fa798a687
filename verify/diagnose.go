package verify

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/certkit/certkit/install"
	"github.com/certkit/certkit/internal/prose"
	"github.com/certkit/certkit/internal/shellquote"
)

// isTimeout reports a deadline that ran out, whichever layer noticed.
func isTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func isClosed(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// diagnoseDial explains a failed TCP connect to addrs (one or more
// host:port, comma-separated).
func (p *prober) diagnoseDial(err error, addrs string) (kind, msg, fix string) {
	port := strconv.Itoa(p.port)
	if _, pt, err := net.SplitHostPort(strings.Split(addrs, ", ")[0]); err == nil {
		port = pt
	}
	switch {
	case isTimeout(err):
		return "connect-timeout",
			fmt.Sprintf("no answer from %s within %s: a firewall drops the packets, or the address is wrong", addrs, p.step),
			fmt.Sprintf("check the address, and that TCP port %s is open to this machine", port)
	case errors.Is(err, syscall.ECONNREFUSED):
		return "refused",
			fmt.Sprintf("%s refused the connection: nothing listens on port %s there", addrs, port),
			"start the registry, or check the port: the certs.d folder and --host carry the port the registry listens on (e.g. reg.example.com:5000)"
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return "unreachable", fmt.Sprintf("%s is unreachable (no route to it)", addrs), "check the address and this machine's network"
	}
	return "connect", fmt.Sprintf("cannot connect to %s: %v", addrs, err), "check the address and port"
}

// remoteAlert returns the TLS alert the server sent, if err is one. Newer
// crypto/tls wraps tls.AlertError; a plain tls.Conn reports a received
// alert as a *net.OpError "remote error" around crypto/tls's own alert
// code, whose value is read without parsing any message text.
func remoteAlert(err error) (uint8, bool) {
	var ae tls.AlertError
	if errors.As(err, &ae) {
		return uint8(ae), true
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Op == "remote error" && oe.Err != nil {
		v := reflect.ValueOf(oe.Err)
		if v.Kind() == reflect.Uint8 && v.Type().PkgPath() == "crypto/tls" {
			return uint8(v.Uint()), true
		}
	}
	return 0, false
}

// TLS alert codes (RFC 8446 §6) that verify names.
const (
	alertHandshakeFailure    = 40
	alertBadCertificate      = 42
	alertUnsupportedCert     = 43
	alertCertificateExpired  = 45
	alertCertificateUnknown  = 46
	alertUnknownCA           = 48
	alertProtocolVersion     = 70
	alertCertificateRequired = 116
)

// alertName is the alert's name as RFC 8446 spells it ("certificate
// required", "unknown certificate authority", "bad certificate").
func alertName(code uint8) string {
	return strings.TrimPrefix(tls.AlertError(code).Error(), "tls: ")
}

func (p *prober) alertFix(code uint8, pr *Pair) string {
	reissue := p.reissue(pr)
	switch code {
	case alertUnknownCA:
		return fmt.Sprintf("the registry does not trust %s, the CA that issued %s.cert: add that CA's certificate to the registry's http.tls.clientcas, or issue the pair from the CA it trusts: %s",
			issuerOf(pr), pr.Name, reissue)
	case alertCertificateExpired:
		return "renew the pair: " + reissue
	case alertBadCertificate, alertUnsupportedCert, alertCertificateUnknown:
		return "the registry refuses the certificate itself: a client certificate needs extended key usage clientAuth and must be valid now (certkit verify --offline checks both); reissue it: " + reissue
	case alertCertificateRequired, alertHandshakeFailure:
		return "the registry got no certificate it could use from this pair (is its key type one the server accepts?); reissue it with the default key type: " + reissue
	}
	return "the registry's log says why it refused the certificate"
}

// issuerAlert reports an alert a server sends for a client certificate
// from a CA it does not trust: "unknown certificate authority", or, from
// Go before 1.22 and some other servers, "bad certificate", "certificate
// unknown" or "unsupported certificate".
func issuerAlert(code uint8) bool {
	switch code {
	case alertUnknownCA, alertBadCertificate, alertCertificateUnknown, alertUnsupportedCert:
		return true
	}
	return false
}

// foreignIssuer tells whether pair i comes from another CA than the one
// the registry trusts for client certificates, and says why: its issuer
// is not among the CAs the server's CertificateRequest names
// (requestCheck's finding), or, when the server names none or names its
// issuer's name, it is signed by none of the folder's CAs while one of
// them bears its issuer's name (another CA with the same name) or, with
// no list to go by, while the folder has CAs at all (certkit's registry
// trusts the CA of the folder for clients).
func (p *prober) foreignIssuer(i int) (string, bool) {
	pr := &p.t.Pairs[i]
	leaf := pr.Cert.Leaf
	if leaf == nil {
		return "", false
	}
	cert := pr.Name + ".cert"
	names := p.acceptable
	if i < len(p.unlisted) && p.unlisted[i] {
		return fmt.Sprintf("the registry trusts another CA: it accepts client certificates issued by %s, and %s is issued by %s",
			prose.AndList(names), cert, nameOf(leaf.Issuer)), true
	}
	chain := pairChain(pr)
	if len(p.t.CAs) == 0 || signedByFolder(chain, p.t.CAs) {
		return "", false
	}
	for _, c := range p.t.CAs {
		if bytes.Equal(c.RawSubject, leaf.RawIssuer) {
			return fmt.Sprintf("the registry trusts another CA: %s is issued by a CA named %s, but not by the folder's CA of that name (SHA-256 %s), another CA with the same name: was the CA made again?",
				cert, nameOf(leaf.Issuer), short(fingerprint(c))), true
		}
	}
	if len(names) > 0 {
		// the registry names the issuer: the folder's CAs say nothing
		return "", false
	}
	var folder []string
	for _, c := range p.t.CAs {
		folder = append(folder, nameOf(c.Subject))
	}
	return fmt.Sprintf("the registry most likely trusts another CA: it names none it accepts, and %s is issued by %s, not by the folder's CA %s",
		cert, nameOf(leaf.Issuer), prose.AndList(folder)), true
}

// issuerListed reports whether a certificate of pr's chain is issued by
// one of the CAs a CertificateRequest names (DER names, as acceptable).
func issuerListed(pr *Pair, acceptable [][]byte) bool {
	for _, c := range pairChain(pr) {
		for _, der := range acceptable {
			if bytes.Equal(c.RawIssuer, der) {
				return true
			}
		}
	}
	return false
}

// pairChain is pr's chain as parsed certificates, leaf first; nil when
// the leaf is unknown.
func pairChain(pr *Pair) []*x509.Certificate {
	if pr.Cert.Leaf == nil {
		return nil
	}
	chain := []*x509.Certificate{pr.Cert.Leaf}
	for _, der := range pr.Cert.Certificate[min(1, len(pr.Cert.Certificate)):] {
		if c, err := x509.ParseCertificate(der); err == nil {
			chain = append(chain, c)
		}
	}
	return chain
}

// signedByFolder reports a chain whose leaf or one of whose certificates
// is signed by one of cas, or is one of them.
func signedByFolder(chain, cas []*x509.Certificate) bool {
	for _, c := range chain {
		for _, ca := range cas {
			if c.Equal(ca) || bytes.Equal(ca.RawSubject, c.RawIssuer) && c.CheckSignatureFrom(ca) == nil {
				return true
			}
		}
	}
	return false
}

// foreignFix is the fix for a pair from another CA than the registry's:
// a client certificate from the registry's CA, or the registry told to
// trust this one.
func (p *prober) foreignFix(pr *Pair) string {
	return fmt.Sprintf("issue the client certificate from the registry's CA, in the certkit home that holds it: %s; or add the CA that issued %s.cert (%s) to the registry's http.tls.clientcas",
		p.reissue(pr), pr.Name, issuerOf(pr))
}

// reissue is the fix's commands for a new pair under pr's name: issue it
// (with --force: the certkit home may hold one of that name already, which
// it keeps as a backup), then install it over pr.
func (p *prober) reissue(pr *Pair) string {
	return p.issueClient(pr.Name) + ", then " + p.t.installCmd(pairFiles(pr.Name), install.CAFileName)
}

// issueClient is the command that issues the client pair name for the
// registry, replacing one of that name in the certkit home.
func (p *prober) issueClient(name string) string {
	cmd := "certkit issue client --host " + hostArg(p.t.Registry)
	if name != "client" {
		cmd += " --name " + shellquote.Quote(name)
	}
	return cmd + " --force"
}

// httpRejectionFix says what to do about an HTTP rejection of pr (nil:
// of a client without a certificate).
func httpRejectionFix(status int, pr *Pair) string {
	switch {
	case status == 403 && pr == nil:
		return "the registry, or a proxy in front of it, refuses clients without a certificate, but does not ask for one in the TLS handshake: let the TLS layer request it (http.tls.clientcas)"
	case status == 403:
		subject := "(unknown)"
		if pr.Cert.Leaf != nil {
			subject = pr.Cert.Leaf.Subject.String()
		}
		return fmt.Sprintf("the registry, or a proxy in front of it, refuses %s.cert (subject %q): allow it in the access rules, or remove %s.cert and %s.key from the folder", pr.Name, subject, pr.Name, pr.Name)
	case status == 404:
		return "GET /v2/ is not found: this address serves something else than the registry's API (a wrong port, or a proxy without a /v2/ route)"
	case status >= 500:
		return "the server failed: the registry's (or its proxy's) log says why"
	case status >= 300 && status < 400:
		return "the server redirects GET /v2/: Docker needs the registry itself at this address"
	}
	return "the registry's log says why it refused the request"
}

// diagnoseHandshake explains a TLS handshake that failed before the
// server's certificate could be verified.
func (p *prober) diagnoseHandshake(err error, s *sniffConn) (kind, msg, fix string) {
	tlsFix := "enable TLS 1.2 or 1.3 on the registry (distribution: http.tls.minimumtls: tls1.2)"
	if v, ok := s.serverHelloVersion(); ok && v < tls.VersionTLS12 {
		return "tls-version",
			fmt.Sprintf("the server chose %s; certkit, like Docker, requires TLS 1.2 at least", tls.VersionName(v)), tlsFix
	}
	if code, ok := remoteAlert(err); ok {
		switch code {
		case alertProtocolVersion:
			return "tls-version", "the server refused TLS 1.2 and 1.3 (alert: protocol version not supported); certkit, like Docker, requires TLS 1.2 at least", tlsFix
		case alertHandshakeFailure:
			return "handshake-failure", "the server refused the handshake (alert: handshake failure): it has no TLS 1.2/1.3 cipher suite or key exchange in common with Go clients", tlsFix
		}
		return "alert", "the server refused the TLS handshake (alert: " + alertName(code) + ")", "the registry's log says why"
	}
	var rhe tls.RecordHeaderError
	if errors.As(err, &rhe) {
		if bytes.HasPrefix(rhe.RecordHeader[:], []byte("HTTP/")) {
			return "plain-http",
				fmt.Sprintf("%s answers plain HTTP, not TLS", p.addr),
				fmt.Sprintf("configure TLS on the registry (http.tls.certificate, key and clientcas in its config.yml); certkit issue server --host %s makes the certificate", hostArg(p.t.Registry))
		}
		return "not-tls", fmt.Sprintf("%s does not speak TLS (it answered % x)", p.addr, rhe.RecordHeader[:]),
			"check that this port is the registry's TLS port"
	}
	if isTimeout(err) {
		if s.n == 0 {
			return "silent",
				fmt.Sprintf("%s accepted the connection but sent nothing within %s: no TLS server answers there", p.addr, p.step),
				"check that the registry, not another program, listens on this port, and that it is not hung"
		}
		return "handshake-stalled",
			fmt.Sprintf("the TLS handshake with %s stalled after %d bytes from the server and did not finish within %s", p.addr, s.n, p.step),
			"check the registry's log, and any proxy or load balancer in front of it"
	}
	if isClosed(err) {
		return "closed",
			fmt.Sprintf("%s closed the connection during the TLS handshake, after %d bytes", p.addr, s.n),
			"check that this port is the registry's TLS port, and the registry's log"
	}
	return "handshake", "the TLS handshake failed: " + err.Error(), "the registry's log may say why"
}

// errHeadersTooLarge reports an answer whose headers never ended.
type errHeadersTooLarge struct{ limit int }

func (e *errHeadersTooLarge) Error() string {
	return fmt.Sprintf("the response headers exceed %d KiB", e.limit>>10)
}

// diagnoseHTTP explains a GET /v2/ that got no usable answer after a
// successful handshake.
func (p *prober) diagnoseHTTP(err error) (kind, msg, fix string) {
	var big *errHeadersTooLarge
	switch {
	case errors.As(err, &big):
		return "headers-too-large",
			fmt.Sprintf("the headers of the answer to GET /v2/ exceed %d KiB; certkit stopped reading: a registry sends a few short headers", big.limit>>10),
			"check that this address is the registry itself and not another server"
	case isTimeout(err):
		return "http-timeout", fmt.Sprintf("no answer to GET /v2/ within %s after the handshake", p.step),
			"a registry answers GET /v2/ at once: check its log, and any proxy in front of it"
	case isClosed(err):
		return "closed", "the server closed the connection without answering GET /v2/", "the registry's log may say why"
	}
	return "bad-http", "the answer to GET /v2/ is not valid HTTP: " + err.Error(), "check that this address is the registry itself"
}

// diagnoseServerCert explains why the server's chain failed crypto/tls's
// verification, with typed errors, and names the fix.
func (p *prober) diagnoseServerCert(err error, peer []*x509.Certificate) (kind, msg, fix string) {
	if len(peer) > 0 && p.servesOld(peer[0]) {
		// Whatever is wrong with the old certificate, the new one is
		// what the registry must serve.
		return p.restartNeeded(peer[0])
	}
	reg := p.t.Registry
	now := p.now()
	reissue := fmt.Sprintf("certkit issue server --host %s --force, then restart the registry with the new certificate", hostArg(reg))
	var he x509.HostnameError
	var ce x509.CertificateInvalidError
	var ue x509.UnknownAuthorityError
	switch {
	case errors.As(err, &he):
		c := he.Certificate
		if len(c.DNSNames) == 0 && len(c.IPAddresses) == 0 {
			return "legacy-cn",
				fmt.Sprintf("the server certificate has no subject alternative names, only the Common Name %q; every Go client (Docker, podman, containerd) refuses it (x509: certificate relies on legacy Common Name field)", c.Subject.CommonName),
				"issue a server certificate with SANs: " + reissue
		}
		why := ""
		if reg.IP.IsValid() {
			why = " (a registry reached by IP needs an IP SAN)"
		}
		return "hostname",
			fmt.Sprintf("the server certificate is valid for %s, not for %s: it lacks the SAN %s%s",
				strings.Join(sans(c), ", "), reg.Hostname(), sanName(reg.Hostname(), reg.IP.IsValid()), why),
			fmt.Sprintf("issue a server certificate that names it: certkit issue server --host %s%s --force, then restart the registry with it", hostArg(reg), keepSANs(c, reg.Hostname()))
	case errors.As(err, &ce):
		who := "the server certificate"
		if len(peer) > 0 && !ce.Cert.Equal(peer[0]) {
			who = "the CA certificate " + nameOf(ce.Cert.Subject) + " in the server's chain"
		}
		switch ce.Reason {
		case x509.Expired:
			if now.Before(ce.Cert.NotBefore) {
				return "not-yet-valid",
					fmt.Sprintf("%s is not valid before %s, and this machine's clock says %s", who, ce.Cert.NotBefore.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339)),
					"check the clock of this machine and of the machine that issued the certificate (timedatectl)"
			}
			days := int(now.Sub(ce.Cert.NotAfter).Hours() / 24)
			fix := reissue
			if who != "the server certificate" {
				fix = "make a new CA (certkit init-ca --force), then issue, install and restart everything again"
			}
			return "expired", fmt.Sprintf("%s expired on %s (%d days ago)", who, day(ce.Cert.NotAfter), days), "renew it: " + fix
		case x509.IncompatibleUsage:
			return "not-server-cert",
				"the server certificate is not for TLS servers: its extended key usage lacks serverAuth (is it a client certificate?)",
				"issue a server certificate: " + reissue
		case x509.NotAuthorizedToSign:
			return "not-a-ca", fmt.Sprintf("%s is not a CA, yet it signs the next certificate of the chain", nameOf(ce.Cert.Subject)),
				"serve a chain made by a CA: " + reissue
		}
		return "invalid", "the server's chain is invalid: " + ce.Error(), reissue
	case errors.As(err, &ue):
		return p.diagnoseUnknownAuthority(peer)
	}
	return "verify", "the server certificate does not verify: " + err.Error(), reissue
}

// diagnoseUnknownAuthority tells apart a server chain that ends at a root
// the folder does not trust, one signed by another CA with a trusted CA's
// name (a CA made again), and one whose issuer the server does not send.
func (p *prober) diagnoseUnknownAuthority(peer []*x509.Certificate) (kind, msg, fix string) {
	dir := "the folder"
	if p.t.Dir != "" {
		dir = p.t.Dir
	}
	var trusted []string
	for _, c := range p.t.CAs {
		trusted = append(trusted, nameOf(c.Subject))
	}
	trust := "the system roots only (the folder has no CA file)"
	if len(trusted) > 0 {
		trust = "the system roots and the folder's CA " + prose.AndList(trusted)
	}
	installFix := fmt.Sprintf("install the CA that issued the registry's certificate, from the certkit home that issued it: %s (or copy its ca.crt into %s)", p.t.installCmd([]string{install.CAFileName}), dir)
	top := peer[len(peer)-1]
	for _, c := range p.t.CAs {
		if bytes.Equal(c.RawSubject, top.RawIssuer) {
			return "ca-mismatch",
				fmt.Sprintf("the server certificate is signed by a CA named %s, but the folder's %s is another CA with the same name (another key, SHA-256 %s): was the CA made again?",
					nameOf(top.Issuer), nameOf(c.Subject), short(fingerprint(c))),
				installFix + "; or issue the registry a new server certificate from this folder's CA"
		}
	}
	if bytes.Equal(top.RawIssuer, top.RawSubject) && top.CheckSignatureFrom(top) == nil {
		return "unknown-authority",
			fmt.Sprintf("the server certificate is signed by the CA %s (SHA-256 %s), which this folder does not trust: the trusted roots are %s",
				nameOf(top.Subject), short(fingerprint(top)), trust),
			installFix
	}
	return "missing-intermediate",
		fmt.Sprintf("the server sends %d certificate(s) ending at %s, issued by %s, whose certificate it does not send and which is not trusted (the trusted roots are %s): the server's chain lacks the intermediate CA %s, or %s is a root this folder does not trust",
			len(peer), nameOf(top.Subject), nameOf(top.Issuer), trust, nameOf(top.Issuer), nameOf(top.Issuer)),
		fmt.Sprintf("if %s is an intermediate, configure the registry with the full chain, leaf first (certkit writes it as server-chain.crt); if it is the root, %s", nameOf(top.Issuer), installFix)
}

func fingerprint(c *x509.Certificate) string { return certInfo(c).SHA256 }

// short keeps the first 8 bytes of a fingerprint: enough to tell two CAs
// apart in a message.
func short(fp string) string {
	if len(fp) > 23 {
		return fp[:23] + "…"
	}
	return fp
}

func sanName(name string, ip bool) string {
	if ip {
		return "IP:" + name
	}
	return "DNS:" + name
}

// keepSANs lists the names a server certificate already has as --san
// flags, so that reissuing it for a new name keeps the old ones working.
func keepSANs(c *x509.Certificate, except string) string {
	var b strings.Builder
	for _, d := range c.DNSNames {
		if !strings.EqualFold(d, except) {
			b.WriteString(" --san " + shellquote.Quote(d))
		}
	}
	for _, ip := range c.IPAddresses {
		if ip.String() != except {
			b.WriteString(" --san " + ip.String())
		}
	}
	return b.String()
}

// sniffConn counts and keeps the first bytes the server sends, to tell a
// silent server from a stalled handshake and to read the version an old
// server chose.
type sniffConn struct {
	net.Conn
	n    int64
	head []byte
}

const sniffBytes = 64

func (s *sniffConn) Read(b []byte) (int, error) {
	n, err := s.Conn.Read(b)
	s.n += int64(n)
	if room := sniffBytes - len(s.head); room > 0 && n > 0 {
		s.head = append(s.head, b[:min(n, room)]...)
	}
	return n, err
}

// serverHelloVersion reads the version of a ServerHello at the start of
// what the server sent (a handshake record, message type 2).
func (s *sniffConn) serverHelloVersion() (uint16, bool) {
	h := s.head
	if len(h) < 11 || h[0] != 0x16 || h[5] != 0x02 {
		return 0, false
	}
	return uint16(h[9])<<8 | uint16(h[10]), true
}

// servesOld reports whether the registry serves another server certificate
// than the certkit home's current one, issued before it: the registry (or
// the proxy in front of it) has not read the renewed one yet, since
// distribution reads its TLS files only at start.
func (p *prober) servesOld(leaf *x509.Certificate) bool {
	cur := p.issued
	return cur != nil && !bytes.Equal(cur.Raw, leaf.Raw) && !cur.NotBefore.Before(leaf.NotBefore) &&
		cur.Subject.CommonName == leaf.Subject.CommonName
}

// restartNeeded is the check of a registry that serves an older server
// certificate than the certkit home's.
func (p *prober) restartNeeded(leaf *x509.Certificate) (kind, msg, fix string) {
	cur := p.issued
	msg = fmt.Sprintf("the registry serves a server certificate issued %s, older than the certkit home's (issued %s)", day(leaf.NotBefore), day(cur.NotBefore))
	if otherIssuer(leaf, cur) {
		msg += fmt.Sprintf(", and signed by another CA (%s) than the home's", nameOf(leaf.Issuer))
	}
	msg += ": it reads its certificate only at start"
	return "restart-needed", msg,
		"restart the registry so it serves the new certificate (systemctl restart docker-registry, or restart its container); behind nginx or Apache, reload it (nginx -s reload, apachectl graceful)"
}

// otherIssuer reports whether two certificates were signed by different
// CAs: by their authority key IDs when both have one (a CA made again
// keeps its name), else by the issuer's name.
func otherIssuer(a, b *x509.Certificate) bool {
	if len(a.AuthorityKeyId) > 0 && len(b.AuthorityKeyId) > 0 {
		return !bytes.Equal(a.AuthorityKeyId, b.AuthorityKeyId)
	}
	return !bytes.Equal(a.RawIssuer, b.RawIssuer)
}
