package verify

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

const regName = "registry.test"

// A registry that requires certkit client certificates, over TLS 1.3 and
// TLS 1.2: with 1.3 a rejection shows only on the first read, with 1.2 in
// the handshake; both must read the same.
func TestProbeGoodRegistry(t *testing.T) {
	t.Parallel()
	root := newCA(t, "certkit CA good")
	srv := root.server(t, regName)
	pair := Pair{Name: "client", Cert: root.issue(t, leafOpts{cn: "client"})}
	for _, v := range []uint16{tls.VersionTLS13, tls.VersionTLS12} {
		t.Run(tls.VersionName(v), func(t *testing.T) {
			t.Parallel()
			cfg := serverConfig(srv, root)
			cfg.MaxVersion = v
			addr := startTLS(t, cfg, registryAnswer)
			rep := probe(t, target(t, addr, regName, []*x509.Certificate{root.cert}, pair), 10*time.Second)
			if rep.Failed() {
				t.Fatalf("failed:\n%s", dump(rep))
			}
			expect(t, rep, "connect", OK, "")
			c := expect(t, rep, "tls", OK, "")
			contains(t, "tls message", c.Message, tls.VersionName(v), `trusted through the folder's CA "certkit CA good"`)
			c = expect(t, rep, "client-cert-request", OK, "")
			contains(t, "request message", c.Message, `issued by "certkit CA good"`, "Docker sends client.cert")
			expect(t, rep, "pair:client", OK, "")
			c = expect(t, rep, "no-client-cert", OK, "")
			want := "certificate required"
			if v == tls.VersionTLS12 {
				want = "handshake failure"
			}
			contains(t, "no-cert message", c.Message, "refuses the connection", want)
			expect(t, rep, "api-version", OK, "")
			expectNo(t, rep, "loopback")
			expectNo(t, rep, "resolve")
			if rep.WillSend != "client" || len(rep.Accepted) != 1 || rep.Accepted[0] != "client" {
				t.Fatalf("will send %q, accepted %v", rep.WillSend, rep.Accepted)
			}
			if rep.Server == nil || !rep.Server.RequestsClientCert || len(rep.Server.AcceptableCAs) != 1 || len(rep.Server.Chain) != 1 {
				t.Fatalf("server info: %+v", rep.Server)
			}
		})
	}
}

// A registry that asks for no client certificate works, but anyone may
// use it: that is what certkit exists to prevent, so it fails, in one
// line, unless the user says it is meant to (AllowOpen).
func TestProbeNoClientAuth(t *testing.T) {
	t.Parallel()
	root := newCA(t, "certkit CA open")
	addr := startTLS(t, serverConfig(root.server(t, regName)), registryAnswer)
	pair := Pair{Name: "client", Cert: root.issue(t, leafOpts{cn: "client"})}
	tg := target(t, addr, regName, []*x509.Certificate{root.cert}, pair)
	rep := probe(t, tg, 10*time.Second)
	if !rep.Failed() || rep.Errors != 1 {
		t.Fatalf("want one error:\n%s", dump(rep))
	}
	c := expect(t, rep, "client-cert-request", Error, "not-requested")
	contains(t, "message", c.Message, "does not ask for a client certificate", "200 OK", "anyone who can reach it")
	// the registry's own answer (no Server header): the registry's setting
	contains(t, "fix", c.Fix, "http.tls.clientcas", "--allow-open")
	expectNo(t, rep, "no-client-cert")
	c = expect(t, rep, "pair:client", OK, "")
	contains(t, "message", c.Message, "client.cert: not asked for; GET /v2/ answered 200 OK without it")
	if rep.WillSend != "" {
		t.Fatalf("will send %q to a server that asks for nothing", rep.WillSend)
	}

	rep = Probe(context.Background(), tg, LiveOptions{Timeout: 10 * time.Second, Roots: x509.NewCertPool(), AllowOpen: true})
	if rep.Failed() || rep.Warnings != 0 {
		t.Fatalf("--allow-open: want a pass without warnings:\n%s", dump(rep))
	}
	c = expect(t, rep, "client-cert-request", OK, "not-requested")
	contains(t, "message", c.Message, "allowed by --allow-open")
}

