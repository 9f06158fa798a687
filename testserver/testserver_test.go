package testserver

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	cflog "github.com/cloudflare/cfssl/log"

	"github.com/certkit/certkit/ca"
	"github.com/certkit/certkit/host"
	"github.com/certkit/certkit/internal/errs"
	"github.com/certkit/certkit/internal/home"
	"github.com/certkit/certkit/issue"
	"github.com/certkit/certkit/templates"
)

func TestMain(m *testing.M) {
	cflog.Level = cflog.LevelFatal + 1
	os.Exit(m.Run())
}

// pki is a CA made by package ca in a certkit home, and what it signs.
type pki struct {
	home string
	ca   *ca.CA
}

func newPKI(t *testing.T) *pki {
	t.Helper()
	h := t.TempDir()
	res, err := ca.Create(ca.Options{Home: h, KeyType: ca.ECDSAP256, Machine: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return &pki{home: h, ca: res.CA}
}

// leaf signs a certificate with p's CA, valid from notBefore to notAfter.
func (p *pki) leaf(t *testing.T, cn string, eku x509.ExtKeyUsage, notBefore, notAfter time.Time) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: cn, Organization: []string{"certkit test"}},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{eku},
		BasicConstraintsValid: true,
	}
	if eku == x509.ExtKeyUsageServerAuth {
		tmpl.DNSNames = []string{"localhost"}
		tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.ca.Cert, key.Public(), p.ca.Key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der, p.ca.Cert.Raw}, PrivateKey: key, Leaf: leaf}
}

func (p *pki) client(t *testing.T, cn string) tls.Certificate {
	return p.leaf(t, cn, x509.ExtKeyUsageClientAuth, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
}

// issueServer issues the server certificate for reg into the home, as
// `certkit issue server` does, and returns its leaf.
func (p *pki) issueServer(t *testing.T, reg host.Registry) *x509.Certificate {
	t.Helper()
	res, err := issue.Issue(issue.Options{Home: p.home, Registry: reg, Kind: issue.Server, CA: p.ca})
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(res.Certs[0].CertPath)
	if err != nil {
		t.Fatal(err)
	}
	certs, err := ca.ParseCerts(data)
	if err != nil {
		t.Fatal(err)
	}
	return certs[0]
}

// running is a test server on 127.0.0.1:0.
type running struct {
	addr   string
	roots  *x509.CertPool
	cancel context.CancelFunc
	done   chan error

	mu      sync.Mutex
	entries []Entry
	errors  []string
	errc    chan string // every ErrorLog message, for tests that wait for one
}

func start(t *testing.T, opt Options) *running {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{addr: ln.Addr().String(), roots: x509.NewCertPool(), cancel: cancel, done: make(chan error, 1)}
	for _, c := range opt.ClientCAs {
		r.roots.AddCert(c)
	}
	opt.Log = func(e Entry) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.entries = append(r.entries, e)
	}
	r.errc = make(chan string, 64)
	opt.ErrorLog = func(msg string) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.errors = append(r.errors, msg)
		select {
		case r.errc <- msg:
		default:
		}
	}
	go func() { r.done <- Serve(ctx, ln, opt) }()
	t.Cleanup(func() {
		cancel()
		if err := <-r.done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return r
}

func (r *running) lastEntry(t *testing.T) Entry {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.entries) == 0 {
		t.Fatal("no request was logged")
	}
	return r.entries[len(r.entries)-1]
}

// get sends one request with a fresh connection configured by tc.
func (r *running) do(t *testing.T, method, path string, tc *tls.Config) (*http.Response, string) {
	t.Helper()
	if tc.RootCAs == nil {
		tc.RootCAs = r.roots
	}
	client := &http.Client{
		Timeout:   10 * time.Second,
		Transport: &http.Transport{TLSClientConfig: tc, DisableKeepAlives: true},
	}
	req, err := http.NewRequest(method, "https://"+r.addr+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(body)
}

// sendAlways makes a client send c whatever CAs the server announces (Go
// clients otherwise send only a certificate from an announced CA).
func sendAlways(c tls.Certificate) *tls.Config {
	return &tls.Config{GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &c, nil }}
}

