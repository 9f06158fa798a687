package verify

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/certkit/certkit/internal/testenv"
)

// hostileTimeout is the probe timeout for servers that stall: each step
// gets half of it. The tests assert the diagnosis, never the time.
const hostileTimeout = time.Second

// Every hostile or broken server ends in a clear diagnosis within the
// timeout.
func TestProbeHostileServers(t *testing.T) {
	t.Parallel()
	root := newCA(t, "certkit CA hostile")
	srvCert := root.server(t, regName)
	pair := Pair{Name: "client", Cert: root.issue(t, leafOpts{cn: "client"})}

	tests := []struct {
		name  string
		start func(t *testing.T) string
		id    string // the check that carries the diagnosis
		st    Status
		kind  string
		msg   string
	}{
		{"accepts TCP and never speaks", func(t *testing.T) string {
			return startRaw(t, func(c net.Conn) { io.Copy(io.Discard, c) })
		}, "tls", Error, "silent", "sent nothing"},
		{"stalls mid-handshake", func(t *testing.T) string {
			return startRaw(t, func(c net.Conn) {
				if readClientHello(c) != nil {
					return
				}
				// a handshake record that promises 64 bytes and sends 9
				c.Write([]byte{0x16, 0x03, 0x03, 0x00, 0x40, 0x02, 0x00, 0x00, 0x3c, 0x03, 0x03, 1, 2, 3})
				io.Copy(io.Discard, c)
			})
		}, "tls", Error, "handshake-stalled", "stalled after 14 bytes"},
		{"plain HTTP on the TLS port", func(t *testing.T) string {
			return startPlain(t, registryAnswer)
		}, "tls", Error, "plain-http", "answers plain HTTP"},
		{"TLS 1.0 only", func(t *testing.T) string {
			cfg := serverConfig(srvCert)
			cfg.MinVersion, cfg.MaxVersion = tls.VersionTLS10, tls.VersionTLS10
			return startTLS(t, cfg, registryAnswer)
		}, "tls", Error, "tls-version", "protocol version"},
		{"an old server choosing TLS 1.0", func(t *testing.T) string {
			return startRaw(t, func(c net.Conn) {
				if readClientHello(c) != nil {
					return
				}
				c.Write(serverHello(0x0301))
				io.Copy(io.Discard, c)
			})
		}, "tls", Error, "tls-version", "the server chose TLS 1.0"},
		{"closes during the handshake", func(t *testing.T) string {
			return startRaw(t, func(c net.Conn) { readClientHello(c) })
		}, "tls", Error, "closed", "closed the connection during the TLS handshake, after 0 bytes"},
		{"endless body", func(t *testing.T) string {
			return startTLS(t, serverConfig(srvCert), func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
				chunk := []byte(strings.Repeat("{}", 4096))
				for {
					if _, err := w.Write(chunk); err != nil {
						return
					}
				}
			})
		}, "http-body", Warning, "body-too-large", "larger than 64 KiB"},
		{"endless headers", func(t *testing.T) string {
			return startRaw(t, func(c net.Conn) {
				tc := tls.Server(c, serverConfig(srvCert))
				if _, err := readRequest(tc); err != nil {
					return
				}
				io.WriteString(tc, "HTTP/1.1 200 OK\r\n")
				for i := 0; ; i++ {
					if _, err := fmt.Fprintf(tc, "X-Pad-%d: %s\r\n", i, strings.Repeat("a", 200)); err != nil {
						return
					}
				}
			})
		}, "pair:client", Error, "headers-too-large", "exceed 64 KiB"},
		{"no answer after the handshake", func(t *testing.T) string {
			return startRaw(t, func(c net.Conn) {
				tc := tls.Server(c, serverConfig(srvCert))
				if _, err := readRequest(tc); err != nil {
					return
				}
				io.Copy(io.Discard, tc)
			})
		}, "pair:client", Error, "http-timeout", "no answer to GET /v2/"},
		{"not HTTP after the handshake", func(t *testing.T) string {
			return startRaw(t, func(c net.Conn) {
				tc := tls.Server(c, serverConfig(srvCert))
				if _, err := readRequest(tc); err != nil {
					return
				}
				io.WriteString(tc, "SSH-2.0-OpenSSH_9.6\r\n")
			})
		}, "pair:client", Error, "bad-http", "not valid HTTP"},
		{"a web server, not a registry", func(t *testing.T) string {
			return startTLS(t, serverConfig(srvCert), func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) })
		}, "no-client-cert", Error, "rejected-http", "404 Not Found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			addr := tt.start(t)
			rep := probe(t, target(t, addr, regName, []*x509.Certificate{root.cert}, pair), hostileTimeout)
			c := expect(t, rep, tt.id, tt.st, tt.kind)
			contains(t, "message", c.Message, tt.msg)
			if c.Fix == "" && c.Status != OK {
				t.Errorf("no fix for %s", c.Message)
			}
		})
	}
}

