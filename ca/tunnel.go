package ca

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// maxAnswer bounds what certkit reads from a signer on one connection:
// its TLS handshake and one answer, a certificate of a few KiB.
const maxAnswer = 1 << 20

// tunnel is a CONNECT proxy on 127.0.0.1, for one SignerClient, through
// which cfssl's client reaches the signer. cfssl's client reads an answer
// whole, with no bound; the tunnel passes at most maxAnswer bytes from the
// signer on each connection, and remembers a connection it cut, or a
// signer it could not reach, for the words of the error.
type tunnel struct {
	ln      net.Listener
	target  string // host:port of the signer: the only place it connects to
	timeout time.Duration

	mu      sync.Mutex
	dialErr error
	cut     bool
}

func newTunnel(target string, timeout time.Duration) (*tunnel, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	t := &tunnel{ln: ln, target: target, timeout: timeout}
	go t.serve()
	return t, nil
}

// addr is the proxy's address, for http.Transport.Proxy.
func (t *tunnel) addr() string { return t.ln.Addr().String() }

func (t *tunnel) close() { t.ln.Close() }

// reset forgets what the last call saw.
func (t *tunnel) reset() {
	t.mu.Lock()
	t.dialErr, t.cut = nil, false
	t.mu.Unlock()
}

// state is what the calls since reset saw: the error reaching the signer,
// and whether an answer was cut at maxAnswer.
func (t *tunnel) state() (dialErr error, cut bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.dialErr, t.cut
}

func (t *tunnel) serve() {
	for {
		c, err := t.ln.Accept()
		if err != nil {
			return
		}
		go t.handle(c)
	}
}

func (t *tunnel) handle(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(t.timeout))
	br := bufio.NewReader(io.LimitReader(c, 64<<10))
	req, err := http.ReadRequest(br)
	if err != nil || req.Method != http.MethodConnect || req.Host != t.target {
		io.WriteString(c, "HTTP/1.1 403 Forbidden\r\n\r\n")
		return
	}
	up, err := net.DialTimeout("tcp", t.target, t.timeout)
	if err != nil {
		t.mu.Lock()
		t.dialErr = err
		t.mu.Unlock()
		io.WriteString(c, "HTTP/1.1 502 Bad Gateway\r\n\r\n")
		return
	}
	defer up.Close()
	up.SetDeadline(time.Now().Add(t.timeout))
	if _, err := io.WriteString(c, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
		return
	}
	// The client's side is certkit's own request; bytes the reader
	// already took go first.
	go func() {
		io.Copy(up, io.MultiReader(br, c))
		if tc, ok := up.(*net.TCPConn); ok {
			tc.CloseWrite()
		}
	}()
	n, _ := io.Copy(c, io.LimitReader(up, maxAnswer+1))
	if n > maxAnswer {
		t.mu.Lock()
		t.cut = true
		t.mu.Unlock()
	}
}
