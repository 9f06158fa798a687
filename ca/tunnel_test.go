package ca

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// echoSigner stands for the signer: it answers each line with "pong "
// and the line, or, for the line "huge", with more than maxAnswer bytes.
// It counts the connections it accepts and closes those left open when
// the test ends.
type echoSigner struct {
	ln       net.Listener
	accepted atomic.Int32
	closed   chan struct{} // one value per connection the client side closed unused
}

func startEchoSigner(t *testing.T) *echoSigner {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &echoSigner{ln: ln, closed: make(chan struct{}, 16)}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.accepted.Add(1)
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				line, err := bufio.NewReader(c).ReadString('\n')
				switch {
				case err != nil && line == "":
					s.closed <- struct{}{}
				case line == "huge\n":
					io.Copy(c, io.LimitReader(zeros{}, maxAnswer+4096))
				default:
					io.WriteString(c, "pong "+line)
				}
			}()
		}
	}()
	return s
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// connect asks the tunnel for target as cfssl's client does, and returns
// the status it answers and the connection.
func connect(t *testing.T, tun *tunnel, target string) (int, net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", tun.addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(c, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", target, target)
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodConnect})
	if err != nil {
		t.Fatalf("the tunnel's answer to CONNECT: %v", err)
	}
	return resp.StatusCode, c, br
}

// slowFirstDial dials as net.DialTimeout does, the first time after a
// pause: a connection through the tunnel then comes before the dial made
// ahead is done.
func slowFirstDial() func(string, string, time.Duration) (net.Conn, error) {
	var n atomic.Int32
	return func(network, addr string, timeout time.Duration) (net.Conn, error) {
		if n.Add(1) == 1 {
			time.Sleep(100 * time.Millisecond)
		}
		return net.DialTimeout(network, addr, timeout)
	}
}

// TestTunnelRelays: each connection through the tunnel reaches the signer
// on a connection of its own, the first on the one dialled when the
// tunnel was made, whether that dial is done by then (done) or not yet
// (pending), and the tunnel dials nothing more.
func TestTunnelRelays(t *testing.T) {
	for _, tc := range []struct {
		name string
		dial func(string, string, time.Duration) (net.Conn, error)
	}{{"done", net.DialTimeout}, {"pending", slowFirstDial()}} {
		t.Run(tc.name, func(t *testing.T) {
			s := startEchoSigner(t)
			target := s.ln.Addr().String()
			tun, err := startTunnel(target, 5*time.Second, tc.dial)
			if err != nil {
				t.Fatal(err)
			}
			defer tun.close()
			if tc.name == "done" {
				for deadline := time.Now().Add(5 * time.Second); s.accepted.Load() == 0 && time.Now().Before(deadline); {
					time.Sleep(time.Millisecond)
				}
			}
			for i := range 3 {
				code, c, br := connect(t, tun, target)
				if code != http.StatusOK {
					t.Fatalf("connection %d: status %d", i, code)
				}
				fmt.Fprintf(c, "ping %d\n", i)
				got, err := br.ReadString('\n')
				if want := fmt.Sprintf("pong ping %d\n", i); got != want {
					t.Fatalf("connection %d: got %q (%v), want %q", i, got, err, want)
				}
				c.Close()
			}
			if n := s.accepted.Load(); n != 3 {
				t.Errorf("the signer saw %d connections for 3 through the tunnel", n)
			}
			if dialErr, cut := tun.state(); dialErr != nil || cut {
				t.Errorf("state: %v, cut %v", dialErr, cut)
			}
		})
	}
}

// TestTunnelRefusesOtherTargets: the tunnel connects to its signer only.
func TestTunnelRefusesOtherTargets(t *testing.T) {
	s := startEchoSigner(t)
	tun, err := newTunnel(s.ln.Addr().String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer tun.close()
	if code, _, _ := connect(t, tun, "example.com:443"); code != http.StatusForbidden {
		t.Errorf("CONNECT to another host: status %d, want 403", code)
	}
}

// TestTunnelCloseUnused: a tunnel closed before any call closes the
// connection it dialled ahead, so that the signer does not keep it.
func TestTunnelCloseUnused(t *testing.T) {
	s := startEchoSigner(t)
	tun, err := newTunnel(s.ln.Addr().String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	tun.close()
	select {
	case <-s.closed:
	case <-time.After(5 * time.Second):
		t.Fatal("the connection dialled ahead is still open after close")
	}
}

// TestTunnelSignerDown: a signer that cannot be reached is answered 502
// and remembered, on the first connection (dialled ahead) and the next.
func TestTunnelSignerDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	target := ln.Addr().String()
	ln.Close()
	tun, err := newTunnel(target, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer tun.close()
	for i := range 2 {
		tun.reset()
		if code, _, _ := connect(t, tun, target); code != http.StatusBadGateway {
			t.Fatalf("connection %d: status %d, want 502", i, code)
		}
		if dialErr, _ := tun.state(); dialErr == nil || !strings.Contains(dialErr.Error(), "refused") {
			t.Errorf("connection %d: dial error %v, want connection refused", i, dialErr)
		}
	}
}

// TestTunnelCutsHugeAnswer: at most maxAnswer+1 bytes come back from the
// signer on one connection, and the tunnel says it cut the answer.
func TestTunnelCutsHugeAnswer(t *testing.T) {
	s := startEchoSigner(t)
	target := s.ln.Addr().String()
	tun, err := newTunnel(target, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer tun.close()
	code, c, br := connect(t, tun, target)
	if code != http.StatusOK {
		t.Fatalf("status %d", code)
	}
	io.WriteString(c, "huge\n")
	n, _ := io.Copy(io.Discard, br)
	if n > maxAnswer+1 {
		t.Errorf("%d bytes came through, more than %d", n, maxAnswer+1)
	}
	if _, cut := tun.state(); !cut {
		t.Error("the tunnel does not say it cut the answer")
	}
}