// serverHello is a TLS ServerHello record with the given version and no
// extensions, as a server from before TLS 1.3 sends it.
func serverHello(version uint16) []byte {
	body := []byte{byte(version >> 8), byte(version)}
	body = append(body, make([]byte, 32)...) // random
	body = append(body, 0)                   // session id
	body = append(body, 0x00, 0x2f)          // TLS_RSA_WITH_AES_128_CBC_SHA
	body = append(body, 0)                   // no compression
	msg := append([]byte{0x02, 0, 0, byte(len(body))}, body...)
	return append([]byte{0x16, 0x03, 0x01, 0, byte(len(msg))}, msg...)
}

// Connect and resolve failures say which.
func TestProbeConnectFailures(t *testing.T) {
	t.Parallel()
	// a port nobody listens on: one that was free a moment ago
	port := strconv.Itoa(testenv.FreePort(t))
	closed := "127.0.0.1:" + port
	// --addr's port, not the registry's, is the one nobody listens on
	tg := target(t, "127.0.0.1:5000", regName, nil)
	tg.Addr = closed
	rep := probe(t, tg, 10*time.Second)
	c := expect(t, rep, "connect", Error, "refused")
	contains(t, "message", c.Message, closed+" refused the connection: nothing listens on port "+port+" there")
	expectNo(t, rep, "tls")

	for _, tt := range []struct {
		name string
		err  error
		kind string
		msg  string
	}{
		{"no such host", &net.DNSError{Err: "no such host", Name: "nowhere.test", IsNotFound: true}, "dns-not-found", "nowhere.test does not resolve"},
		{"DNS timeout", &net.DNSError{Err: "i/o timeout", Name: "nowhere.test", IsTimeout: true}, "dns-timeout", "no DNS answer for nowhere.test"},
		{"DNS server failure", &net.DNSError{Err: "server misbehaving", Name: "nowhere.test"}, "dns", "cannot resolve nowhere.test"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tg := target(t, closed, "nowhere.test", nil)
			tg.Addr = ""
			rep := Probe(context.Background(), tg, LiveOptions{Roots: x509.NewCertPool(),
				Lookup: func(context.Context, string) ([]netip.Addr, error) { return nil, tt.err }})
			c := expect(t, rep, "resolve", Error, tt.kind)
			contains(t, "message", c.Message, tt.msg)
			contains(t, "fix", c.Fix, "--addr IP:"+port)
			expectNo(t, rep, "connect")
		})
	}

	// a black hole: the lookup takes longer than the step may
	t.Run("lookup past its deadline", func(t *testing.T) {
		tg := target(t, closed, "slow.test", nil)
		tg.Addr = ""
		rep := Probe(context.Background(), tg, LiveOptions{Timeout: hostileTimeout, Roots: x509.NewCertPool(),
			Lookup: func(ctx context.Context, _ string) ([]netip.Addr, error) {
				<-ctx.Done()
				return nil, ctx.Err()
			}})
		expect(t, rep, "resolve", Error, "dns-timeout")
	})
}

// The name resolves; the probe connects to what it resolved to.
func TestProbeResolves(t *testing.T) {
	t.Parallel()
	root := newCA(t, "certkit CA resolve")
	addr := startTLS(t, serverConfig(root.server(t, regName), root), registryAnswer)
	pair := Pair{Name: "client", Cert: root.issue(t, leafOpts{cn: "client"})}
	tg := target(t, addr, regName, []*x509.Certificate{root.cert}, pair)
	tg.Addr = ""
	var asked string
	rep := Probe(context.Background(), tg, LiveOptions{Roots: x509.NewCertPool(),
		Lookup: func(_ context.Context, h string) ([]netip.Addr, error) {
			asked = h
			return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil
		}})
	if asked != regName {
		t.Fatalf("looked up %q", asked)
	}
	expect(t, rep, "resolve", OK, "")
	expect(t, rep, "pair:client", OK, "")
	if rep.Addr != addr {
		t.Fatalf("connected to %q, want %q", rep.Addr, addr)
	}
	// registry.test resolves to a loopback address: Docker treats it as
	// insecure and sends no certificate.
	c := expect(t, rep, "loopback", Warning, "loopback")
	contains(t, "message", c.Message, "registry.test resolves to 127.0.0.1", "sends it no client certificate")
	expectDockerSendsNone(t, rep)
	if rep.Failed() {
		t.Fatalf("failed:\n%s", dump(rep))
	}
}