// A front that asks for a certificate but lets a client without one
// through (nginx's ssl_verify_client optional) fails with nginx's
// directive in the fix; one whose registry behind is down answers 502,
// which says so, not "rejected".
func TestProbeOptionalClientAuthBehindNginx(t *testing.T) {
	t.Parallel()
	root := newCA(t, "certkit CA optional")
	cfg := serverConfig(root.server(t, regName))
	cfg.ClientAuth = tls.VerifyClientCertIfGiven
	cfg.ClientCAs = root.pool()
	var down atomic.Bool
	addr := startTLS(t, cfg, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Server", "nginx/1.22.1")
		if down.Load() {
			w.WriteHeader(http.StatusBadGateway)
			io.WriteString(w, "<html><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx/1.22.1</center></body></html>")
			return
		}
		registryAnswer(w, r)
	})
	pair := Pair{Name: "client", Cert: root.issue(t, leafOpts{cn: "client"})}
	tg := target(t, addr, regName, []*x509.Certificate{root.cert}, pair)
	rep := probe(t, tg, 10*time.Second)
	if !rep.Failed() {
		t.Fatalf("passed:\n%s", dump(rep))
	}
	c := expect(t, rep, "no-client-cert", Error, "not-enforced")
	contains(t, "fix", c.Fix, "nginx", "ssl_verify_client on;")
	if strings.Contains(c.Fix, "clientcas") {
		t.Errorf("fix names the registry's setting behind nginx: %s", c.Fix)
	}
	expect(t, rep, "pair:client", OK, "")

	down.Store(true)
	rep = probe(t, tg, 10*time.Second)
	c = expect(t, rep, "pair:client", Error, "upstream-down")
	contains(t, "message", c.Message, "nginx answered 502 Bad Gateway", "the registry behind it is down")
	if strings.Contains(c.Message, "rejected") {
		t.Errorf("a 502 reads as a rejection: %s", c.Message)
	}
	contains(t, "fix", c.Fix, "proxy_pass")
	// nginx passed the request without a certificate on: not enforced
	expect(t, rep, "no-client-cert", Error, "not-enforced")
}

// The old recipe's Apache CGI answers 403 to one certificate and 200 to
// another. Both share the CA, so the server's list does not tell them
// apart and Docker sends the first in filename order: the rejected one.
func TestProbeOnePairForbidden(t *testing.T) {
	t.Parallel()
	root := newCA(t, "certkit CA cgi")
	handler := func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 || r.TLS.PeerCertificates[0].Subject.CommonName != "ci-runner" {
			http.Error(w, "<h1>Forbidden</h1>", http.StatusForbidden)
			return
		}
		registryAnswer(w, r)
	}
	cfg := serverConfig(root.server(t, regName))
	cfg.ClientAuth = tls.VerifyClientCertIfGiven
	cfg.ClientCAs = root.pool()
	addr := startTLS(t, cfg, handler)
	a := Pair{Name: "alice", Cert: root.issue(t, leafOpts{cn: "alice"})}
	b := Pair{Name: "ci-runner", Cert: root.issue(t, leafOpts{cn: "ci-runner"})}
	rep := probe(t, target(t, addr, regName, []*x509.Certificate{root.cert}, a, b), 10*time.Second)
	if !rep.Failed() {
		t.Fatalf("passed:\n%s", dump(rep))
	}
	c := expect(t, rep, "pair:alice", Error, "rejected-http")
	contains(t, "message", c.Message, "the pair Docker sends", "403 Forbidden", "Forbidden")
	contains(t, "fix", c.Fix, "the registry accepts ci-runner.cert: remove alice.cert and alice.key", "CN=alice")
	c = expect(t, rep, "pair:ci-runner", OK, "")
	contains(t, "message", c.Message, "accepted")
	if rep.WillSend != "alice" || len(rep.Accepted) != 1 || rep.Accepted[0] != "ci-runner" {
		t.Fatalf("will send %q, accepted %v", rep.WillSend, rep.Accepted)
	}
	if len(rep.Pairs) != 2 || !rep.Pairs[0].Sent || rep.Pairs[0].HTTPStatus != 403 || rep.Pairs[1].Sent || !rep.Pairs[1].Accepted {
		t.Fatalf("pairs: %+v", rep.Pairs)
	}
	// no certificate at all: 403 too, which is enforcement
	expect(t, rep, "no-client-cert", OK, "")
}

