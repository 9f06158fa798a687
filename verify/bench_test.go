package verify

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/certkit/certkit/ca"
	"github.com/certkit/certkit/host"
)

// BenchmarkVerify compares one verify with verify --all over 50 registry
// folders, each served by its own local registry (a Go TLS server that
// requires client certificates). All runs them DefaultConcurrency at a
// time; the ratio all-50/one is the figure to watch (one after the other
// would be about 50).
//
// On loopback both sides of every TLS handshake share this machine's
// cores, so the ratio measures CPU, not waiting. The "rtt" variants give
// each server a network delay (every write from the server arrives 20 ms
// late, so a round trip costs 20 ms, as to a registry in another region),
// which is the waiting --all overlaps.
//
//	go test -run '^$' -bench BenchmarkVerify -benchtime 20x ./verify/
func BenchmarkVerify(b *testing.B) {
	for _, delay := range []time.Duration{0, 20 * time.Millisecond} {
		opts := benchFolders(b, 50, delay)
		suffix := ""
		if delay > 0 {
			suffix = "-rtt" + delay.String()
		}
		b.Run("one"+suffix, func(b *testing.B) {
			for b.Loop() {
				checkReports(b, All(context.Background(), opts[:1], 0))
			}
		})
		b.Run("all-50"+suffix, func(b *testing.B) {
			for b.Loop() {
				checkReports(b, All(context.Background(), opts, 0))
			}
		})
	}
}

func checkReports(b *testing.B, reps []*Report) {
	for _, r := range reps {
		if r.Failed() {
			b.Fatalf("failed:\n%s", dump(r))
		}
	}
}

// benchFolders starts n registries and writes their folders.
func benchFolders(b *testing.B, n int, delay time.Duration) []Options {
	root := newCA(b, "certkit CA bench")
	certsRoot := b.TempDir()
	var opts []Options
	for i := range n {
		srv := root.server(b, regName)
		addr := startDelayedTLS(b, serverConfig(srv, root), delay)
		_, port, _ := net.SplitHostPort(addr)
		reg, err := host.Parse(fmt.Sprintf("%s:%s", regName, port))
		if err != nil {
			b.Fatal(err)
		}
		pair := root.issue(b, leafOpts{cn: fmt.Sprintf("runner-%d", i)})
		dir := filepath.Join(certsRoot, reg.String())
		writeFolder(b, dir, map[string][]byte{
			"ca.crt":      ca.EncodeCert(root.cert),
			"client.cert": certPEM(pair),
			"client.key":  keyPEM(b, pair),
		})
		opts = append(opts, Options{Registry: reg, Dir: dir, Addr: addr, Live: LiveOptions{Roots: x509.NewCertPool()}})
	}
	return opts
}

// startDelayedTLS serves registryAnswer over TLS; every write from the
// server is delivered delay late (a benchmark's model of a network).
func startDelayedTLS(b *testing.B, cfg *tls.Config, delay time.Duration) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(registryAnswer), ErrorLog: log.New(io.Discard, "", 0)}
	go srv.Serve(tls.NewListener(delayListener{ln, delay}, cfg))
	b.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

type delayListener struct {
	net.Listener
	delay time.Duration
}

func (l delayListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil || l.delay == 0 {
		return c, err
	}
	return delayConn{c, l.delay}, nil
}

type delayConn struct {
	net.Conn
	delay time.Duration
}

func (c delayConn) Write(p []byte) (int, error) {
	time.Sleep(c.delay)
	return c.Conn.Write(p)
}