func TestServe(t *testing.T) {
	p := newPKI(t)
	other := newPKI(t)
	server := p.leaf(t, "localhost", x509.ExtKeyUsageServerAuth, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	srv := start(t, Options{Certificate: server, ClientCAs: []*x509.Certificate{p.ca.Cert}})

	good := p.client(t, "alice")
	stranger := other.client(t, "mallory")
	serverOnly := p.leaf(t, "misused", x509.ExtKeyUsageServerAuth, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	expired := p.leaf(t, "old", x509.ExtKeyUsageClientAuth, time.Now().Add(-48*time.Hour), time.Now().Add(-24*time.Hour))

	tests := []struct {
		name    string
		tc      *tls.Config
		status  int
		subject string // "" when no certificate reaches the server
		reason  string // a part of the 403 message
	}{
		{"valid client certificate", &tls.Config{Certificates: []tls.Certificate{good}}, 200, "alice", ""},
		{"no client certificate", &tls.Config{}, 403, "", "no client certificate was sent"},
		// A Go client sends only a certificate whose issuer the server
		// announced: with only a stranger's certificate, it sends none.
		{"certificate of another CA, Go client", &tls.Config{Certificates: []tls.Certificate{stranger}}, 403, "", "no client certificate was sent"},
		// ... and with both, it picks the one the server asked for.
		{"picks the announced CA's certificate", &tls.Config{Certificates: []tls.Certificate{stranger, good}}, 200, "alice", ""},
		{"certificate of another CA, sent anyway", sendAlways(stranger), 403, "mallory", "is not signed by the certkit CA"},
		{"server certificate as client", sendAlways(serverOnly), 403, "misused", "lacks clientAuth"},
		{"expired client certificate", sendAlways(expired), 403, "old", "expired on"},
		{"TLS 1.2 client", &tls.Config{Certificates: []tls.Certificate{good}, MaxVersion: tls.VersionTLS12}, 200, "alice", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := srv.do(t, "GET", "/v2/", tc.tc)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d; body %s", resp.StatusCode, tc.status, body)
			}
			if got := resp.Header.Get(APIVersionHeader); got != APIVersion {
				t.Errorf("%s = %q", APIVersionHeader, got)
			}
			if tc.status == 200 && body != "{}" {
				t.Errorf("body %q, want {}", body)
			}
			if tc.status == 403 && !strings.Contains(body, tc.reason) {
				t.Errorf("body %q does not say %q", body, tc.reason)
			}
			e := srv.lastEntry(t)
			if e.Method != "GET" || e.Path != "/v2/" || e.Status != tc.status {
				t.Errorf("logged %+v", e)
			}
			if tc.subject == "" && e.Subject != "" || !strings.Contains(e.Subject, tc.subject) {
				t.Errorf("logged subject %q, want %q", e.Subject, tc.subject)
			}
			if (e.Reason == "") != (tc.reason == "") || !strings.Contains(e.Reason, tc.reason) {
				t.Errorf("logged reason %q, want %q", e.Reason, tc.reason)
			}
		})
	}

	t.Run("other paths and methods", func(t *testing.T) {
		tc := func() *tls.Config { return &tls.Config{Certificates: []tls.Certificate{good}} }
		if resp, _ := srv.do(t, "GET", "/v2/library/busybox/manifests/latest", tc()); resp.StatusCode != 404 {
			t.Errorf("manifest: %d, want 404", resp.StatusCode)
		}
		resp, _ := srv.do(t, "POST", "/v2/", tc())
		if resp.StatusCode != 405 || resp.Header.Get("Allow") != "GET, HEAD" {
			t.Errorf("POST: %d Allow %q", resp.StatusCode, resp.Header.Get("Allow"))
		}
		if resp, body := srv.do(t, "HEAD", "/v2/", tc()); resp.StatusCode != 200 || body != "" {
			t.Errorf("HEAD: %d %q", resp.StatusCode, body)
		}
		// Refusal comes first: without a certificate nothing is revealed.
		if resp, _ := srv.do(t, "GET", "/v2/library/busybox/manifests/latest", &tls.Config{}); resp.StatusCode != 403 {
			t.Errorf("manifest without certificate: %d, want 403", resp.StatusCode)
		}
	})

	t.Run("TLS 1.1 is refused", func(t *testing.T) {
		conn, err := tls.Dial("tcp", srv.addr, &tls.Config{RootCAs: srv.roots, MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11})
		if err == nil {
			conn.Close()
			t.Fatal("TLS 1.1 handshake succeeded")
		}
		// The server logs the failure after the client has seen it: wait
		// for the message rather than look once.
		timeout := time.After(10 * time.Second)
		for {
			select {
			case msg := <-srv.errc:
				if strings.Contains(msg, "TLS handshake error") {
					return
				}
			case <-timeout:
				srv.mu.Lock()
				defer srv.mu.Unlock()
				t.Fatalf("handshake failure not reported to ErrorLog: %q", srv.errors)
			}
		}
	})

	t.Run("announces the certkit CA", func(t *testing.T) {
		var names [][]byte
		tc := &tls.Config{RootCAs: srv.roots, GetClientCertificate: func(cri *tls.CertificateRequestInfo) (*tls.Certificate, error) {
			names = cri.AcceptableCAs
			return &good, nil
		}}
		srv.do(t, "GET", "/v2/", tc)
		if len(names) != 1 || string(names[0]) != string(p.ca.Cert.RawSubject) {
			t.Errorf("acceptable CAs %q, want the certkit CA's subject", names)
		}
	})
}