// The server's acceptable-CA list excludes the first pair: Docker skips it
// and sends the second, which works; the first one is rejected when forced,
// but since Docker never sends it that is only a warning.
func TestProbeAcceptableCAsSkipFirstPair(t *testing.T) {
	t.Parallel()
	old := newCA(t, "certkit CA old")
	cur := newCA(t, "certkit CA current")
	addr := startTLS(t, serverConfig(cur.server(t, regName), cur), registryAnswer)
	a := Pair{Name: "a-old", Cert: old.issue(t, leafOpts{cn: "a"})}
	b := Pair{Name: "b-current", Cert: cur.issue(t, leafOpts{cn: "b"})}
	rep := probe(t, target(t, addr, regName, []*x509.Certificate{cur.cert}, a, b), 10*time.Second)
	if rep.Failed() {
		t.Fatalf("failed:\n%s", dump(rep))
	}
	c := expect(t, rep, "client-cert-request", OK, "")
	contains(t, "message", c.Message, `issued by "certkit CA current"`, "Docker sends b-current.cert", `skips a-old.cert (issued by "certkit CA old")`)
	c = expect(t, rep, "pair:a-old", Warning, "rejected-tls")
	contains(t, "message", c.Message, "unknown certificate authority")
	contains(t, "fix", c.Fix, `"certkit CA old"`, "clientcas")
	expect(t, rep, "pair:b-current", OK, "")
	if rep.WillSend != "b-current" || rep.Pairs[0].Alert != "unknown certificate authority" {
		t.Fatalf("will send %q, pairs %+v", rep.WillSend, rep.Pairs)
	}
}

// When no pair fits the server's list, Docker sends nothing.
func TestProbeNoAcceptablePair(t *testing.T) {
	t.Parallel()
	old := newCA(t, "certkit CA gone")
	cur := newCA(t, "certkit CA now")
	addr := startTLS(t, serverConfig(cur.server(t, regName), cur), registryAnswer)
	a := Pair{Name: "client", Cert: old.issue(t, leafOpts{cn: "client"})}
	rep := probe(t, target(t, addr, regName, []*x509.Certificate{cur.cert}, a), 10*time.Second)
	c := expect(t, rep, "client-cert-request", Error, "no-acceptable-pair")
	contains(t, "message", c.Message, "Docker sends no certificate", `client.cert (issued by "certkit CA gone")`)
	expect(t, rep, "pair:client", Warning, "rejected-tls")

	rep = probe(t, target(t, addr, regName, []*x509.Certificate{cur.cert}), 10*time.Second)
	expect(t, rep, "client-cert-request", Error, "no-pairs")
}

