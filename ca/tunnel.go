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
//
// The tunnel dials the signer once as soon as it is made, for the first
// connection through it: the name lookup and the TCP handshake then
// overlap the key generation and the request that the caller makes before
// its first call, instead of following them. Later connections dial when
// they come.
type tunnel struct {
	ln      net.Listener
	target  string // host:port of the signer: the only place it connects to
	timeout time.Duration
	dialFn  func(network, addr string, timeout time.Duration) (net.Conn, error)

	mu      sync.Mutex
	ahead   chan dialed // the first connection's dial; nil once taken
	dialErr error
	cut     bool
}

// dialed is the outcome of a dial to the signer.
type dialed struct {
	conn net.Conn
	err  error
}

func newTunnel(target string, timeout time.Duration) (*tunnel, error) {
	return startTunnel(target, timeout, net.DialTimeout)
}

// startTunnel is newTunnel with the function that dials the signer.
func startTunnel(target string, timeout time.Duration, dial func(network, addr string, timeout time.Duration) (net.Conn, error)) (*tunnel, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	ahead := make(chan dialed, 1)
	t := &tunnel{ln: ln, target: target, timeout: timeout, dialFn: dial, ahead: ahead}
	go func() {
		c, err := dial("tcp", target, timeout)
		ahead <- dialed{c, err}
	}()
	go t.serve()
	return t, nil
}

// dial returns a connection to the signer: the one dialled ahead for the
// first connection through the tunnel, a new one after that.
func (t *tunnel) dial() (net.Conn, error) {
	t.mu.Lock()
	ahead := t.ahead
	t.ahead = nil
	t.mu.Unlock()
	if ahead != nil {
		d := <-ahead
		return d.conn, d.err
	}
	return t.dialFn("tcp", t.target, t.timeout)
}

// addr is the proxy's address, for http.Transport.Proxy.
func (t *tunnel) addr() string { return t.ln.Addr().String() }

// close stops the listener, and closes the connection dialled ahead if no
// call took it.
func (t *tunnel) close() {
	t.ln.Close()
	t.mu.Lock()
	ahead := t.ahead
	t.ahead = nil
	t.mu.Unlock()
	if ahead != nil {
		go func() {
			if d := <-ahead; d.conn != nil {
				d.conn.Close()
			}
		}()
	}
}

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
	up, err := t.dial()
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