// expectDockerSendsNone checks the wording for a loopback registry:
// Docker's classic path sends no client certificate there (certsd.md §4),
// podman and containerd send the pair.
func expectDockerSendsNone(t *testing.T, rep *Report) {
	t.Helper()
	c := expect(t, rep, "client-cert-request", OK, "")
	contains(t, "request message", c.Message, "podman sends client.cert, Docker none (loopback)")
	c = expect(t, rep, "pair:client", OK, "")
	contains(t, "pair message", c.Message, "client.cert (the pair podman and containerd send; Docker sends none to a loopback registry): accepted")
	for _, c := range rep.Checks {
		if strings.Contains(c.Message, "Docker sends client.cert") || strings.Contains(c.Message, "the pair Docker sends") {
			t.Errorf("%s says Docker sends a pair to a loopback registry: %s", c.ID, c.Message)
		}
	}
}

// localhost and loopback addresses get the warning from certsd.md §4,
// even when everything else passes.
func TestProbeLoopbackNames(t *testing.T) {
	t.Parallel()
	root := newCA(t, "certkit CA loopback")
	for _, name := range []string{"localhost", "127.0.0.1", "[::1]"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			h := strings.Trim(name, "[]")
			cfg := serverConfig(root.server(t, h), root)
			network := "127.0.0.1:0"
			if name == "[::1]" {
				network = "[::1]:0"
			}
			ln, err := net.Listen("tcp", network)
			if err != nil {
				t.Skipf("no %s here: %v", network, err)
			}
			srv := &http.Server{Handler: http.HandlerFunc(registryAnswer), ErrorLog: log.New(io.Discard, "", 0)}
			go srv.Serve(tls.NewListener(ln, cfg))
			t.Cleanup(func() { srv.Close() })
			addr := ln.Addr().String()
			pair := Pair{Name: "client", Cert: root.issue(t, leafOpts{cn: "client"})}
			rep := probe(t, target(t, addr, name, []*x509.Certificate{root.cert}, pair), 10*time.Second)
			if rep.Failed() {
				t.Fatalf("failed:\n%s", dump(rep))
			}
			c := expect(t, rep, "loopback", Warning, "loopback")
			contains(t, "message", c.Message, "is a loopback registry", "sends it no client certificate",
				"so docker login and pull are refused here")
			expectDockerSendsNone(t, rep)
		})
	}
}

// A cancelled context ends the probe at once, with every remaining step
// reported as out of time.
func TestProbeCancelled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	tg := target(t, "127.0.0.1:1", regName, nil)
	rep := Probe(ctx, tg, LiveOptions{Roots: x509.NewCertPool()})
	expect(t, rep, "connect", Error, "out-of-time")
}

// A server that rejects a pair in the TLS 1.2 handshake, naming why, and
// the alert code is read as a typed value.
func TestProbeTLS12Rejections(t *testing.T) {
	t.Parallel()
	root := newCA(t, "certkit CA twelve")
	stranger := newCA(t, "certkit CA not trusted")
	cfg := serverConfig(root.server(t, regName), root)
	cfg.MaxVersion = tls.VersionTLS12
	addr := startTLS(t, cfg, registryAnswer)
	expired := Pair{Name: "a-expired", Cert: root.issue(t, leafOpts{cn: "a", notBefore: time.Now().Add(-48 * time.Hour), notAfter: time.Now().Add(-24 * time.Hour)})}
	serverOnly := Pair{Name: "b-server-eku", Cert: root.issue(t, leafOpts{cn: "b", server: true})}
	foreign := Pair{Name: "c-foreign", Cert: stranger.issue(t, leafOpts{cn: "c"})}
	rep := probe(t, target(t, addr, regName, []*x509.Certificate{root.cert}, expired, serverOnly, foreign), 10*time.Second)
	c := expect(t, rep, "pair:a-expired", Error, "rejected-tls")
	contains(t, "message", c.Message, "the pair Docker sends", "expired certificate")
	c = expect(t, rep, "pair:b-server-eku", Warning, "rejected-tls")
	contains(t, "message", c.Message, "bad certificate")
	contains(t, "fix", c.Fix, "clientAuth")
	c = expect(t, rep, "pair:c-foreign", Warning, "rejected-tls")
	contains(t, "message", c.Message, "unknown certificate authority")
	if len(rep.Accepted) != 0 {
		t.Fatalf("accepted %v", rep.Accepted)
	}
}

func TestRemoteAlert(t *testing.T) {
	tests := []struct {
		err  error
		code uint8
		ok   bool
	}{
		{tls.AlertError(116), 116, true},
		{fmt.Errorf("wrapped: %w", tls.AlertError(48)), 48, true},
		{&net.OpError{Op: "read", Err: errors.New("x")}, 0, false},
		{&net.OpError{Op: "remote error", Err: errors.New("not an alert")}, 0, false},
		{io.EOF, 0, false},
	}
	for _, tt := range tests {
		code, ok := remoteAlert(tt.err)
		if code != tt.code || ok != tt.ok {
			t.Errorf("remoteAlert(%v) = %d, %v; want %d, %v", tt.err, code, ok, tt.code, tt.ok)
		}
	}
	if got := alertName(116); got != "certificate required" {
		t.Errorf("alertName(116) = %q", got)
	}
}
