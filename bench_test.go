package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/certkit/certkit/host"
	"github.com/certkit/certkit/testserver"
)

// BenchmarkVerifyCommand is `certkit verify` from the command line against
// local registries that require client certificates (certkit's own test
// server, one listener per registry on 127.0.0.1, so every check also
// carries verify's loopback warning). Each registry has its own certs.d
// folder made by `certkit issue client` and `certkit install`.
//
//	one/warm      verify --host, in this process, after a first run: the
//	              system roots are loaded and the code is warm; every
//	              connection is still a full TLS handshake
//	one/cold      the same as a new process (this test binary run as
//	              certkit, so it also pays for a few test-only packages'
//	              start-up): start-up, system roots, first handshakes
//	all-100/warm  verify --all over 100 registry folders, in process
//	all-100/cold  the same as a new process
//
// The figure to watch is all-100 over one. On loopback the servers share
// this machine's cores with verify, so the ratio measures CPU. The rtt20ms
// variants delay every write from the servers by 20 ms, so that a round
// trip costs 20 ms as to a registry in another region: the waiting that
// --all overlaps, DefaultConcurrency registries at a time.
//
//	go test -run '^$' -bench BenchmarkVerifyCommand -benchtime 20x .
func BenchmarkVerifyCommand(b *testing.B) {
	const n = 100
	h := b.TempDir()
	certs := filepath.Join(b.TempDir(), "certs.d")
	benchCertkit(b, h, "init-ca")
	benchCertkit(b, h, "issue", "server", "--host", "127.0.0.1")
	srvReg, err := host.Parse("127.0.0.1")
	if err != nil {
		b.Fatal(err)
	}
	opt, err := testserver.Load(h, srvReg)
	if err != nil {
		b.Fatal(err)
	}
	var delay atomic.Int64 // of every write from the servers, in ns
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	b.Cleanup(func() { cancel(); wg.Wait() })
	regs := make([]string, n)
	for i := range regs {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		wg.Go(func() { testserver.Serve(ctx, delayListener{ln, &delay}, opt) })
		regs[i] = ln.Addr().String()
		benchCertkit(b, h, "issue", "client", "--host", regs[i], "--name", fmt.Sprintf("runner-%03d", i))
	}
	benchCertkit(b, h, "install", "--certs-dir", certs)

	one := []string{"verify", "--host", regs[0], "--certs-dir", certs}
	all := []string{"verify", "--all", "--certs-dir", certs}
	for _, rtt := range []time.Duration{0, 20 * time.Millisecond} {
		suffix := ""
		if rtt > 0 {
			suffix = "-rtt" + rtt.String()
		}
		for _, tt := range []struct {
			name string
			args []string
		}{{"one", one}, {"all-100", all}} {
			b.Run(tt.name+suffix+"/warm", func(b *testing.B) {
				delay.Store(int64(rtt))
				benchCertkit(b, h, tt.args...)
				for b.Loop() {
					benchCertkit(b, h, tt.args...)
				}
			})
			b.Run(tt.name+suffix+"/cold", func(b *testing.B) {
				delay.Store(int64(rtt))
				bin, err := exec.LookPath("certkit")
				if err != nil {
					b.Fatal(err)
				}
				for b.Loop() {
					cmd := exec.Command(bin, append([]string{"--home", h}, tt.args...)...)
					if out, err := cmd.CombinedOutput(); err != nil {
						b.Fatalf("certkit %s: %v\n%s", strings.Join(tt.args, " "), err, out)
					}
				}
			})
		}
	}
}

// delayListener delays every write to its connections by the current
// value of delay: a benchmark's model of a network round trip.
type delayListener struct {
	net.Listener
	delay *atomic.Int64
}

func (l delayListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return delayConn{c, l.delay}, nil
}

type delayConn struct {
	net.Conn
	delay *atomic.Int64
}

func (c delayConn) Write(p []byte) (int, error) {
	if d := time.Duration(c.delay.Load()); d > 0 {
		time.Sleep(d)
	}
	return c.Conn.Write(p)
}

// benchCertkit runs certkit in this process and fails on a non-zero exit.
func benchCertkit(b *testing.B, home string, args ...string) {
	b.Helper()
	var stdout, stderr bytes.Buffer
	if code := runWith(append([]string{"certkit", "--home", home}, args...), strings.NewReader(""), &stdout, &stderr); code != 0 {
		b.Fatalf("certkit %s: exit %d\n%s", strings.Join(args, " "), code, stderr.String())
	}
}

// BenchmarkRenew1000Install is `certkit renew --all --install` of 1,000
// client pairs installed in one certs root on disk (issue #13's target:
// under 1.5 s), in this process.
//
//	go test -run '^$' -bench Renew1000Install -benchtime 3x .
func BenchmarkRenew1000Install(b *testing.B) {
	dir := b.TempDir()
	h, certs := filepath.Join(dir, "home"), filepath.Join(dir, "certs.d")
	names := make([]string, 1000)
	for i := range names {
		names[i] = fmt.Sprintf("c%04d", i)
	}
	list := filepath.Join(dir, "names")
	if err := os.WriteFile(list, []byte(strings.Join(names, "\n")+"\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	run := func(args ...string) {
		b.Helper()
		var out, errOut bytes.Buffer
		if code := runWith(append([]string{"certkit", "--home", h}, args...), strings.NewReader(""), &out, &errOut); code != 0 {
			b.Fatalf("certkit %s: %s", strings.Join(args, " "), errOut.String())
		}
	}
	run("init-ca")
	run("issue", "client", "--host", "reg.example.com:5000", "--names-file", list)
	run("install", "--host", "reg.example.com:5000", "--certs-dir", certs)
	b.ResetTimer()
	for b.Loop() {
		run("renew", "--all", "--install", "--certs-dir", certs)
	}
}
