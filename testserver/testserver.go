// Package testserver is a small HTTPS endpoint that behaves, for GET /v2/,
// like a registry with TLS client authentication: it presents the server
// certificate certkit issued, asks for a client certificate, and answers
// 200 {} to a client whose certificate the certkit CA signed, 403 with the
// reason to any other. It lets people try their clients (and `certkit
// verify`) before the real registry exists, as the old recipe's Apache and
// CGI script did.
//
// Unlike a real registry, which drops a connection with a bad client
// certificate during the handshake (a TLS alert that clients report
// vaguely), the test server accepts the handshake and refuses on the HTTP
// level, so the client sees why.
package testserver

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/certkit/certkit/ca"
	"github.com/certkit/certkit/host"
	"github.com/certkit/certkit/templates"
)

// APIVersionHeader is the header every registry answer carries.
const (
	APIVersionHeader = "Docker-Distribution-API-Version"
	APIVersion       = "registry/2.0"
)

// Server timeouts: a test endpoint must not be held open by slow clients.
const (
	ReadHeaderTimeout = 10 * time.Second
	ReadTimeout       = 30 * time.Second
	WriteTimeout      = 30 * time.Second
	IdleTimeout       = 2 * time.Minute
	MaxHeaderBytes    = 64 << 10
	// ShutdownTimeout bounds how long Serve waits for requests in flight
	// once its context is cancelled.
	ShutdownTimeout = 5 * time.Second
)

// Options configure Serve.
type Options struct {
	// Certificate is what the server presents: the leaf, then the chain.
	Certificate tls.Certificate
	// ClientCAs sign the client certificates that are accepted. They are
	// also announced to clients, which pick the certificate they send by
	// them (as a real registry's clientcas are).
	ClientCAs []*x509.Certificate
	// Log, when set, is called once per request, after the answer.
	Log func(Entry)
	// ErrorLog, when set, receives connection-level errors such as failed
	// TLS handshakes, one message per call.
	ErrorLog func(msg string)
	// Now is the clock client certificates are checked against; time.Now
	// when nil.
	Now func() time.Time
}

// Entry describes one request.
type Entry struct {
	Time    time.Time
	Remote  string // client address
	Method  string
	Path    string
	Status  int
	Subject string // the client certificate's subject; "" when none was sent
	Reason  string // why the request was refused; "" when it was not
}

// Load reads the server material certkit issued for reg in the home: the
// server chain and key, and the CA certificate (not its key). It fails with
// a *templates.NotIssuedError when no server certificate was issued.
func Load(homeDir string, reg host.Registry) (Options, error) {
	f, err := templates.Locate(homeDir, reg)
	if err != nil {
		return Options{}, err
	}
	cert, err := tls.LoadX509KeyPair(f.Chain, f.Key)
	if err != nil {
		return Options{}, fmt.Errorf("loading the server certificate of %s: %w", reg, err)
	}
	caPEM, err := os.ReadFile(f.CA)
	if err != nil {
		return Options{}, err
	}
	cas, err := ca.ParseCerts(caPEM)
	if err != nil {
		return Options{}, fmt.Errorf("%s: %w", f.CA, err)
	}
	return Options{Certificate: cert, ClientCAs: cas[:1]}, nil
}

