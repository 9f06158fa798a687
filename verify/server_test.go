package verify

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"log"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/certkit/certkit/host"
)

// Test servers: real sockets on 127.0.0.1:0, Go's own TLS stack, and raw
// listeners for the behaviours no well-meaning server has.

// registryAnswer answers GET /v2/ as distribution does without auth.
func registryAnswer(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	io.WriteString(w, "{}")
}

// startTLS serves h over TLS with cfg and returns the address.
func startTLS(t testing.TB, cfg *tls.Config, h http.HandlerFunc) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ErrorLog: log.New(io.Discard, "", 0)}
	go srv.Serve(tls.NewListener(ln, cfg))
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// startPlain serves h over plain HTTP.
func startPlain(t testing.TB, h http.HandlerFunc) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ErrorLog: log.New(io.Discard, "", 0)}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// startRaw runs handle on every accepted connection. Cleanup closes the
// listener and every connection, then waits for the handlers.
func startRaw(t testing.TB, handle func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		conns []net.Conn
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				handle(c)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

// serverConfig is a registry's TLS configuration: its certificate, and the
// client CAs it requires (none: it asks for no client certificate).
func serverConfig(cert tls.Certificate, clientCAs ...*testCA) *tls.Config {
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if len(clientCAs) > 0 {
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
		cfg.ClientCAs = x509.NewCertPool()
		for _, c := range clientCAs {
			cfg.ClientCAs.AddCert(c.cert)
		}
	}
	return cfg
}

// target describes the registry name:PORT served at addr.
func target(t testing.TB, addr, name string, cas []*x509.Certificate, pairs ...Pair) Target {
	t.Helper()
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := host.Parse(name + ":" + port)
	if err != nil {
		t.Fatal(err)
	}
	return Target{Registry: reg, Addr: addr, Dir: "certs.d/" + reg.String(), CAs: cas, Pairs: pairs}
}

// probe runs the live probe with no system roots, so that only the test
// CAs count.
func probe(t testing.TB, tg Target, timeout time.Duration) *Report {
	t.Helper()
	return Probe(context.Background(), tg, LiveOptions{Timeout: timeout, Roots: x509.NewCertPool()})
}

// expect finds the check id and asserts its status and kind.
func expect(t testing.TB, rep *Report, id string, st Status, kind string) Check {
	t.Helper()
	c, ok := rep.Check(id)
	if !ok {
		t.Fatalf("no check %q in:\n%s", id, dump(rep))
	}
	if c.Status != st || c.Kind != kind {
		t.Fatalf("check %q is %s/%q, want %s/%q:\n%s", id, c.Status, c.Kind, st, kind, dump(rep))
	}
	return c
}

// expectNo asserts the report has no check id.
func expectNo(t testing.TB, rep *Report, id string) {
	t.Helper()
	if c, ok := rep.Check(id); ok {
		t.Fatalf("unexpected check %q (%s %s):\n%s", id, c.Status, c.Message, dump(rep))
	}
}

func contains(t testing.TB, what, s string, subs ...string) {
	t.Helper()
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			t.Errorf("%s %q lacks %q", what, s, sub)
		}
	}
}

func dump(rep *Report) string {
	b, _ := json.MarshalIndent(rep, "", "  ")
	return string(b)
}

// readClientHello reads one TLS record from c (the ClientHello).
func readClientHello(c net.Conn) error {
	hdr := make([]byte, 5)
	if _, err := io.ReadFull(c, hdr); err != nil {
		return err
	}
	n := int(hdr[3])<<8 | int(hdr[4])
	_, err := io.CopyN(io.Discard, c, int64(n))
	return err
}

// readRequest reads one HTTP request from a server-side connection.
func readRequest(c net.Conn) (*bufio.Reader, error) {
	br := bufio.NewReader(c)
	_, err := http.ReadRequest(br)
	return br, err
}