// Each failure of the server's certificate, classified from the typed
// x509 errors.
func TestProbeServerCertificate(t *testing.T) {
	t.Parallel()
	root := newCA(t, "certkit CA trusted")
	other := newCA(t, "certkit CA stranger")
	twin := newCA(t, "certkit CA trusted") // same name, another key
	chainRoot := rawRoot(t, "Chain Root")
	inter := chainRoot.intermediate(t, "Chain Intermediate")
	past := time.Now().Add(-48 * time.Hour)

	type tc struct {
		name    string
		cert    tls.Certificate
		cas     []*x509.Certificate
		now     func() time.Time
		status  Status
		kind    string
		message []string
		fix     []string
	}
	tests := []tc{
		{name: "unknown CA", cert: withChain(other.server(t, regName), other.cert), cas: []*x509.Certificate{root.cert},
			status: Error, kind: "unknown-authority",
			message: []string{`signed by the CA "certkit CA stranger"`, `the folder's CA "certkit CA trusted"`},
			fix:     []string{"certkit install --host " + regName}},
		{name: "same name, other key", cert: twin.server(t, regName), cas: []*x509.Certificate{root.cert},
			status: Error, kind: "ca-mismatch", message: []string{"another CA with the same name"}},
		{name: "missing intermediate", cert: inter.server(t, regName), cas: []*x509.Certificate{chainRoot.cert},
			status: Error, kind: "missing-intermediate",
			message: []string{`issued by "Chain Intermediate"`, "lacks the intermediate"}, fix: []string{"server-chain.crt"}},
		{name: "intermediate sent", cert: withChain(inter.server(t, regName), inter.cert), cas: []*x509.Certificate{chainRoot.cert},
			status: OK, message: []string{`trusted through the folder's CA "Chain Root"`}},
		{name: "name not in SANs", cert: root.server(t, "other.test", "10.1.2.3"), cas: []*x509.Certificate{root.cert},
			status: Error, kind: "hostname",
			message: []string{"valid for DNS:other.test, IP:10.1.2.3, not for registry.test", "lacks the SAN DNS:registry.test"},
			fix:     []string{"certkit issue server --host registry.test:", "--san other.test --san 10.1.2.3"}},
		{name: "CN only", cert: root.issue(t, leafOpts{cn: regName, server: true}), cas: []*x509.Certificate{root.cert},
			status: Error, kind: "legacy-cn", message: []string{"legacy Common Name"}},
		{name: "expired", cert: root.issue(t, leafOpts{cn: regName, dns: []string{regName}, server: true, notBefore: past.Add(-time.Hour), notAfter: past}),
			cas: []*x509.Certificate{root.cert}, status: Error, kind: "expired",
			message: []string{"the server certificate expired on " + day(past)}, fix: []string{"certkit issue server"}},
		{name: "not yet valid", cert: root.server(t, regName), cas: []*x509.Certificate{root.cert},
			now: func() time.Time { return past }, status: Error, kind: "not-yet-valid", message: []string{"clock"}},
		{name: "expiring soon", cert: root.issue(t, leafOpts{cn: regName, dns: []string{regName}, server: true, notAfter: time.Now().Add(10 * 24 * time.Hour)}),
			cas: []*x509.Certificate{root.cert}, status: Warning, kind: "expiring", message: []string{"expires in 9 days"}},
		{name: "client certificate as server certificate", cert: root.issue(t, leafOpts{cn: regName, dns: []string{regName}}),
			cas: []*x509.Certificate{root.cert}, status: Error, kind: "not-server-cert", message: []string{"serverAuth"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			addr := startTLS(t, serverConfig(tt.cert), registryAnswer)
			tg := target(t, addr, regName, tt.cas)
			// The fixes name the certs root the folder is in, so that they
			// can be pasted as they are.
			tg.CertsDir = "/srv/certs.d"
			if tt.kind == "unknown-authority" || tt.kind == "ca-mismatch" {
				tt.fix = append(tt.fix, "certkit install --host "+tg.Registry.String()+" --certs-dir /srv/certs.d")
			}
			rep := Probe(context.Background(), tg, LiveOptions{Timeout: 10 * time.Second, Roots: x509.NewCertPool(), Now: tt.now})
			c := expect(t, rep, "tls", tt.status, tt.kind)
			contains(t, "message", c.Message, tt.message...)
			contains(t, "fix", c.Fix, tt.fix...)
			if rep.Server == nil || len(rep.Server.Chain) != len(tt.cert.Certificate) {
				t.Fatalf("server chain not reported: %+v", rep.Server)
			}
			if tt.status == Error {
				// nothing is shown to a server that was not verified
				expectNo(t, rep, "client-cert-request")
				expectNo(t, rep, "no-client-cert")
			}
		})
	}
}

// withChain appends CA certificates after the leaf, as a chain file does.
func withChain(c tls.Certificate, certs ...*x509.Certificate) tls.Certificate {
	for _, x := range certs {
		c.Certificate = append(c.Certificate, x.Raw)
	}
	return c
}