// Serve answers HTTPS requests on ln until ctx is cancelled, then shuts
// down, waiting up to ShutdownTimeout for requests in flight, and returns
// nil. It closes ln. Any other failure is returned.
func Serve(ctx context.Context, ln net.Listener, opt Options) error {
	if len(opt.Certificate.Certificate) == 0 {
		return errors.New("testserver: no server certificate")
	}
	if len(opt.ClientCAs) == 0 {
		return errors.New("testserver: no client CA")
	}
	h := newHandler(opt)
	pool := x509.NewCertPool()
	for _, c := range opt.ClientCAs {
		pool.AddCert(c)
	}
	srv := &http.Server{
		Handler: h,
		TLSConfig: &tls.Config{
			MinVersion:   tls.VersionTLS12,
			Certificates: []tls.Certificate{opt.Certificate},
			// Ask for a certificate and announce the CA, but check it in
			// the handler, so that a bad one gets a 403 with a reason
			// instead of a TLS alert.
			ClientAuth: tls.RequestClientCert,
			ClientCAs:  pool,
		},
		ReadHeaderTimeout: ReadHeaderTimeout,
		ReadTimeout:       ReadTimeout,
		WriteTimeout:      WriteTimeout,
		IdleTimeout:       IdleTimeout,
		MaxHeaderBytes:    MaxHeaderBytes,
		ErrorLog:          log.New(lineWriter(opt.ErrorLog), "", 0),
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.ServeTLS(ln, "", "") }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// lineWriter turns the http.Server's error log into ErrorLog calls.
type lineWriter func(string)

func (w lineWriter) Write(p []byte) (int, error) {
	if w != nil {
		w(strings.TrimRight(strings.TrimPrefix(string(p), "http: "), "\n"))
	}
	return len(p), nil
}

type handler struct {
	roots *x509.CertPool
	opt   Options
}

func newHandler(opt Options) *handler {
	roots := x509.NewCertPool()
	for _, c := range opt.ClientCAs {
		roots.AddCert(c)
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	return &handler{roots: roots, opt: opt}
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	e := Entry{Time: h.opt.Now(), Remote: r.RemoteAddr, Method: r.Method, Path: r.URL.Path}
	e.Subject, e.Reason = h.checkClient(r)
	e.Status = h.answer(w, r, e.Reason)
	if h.opt.Log != nil {
		h.opt.Log(e)
	}
}

// answer writes the response and returns its status.
func (h *handler) answer(w http.ResponseWriter, r *http.Request, refused string) int {
	w.Header().Set(APIVersionHeader, APIVersion)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	switch {
	case refused != "":
		return writeError(w, http.StatusForbidden, "DENIED", refused)
	case r.URL.Path != "/v2/" && r.URL.Path != "/v2":
		return writeError(w, http.StatusNotFound, "UNSUPPORTED", "the certkit test server answers only GET /v2/")
	case r.Method != http.MethodGet && r.Method != http.MethodHead:
		w.Header().Set("Allow", "GET, HEAD")
		return writeError(w, http.StatusMethodNotAllowed, "UNSUPPORTED", "the certkit test server answers only GET /v2/")
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", "2")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		w.Write([]byte("{}"))
	}
	return http.StatusOK
}

// writeError answers in the registry's error format.
func writeError(w http.ResponseWriter, status int, code, msg string) int {
	body, _ := json.Marshal(map[string]any{
		"errors": []map[string]string{{"code": code, "message": msg}},
	})
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	w.Write(body)
	return status
}

// checkClient returns the subject of the client certificate and, when it
// is not acceptable, why.
func (h *handler) checkClient(r *http.Request) (subject, refused string) {
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		return "", "no client certificate was sent: the registry requires one signed by the certkit CA " +
			"(a client sends one only if a certificate from that CA is in its certs.d folder)"
	}
	leaf := r.TLS.PeerCertificates[0]
	subject = leaf.Subject.String()
	inter := x509.NewCertPool()
	for _, c := range r.TLS.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	_, err := leaf.Verify(x509.VerifyOptions{
		Roots:         h.roots,
		Intermediates: inter,
		CurrentTime:   h.opt.Now(),
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
	if err != nil {
		return subject, reason(leaf, err, h.opt.Now())
	}
	return subject, ""
}

// reason words a client certificate verification error for the person
// whose client sent the certificate.
func reason(leaf *x509.Certificate, err error, now time.Time) string {
	var ua x509.UnknownAuthorityError
	var ci x509.CertificateInvalidError
	switch {
	case errors.As(err, &ua):
		return fmt.Sprintf("client certificate %q is not signed by the certkit CA (its issuer is %q)", leaf.Subject.String(), leaf.Issuer.String())
	case errors.As(err, &ci) && ci.Reason == x509.Expired:
		if leaf.NotBefore.After(now) {
			return fmt.Sprintf("client certificate %q is not valid before %s", leaf.Subject.String(), leaf.NotBefore.UTC().Format(time.RFC3339))
		}
		return fmt.Sprintf("client certificate %q expired on %s", leaf.Subject.String(), leaf.NotAfter.UTC().Format(time.RFC3339))
	case errors.As(err, &ci) && ci.Reason == x509.IncompatibleUsage:
		return fmt.Sprintf("client certificate %q is not for client authentication (its extended key usage lacks clientAuth)", leaf.Subject.String())
	}
	return fmt.Sprintf("client certificate %q is not acceptable: %v", leaf.Subject.String(), err)
}