// TestServeStops: cancelling the context stops the server and closes the
// listener; Serve returns nil.
func TestServeStops(t *testing.T) {
	p := newPKI(t)
	server := p.leaf(t, "localhost", x509.ExtKeyUsageServerAuth, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Serve(ctx, ln, Options{Certificate: server, ClientCAs: []*x509.Certificate{p.ca.Cert}})
	}()

	// It serves...
	roots := x509.NewCertPool()
	roots.AddCert(p.ca.Cert)
	conn, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{RootCAs: roots, ServerName: "localhost"})
	if err != nil {
		t.Fatal(err)
	}
	conn.Close()

	// ... until cancelled.
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve returned %v after cancel, want nil", err)
		}
	case <-time.After(ShutdownTimeout + 5*time.Second):
		t.Fatal("Serve did not return after cancel")
	}
	if c, err := net.DialTimeout("tcp", ln.Addr().String(), 2*time.Second); err == nil {
		c.Close()
		t.Error("the listener is still open")
	}
}

func TestServeRefusesEmptyOptions(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if err := Serve(context.Background(), ln, Options{}); err == nil {
		t.Error("Serve without a certificate returned nil")
	}
}

func TestLoad(t *testing.T) {
	p := newPKI(t)
	reg, err := host.Parse("localhost:5000")
	if err != nil {
		t.Fatal(err)
	}

	_, err = Load(p.home, reg)
	var ni *templates.NotIssuedError
	if !errors.As(err, &ni) || errs.HintOf(err) != "certkit issue server --host localhost:5000" {
		t.Fatalf("before issuing: err = %v (hint %q)", err, errs.HintOf(err))
	}

	server := p.issueServer(t, reg)
	opt, err := Load(p.home, reg)
	if err != nil {
		t.Fatal(err)
	}
	if len(opt.Certificate.Certificate) != 2 || string(opt.Certificate.Certificate[0]) != string(server.Raw) ||
		string(opt.Certificate.Certificate[1]) != string(p.ca.Cert.Raw) {
		t.Error("the served chain is not server.crt + ca.crt")
	}
	if len(opt.ClientCAs) != 1 || !opt.ClientCAs[0].Equal(p.ca.Cert) {
		t.Error("ClientCAs is not the certkit CA")
	}

	// The whole way: served from the home, a client of the CA is accepted.
	srv := start(t, opt)
	resp, body := srv.do(t, "GET", "/v2/", &tls.Config{ServerName: "localhost", Certificates: []tls.Certificate{p.client(t, "bob")}})
	if resp.StatusCode != 200 || body != "{}" {
		t.Errorf("GET /v2/: %d %q", resp.StatusCode, body)
	}

	// A key that does not belong to the certificate is an error, not a
	// server that fails every handshake.
	dir := home.HostDir(p.home, reg.String())
	other := p.leaf(t, "localhost", x509.ExtKeyUsageServerAuth, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	keyPEM, err := ca.MarshalKey(other.PrivateKey.(*ecdsa.PrivateKey))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, home.ServerKey), keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(p.home, reg); err == nil {
		t.Error("Load accepted a key of another certificate")
	}
}
