package ca

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/cloudflare/cfssl/api/client"
	"github.com/cloudflare/cfssl/auth"
	cferr "github.com/cloudflare/cfssl/errors"
	"github.com/cloudflare/cfssl/info"

	"github.com/certkit/certkit/internal/atomicfile"
	"github.com/certkit/certkit/internal/errs"
	"github.com/certkit/certkit/internal/home"
	"github.com/certkit/certkit/internal/safefs"
)

// A home made with init-ca --remote holds no CA key: its CA signs on
// another machine, through cfssl's multirootca (its authsign and info
// endpoints), and the home records where:
//
//	ca/ca.crt       0644 the CA certificate, fetched through info and
//	                     checked against the fingerprint the admin gave
//	ca/signer.json  0644 the signer's URL, label and deadline
//	ca/auth.key     0600 the HMAC key of authsign (hex, as cfssl reads it)
const (
	SignerFile  = "signer.json"
	AuthKeyFile = "auth.key"
)

// DefaultSignerTimeout is how long one call to the signer may take, from
// the connection to the last byte of the answer.
const DefaultSignerTimeout = 10 * time.Second

// maxSignerFile bounds signer.json and auth.key.
const maxSignerFile = 64 << 10

// Remote is a CA that signs elsewhere: a multirootca reached over TLS.
type Remote struct {
	URL     string // https://HOST:PORT
	Label   string // the multirootca section; "" is the signer's default (-l)
	Timeout time.Duration
	CA      *CA // Cert, CertPEM and Dir; no Key
	// PerRegistry: the signer's CA label signs nothing itself; each
	// registry has a label of its own (RegistryLabel), for its issuing CA.
	PerRegistry bool
	authKey     string
}

type signerRecord struct {
	URL         string `json:"url"`
	Label       string `json:"label,omitempty"`
	Timeout     string `json:"timeout"`
	PerRegistry bool   `json:"per_registry,omitempty"`
}

// ErrNotRemote is LoadRemote's answer for a home that signs locally, or
// has no CA at all.
var ErrNotRemote = errors.New("the home records no remote signer")

// SignerErrorKind says what went wrong with the signer.
type SignerErrorKind int

// The ways a call to the signer fails.
const (
	SignerDown      SignerErrorKind = iota + 1 // no connection, or no HTTP answer
	SignerTimeout                              // no whole answer within the deadline
	SignerTLS                                  // its TLS certificate is not from the CA, or not for its name
	SignerAuth                                 // it refused the auth key
	SignerLabel                                // it has no such label
	SignerProfile                              // the label has no such profile
	SignerForbidden                            // this address is not in the label's nets
	SignerRefused                              // it refused to sign the request
	SignerAnswer                               // it answered something other than what was asked
)

// SignerError reports a failed call to the remote signer, in words: never
// cfssl's JSON.
type SignerError struct {
	Kind SignerErrorKind
	URL  string
	Msg  string
	Fix  string
	Err  error // the underlying error, when there is a typed one
}

func (e *SignerError) Error() string { return "the signer at " + e.URL + " " + e.Msg }

// Hint says what to check.
func (e *SignerError) Hint() string { return e.Fix }

func (e *SignerError) Unwrap() error { return e.Err }

// ParseSignerURL checks a signer address: https, a host and a port (8888,
// cfssl's, when none is given), nothing else. It returns the URL as
// certkit records it.
func ParseSignerURL(s string) (string, error) {
	bad := func(why string) (string, error) {
		return "", errs.Input(fmt.Sprintf("--remote %q %s", s, why), "give the signer as https://HOST[:PORT], e.g. --remote https://ca.internal:8888")
	}
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return bad("is not a URL")
	case u.Scheme == "http":
		return bad("is plain HTTP; the signer must speak TLS (multirootca -tls-cert/-tls-key), or the auth key and certificates travel in the clear")
	case u.Scheme != "https":
		return bad("is not an https:// URL")
	case u.User != nil || u.RawQuery != "" || u.Fragment != "" || (u.Path != "" && u.Path != "/"):
		return bad("has more than a host and a port")
	case u.Hostname() == "":
		return bad("has no host")
	}
	port := u.Port()
	if port == "" {
		port = "8888"
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return bad("has no valid port")
	}
	return "https://" + net.JoinHostPort(u.Hostname(), port), nil
}

// ParseFingerprint reads a SHA-256 fingerprint as openssl or certkit
// prints it (hex pairs with or without colons, any case, an optional
// "sha256:" or "SHA256 Fingerprint=" in front).
func ParseFingerprint(s string) ([32]byte, error) {
	var sum [32]byte
	t := strings.ToLower(strings.TrimSpace(s))
	if i := strings.LastIndex(t, "="); i >= 0 {
		t = t[i+1:] // openssl's "SHA256 Fingerprint=AB:CD:…"
	}
	t = strings.TrimPrefix(t, "sha256:")
	t = strings.NewReplacer(":", "", " ", "").Replace(t)
	b, err := hex.DecodeString(t)
	if err != nil || len(b) != len(sum) {
		return sum, errs.Input(fmt.Sprintf("--ca-fingerprint %q is not a SHA-256 fingerprint", s),
			"ask the CA's admin for the line certkit init-ca printed (SHA-256 AB:CD:…), or run openssl x509 -noout -fingerprint -sha256 -in ca.crt on the CA machine")
	}
	copy(sum[:], b)
	return sum, nil
}

// ParseAuthKey reads an auth key file: the hex key multirootca's signing
// configuration names, at least 16 bytes.
func ParseAuthKey(data []byte) (string, error) {
	k := strings.TrimSpace(string(data))
	b, err := hex.DecodeString(k)
	if err != nil || len(b) < 16 {
		return "", errs.Input("the auth key file does not hold a hex key of at least 16 bytes",
			"pass the auth.key that certkit template multirootca wrote on the CA machine")
	}
	return k, nil
}

// RemoteOptions for InitRemote.
type RemoteOptions struct {
	Home        string
	URL         string // from ParseSignerURL
	Label       string
	Fingerprint [32]byte
	AuthKey     string // from ParseAuthKey
	Timeout     time.Duration
	Force       bool
	Now         func() time.Time
}

// InitRemote records a remote signer in the home after checking it: the
// CA certificate it serves through info has the fingerprint the admin
// gave and is a CA valid now; its TLS certificate is from that CA and for
// its name; it knows the label and certkit's profiles and takes the auth
// key. Nothing is written unless every check passes.
func InitRemote(opt RemoteOptions) (*Remote, []string, error) {
	now := time.Now
	if opt.Now != nil {
		now = opt.Now
	}
	if opt.Timeout <= 0 {
		opt.Timeout = DefaultSignerTimeout
	}
	if err := checkWritable(opt.Home); err != nil {
		return nil, nil, err
	}
	dir := home.CADir(opt.Home)
	if atomicfile.Exists(filepath.Join(dir, KeyFile)) {
		// --force would replace the certificate and leave the key: a
		// remote home holds none.
		return nil, nil, errs.Input("this home holds a CA key in "+dir+"; a home with a remote signer holds none",
			"nothing was changed; record the signer in another home (--home or CERTKIT_HOME)")
	}
	if !opt.Force {
		if err := refuseExisting(dir); err != nil {
			return nil, nil, err
		}
	}
	r := &Remote{URL: opt.URL, Label: opt.Label, Timeout: opt.Timeout, authKey: opt.AuthKey, CA: &CA{Dir: dir}}

	// First call: the CA certificate, over a connection not yet verified
	// (nothing secret is sent); the answer is checked against the
	// fingerprint, then the connection against the answer.
	cl, err := r.newClient(true)
	if err != nil {
		return nil, nil, err
	}
	defer cl.Close()
	resp, err := cl.info(opt.Label)
	if err != nil {
		return nil, nil, err
	}
	certs, err := ParseCerts([]byte(resp.Certificate))
	if err != nil {
		return nil, nil, r.fail(SignerAnswer, "answered info without a CA certificate: "+err.Error(), "check that --remote names a multirootca", nil)
	}
	c := certs[0]
	got := sha256.Sum256(c.Raw)
	if subtle.ConstantTimeCompare(got[:], opt.Fingerprint[:]) != 1 {
		return nil, nil, r.fail(SignerAnswer, fmt.Sprintf("serves the CA %q with SHA-256 %s, not the fingerprint given", c.Subject.CommonName, Fingerprint(c)),
			"nothing was written; check --ca-fingerprint with the CA's admin (certkit init-ca printed it on the CA machine); if it differs, this is not your CA", nil)
	}
	if !c.BasicConstraintsValid || !c.IsCA {
		return nil, nil, r.fail(SignerAnswer, fmt.Sprintf("serves %q, which is not a CA certificate", c.Subject.CommonName), "", nil)
	}
	if t := now(); t.After(c.NotAfter) || t.Before(c.NotBefore) {
		return nil, nil, r.fail(SignerAnswer, fmt.Sprintf("serves the CA %q, which is not valid now (%s to %s)", c.Subject.CommonName,
			c.NotBefore.UTC().Format(time.DateOnly), c.NotAfter.UTC().Format(time.DateOnly)), "check this machine's clock, or ask for the current CA", nil)
	}
	if err := verifySigner(cl.state, c, cl.host); err != nil {
		return nil, nil, r.fail(SignerTLS, "presents a TLS certificate the CA did not issue for "+cl.host+": "+err.Error(),
			"serve the certificate certkit template multirootca made, for the name in --remote", err)
	}
	r.CA.Cert, r.CA.CertPEM = c, EncodeCert(c)

	// Second call, verified: the label, the profile and the auth key,
	// with a request that has no certificate request in it. multirootca
	// checks the key before it looks for one, and signs nothing.
	cl2, err := r.newClient(false)
	if err != nil {
		return nil, nil, err
	}
	defer cl2.Close()
	cl = cl2
	for i, p := range []string{"client", "server", "server-rsa"} {
		_, err = cl.authSign(wireRequest{Profile: p, Label: opt.Label})
		var se *SignerError
		if i == 0 && errors.As(err, &se) && se.Kind == SignerProfile && errors.Is(se, errClosedLabel) {
			// A per-registry signer: the CA's label answers info and signs
			// nothing; the auth key is checked on the first certificate,
			// under the registry's label.
			r.PerRegistry = true
			break
		}
		if !errors.As(err, &se) || se.Kind != SignerRefused || se.Msg != "refused to sign: invalid request" {
			if err == nil {
				err = r.fail(SignerAnswer, "signed an empty request", "this is not a multirootca as certkit expects it", nil)
			}
			return nil, nil, err
		}
	}

	rec, err := json.MarshalIndent(signerRecord{URL: r.URL, Label: r.Label, Timeout: r.Timeout.String(), PerRegistry: r.PerRegistry}, "", "  ")
	if err != nil {
		return nil, nil, err
	}
	release, err := home.Lock(opt.Home, true)
	if err != nil {
		return nil, nil, err
	}
	var backups []string
	defer func() { release(err != nil) }()
	if !opt.Force {
		if err = refuseExisting(dir); err != nil {
			return nil, nil, err
		}
	}
	res, err := atomicfile.WriteAll([]atomicfile.File{
		{Path: filepath.Join(dir, AuthKeyFile), Data: []byte(r.authKey + "\n"), Mode: 0o600},
		{Path: filepath.Join(dir, SignerFile), Data: append(rec, '\n'), Mode: 0o644},
		{Path: r.CA.CertPath(), Data: r.CA.CertPEM, Mode: 0o644},
	}, atomicfile.Options{Force: opt.Force, Now: now(), DirMode: 0o700})
	if err != nil {
		return nil, nil, err
	}
	backups = res.Backups
	return r, backups, nil
}

// LoadRemote reads the remote signer a home records, or ErrNotRemote.
func LoadRemote(homeDir string) (*Remote, error) {
	var rec, key, certPEM []byte
	hd, err := safefs.OpenDir(homeDir)
	if err == nil {
		err = hd.Do(func(r *safefs.Root) error {
			var err error
			if rec, err = r.ReadFile(filepath.Join("ca", SignerFile), maxSignerFile); err != nil {
				return err
			}
			if key, err = r.ReadFile(filepath.Join("ca", AuthKeyFile), maxSignerFile); err != nil {
				return fmt.Errorf("reading the signer's auth key: %w", err)
			}
			if certPEM, err = r.ReadFile(filepath.Join("ca", CertFile), 0); err != nil {
				return fmt.Errorf("reading the CA certificate: %w", err)
			}
			return nil
		})
	}
	if errors.Is(err, fs.ErrNotExist) && rec == nil {
		return nil, ErrNotRemote
	}
	if err != nil {
		return nil, err
	}
	dir := home.CADir(homeDir)
	var s signerRecord
	if err := json.Unmarshal(rec, &s); err != nil {
		return nil, fmt.Errorf("%s: %v", filepath.Join(dir, SignerFile), err)
	}
	u, err := ParseSignerURL(s.URL)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", filepath.Join(dir, SignerFile), err)
	}
	timeout, err := time.ParseDuration(s.Timeout)
	if err != nil || timeout <= 0 {
		return nil, fmt.Errorf("%s: bad timeout %q", filepath.Join(dir, SignerFile), s.Timeout)
	}
	k, err := ParseAuthKey(key)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", filepath.Join(dir, AuthKeyFile), err)
	}
	certs, err := ParseCerts(certPEM)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", filepath.Join(dir, CertFile), err)
	}
	return &Remote{URL: u, Label: s.Label, Timeout: timeout, authKey: k, PerRegistry: s.PerRegistry,
		CA: &CA{Cert: certs[0], CertPEM: certPEM, Dir: dir}}, nil
}

// RemoteHomeError reports a command that needs the CA key in a home whose
// CA signs elsewhere.
type RemoteHomeError struct{ Dir string }

func (e *RemoteHomeError) Error() string {
	return "the CA of " + e.Dir + " signs on a remote signer; this home has no CA key"
}

// Hint says where the key is.
func (e *RemoteHomeError) Hint() string {
	return "run this on the CA machine; here, certkit issue server|client sends requests to the signer"
}

// SignerClient calls the signer. It is not safe for concurrent use (cfssl's
// client changes its TLS configuration on every call): make one per
// goroutine with NewClient.
type SignerClient struct {
	r     *Remote
	srv   client.Remote
	prov  auth.Provider
	host  string
	tun   *tunnel              // every connection to the signer goes through it
	state *tls.ConnectionState // of the last connection
	tlsOK bool
	tlsEr error
	label string // of the call under way, for its messages
}

// NewClient returns a client that trusts only the home's CA for the
// signer's TLS certificate.
func (r *Remote) NewClient() (*SignerClient, error) { return r.newClient(false) }

func (r *Remote) newClient(unverified bool) (*SignerClient, error) {
	u, err := url.Parse(r.URL)
	if err != nil {
		return nil, err
	}
	prov, err := auth.New(r.authKey, nil)
	if err != nil {
		return nil, fmt.Errorf("the auth key: %v", err)
	}
	cl := &SignerClient{r: r, prov: prov, host: u.Hostname()}
	cfg := &tls.Config{
		MinVersion: tls.VersionTLS12,
		// The verification is certkit's own, below, so that its error
		// keeps its type (cfssl's client turns every error into text).
		InsecureSkipVerify: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			cl.state = &cs
			if unverified {
				return nil
			}
			err := verifySigner(&cs, r.CA.Cert, cl.host)
			cl.tlsOK, cl.tlsEr = err == nil, err
			return err
		},
	}
	cl.srv = client.NewServerTLS(r.URL, cfg)
	if cl.srv == nil {
		return nil, fmt.Errorf("cfssl cannot use the signer address %s", r.URL)
	}
	cl.srv.SetRequestTimeout(r.Timeout + time.Second)
	// cfssl's client reads an answer whole: it reaches the signer through
	// a tunnel of certkit's that passes at most maxAnswer bytes back.
	target := u.Host
	if u.Port() == "" {
		target = net.JoinHostPort(u.Hostname(), "443")
	}
	if cl.tun, err = newTunnel(target, r.Timeout+time.Second); err != nil {
		return nil, err
	}
	proxy := &url.URL{Scheme: "http", Host: cl.tun.addr()}
	cl.srv.SetProxy(func(*http.Request) (*url.URL, error) { return proxy, nil })
	return cl, nil
}

// Close lets the client's tunnel go.
func (cl *SignerClient) Close() { cl.tun.close() }

// verifySigner checks the signer's TLS certificate: issued by the CA, for
// host, for TLS servers.
func verifySigner(cs *tls.ConnectionState, caCert *x509.Certificate, host string) error {
	if cs == nil || len(cs.PeerCertificates) == 0 {
		return errors.New("no certificate")
	}
	roots := x509.NewCertPool()
	roots.AddCert(caCert)
	inter := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{
		DNSName: host, Roots: roots, Intermediates: inter,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	})
	return err
}

// wireRequest is cfssl's signer.SignRequest as it travels (that package
// links zlint, which certkit keeps out of its start-up).
type wireRequest struct {
	Hosts     []string   `json:"hosts"`
	Request   string     `json:"certificate_request,omitempty"`
	Profile   string     `json:"profile"`
	Label     string     `json:"label"`
	NotBefore *time.Time `json:"NotBefore,omitempty"`
	NotAfter  *time.Time `json:"NotAfter,omitempty"`
}

// RemoteSignRequest is one certificate request for the signer.
type RemoteSignRequest struct {
	CSR                 []byte // PEM
	Profile             string
	Label               string   // the multirootca section; "" is the home's (Remote.Label)
	Hosts               []string // the names; none for a client
	NotBefore, NotAfter time.Time
}

// Sign sends the request to authsign and returns the certificate PEM it
// answers. The caller checks the certificate.
func (cl *SignerClient) Sign(req RemoteSignRequest) ([]byte, error) {
	nb, na := req.NotBefore.UTC(), req.NotAfter.UTC()
	label := req.Label
	if label == "" {
		label = cl.r.Label
	}
	return cl.authSign(wireRequest{Hosts: req.Hosts, Request: string(req.CSR), Profile: req.Profile,
		Label: label, NotBefore: &nb, NotAfter: &na})
}

func (cl *SignerClient) authSign(w wireRequest) ([]byte, error) {
	cl.label = w.Label
	body, err := json.Marshal(w)
	if err != nil {
		return nil, err
	}
	var out []byte
	err = cl.call(func() error {
		var err error
		out, err = cl.srv.AuthSign(body, nil, cl.prov)
		return err
	})
	if err != nil {
		var se *SignerError
		if errors.As(err, &se) && se.Kind == SignerRefused && strings.HasSuffix(se.Msg, "bad request") {
			// multirootca says "bad request" both for an unknown label
			// and for a request it failed to sign; info tells them apart.
			if _, ierr := cl.info(w.Label); ierr != nil {
				return nil, ierr
			}
		}
		return nil, err
	}
	return out, nil
}

func (cl *SignerClient) info(label string) (*info.Resp, error) {
	cl.label = label
	body, err := json.Marshal(info.Req{Label: label})
	if err != nil {
		return nil, err
	}
	var resp *info.Resp
	err = cl.call(func() error {
		var err error
		resp, err = cl.srv.Info(body)
		return err
	})
	return resp, err
}

// call runs one request under the deadline and turns its failure into a
// SignerError.
func (cl *SignerClient) call(f func() error) error {
	ctx, cancel := context.WithTimeout(context.Background(), cl.r.Timeout)
	defer cancel()
	cl.srv.SetReqModifier(func(req *http.Request, _ []byte) { *req = *req.WithContext(ctx) })
	cl.tlsOK, cl.tlsEr, cl.state = false, nil, nil
	cl.tun.reset()
	err := f()
	if err == nil {
		return nil
	}
	dialErr, cut := cl.tun.state()
	switch {
	case cut:
		return cl.r.fail(SignerAnswer, fmt.Sprintf("answered with more than %d KiB, where a certificate is a few KiB: certkit stopped reading", maxAnswer>>10),
			"check that --remote names a multirootca; nothing was written", nil)
	case dialErr != nil:
		msg := dialErr.Error()
		if i := strings.LastIndex(msg, ": "); i >= 0 {
			msg = msg[i+2:]
		}
		return cl.r.fail(SignerDown, "cannot be reached: "+msg, "start the signer (certkit template multirootca printed its command), or check --remote", dialErr)
	case cl.tlsEr != nil:
		var ua x509.UnknownAuthorityError
		var he x509.HostnameError
		fix := "the signer must serve the TLS certificate certkit template multirootca made from this CA"
		if errors.As(cl.tlsEr, &he) {
			fix = "name the signer in --remote as its TLS certificate does (" + strings.Join(append(he.Certificate.DNSNames, ipStrings(he.Certificate.IPAddresses)...), ", ") + ")"
		} else if errors.As(cl.tlsEr, &ua) {
			fix = "the signer's TLS certificate is from another CA; " + fix
		}
		return cl.r.fail(SignerTLS, "failed TLS verification: "+cl.tlsEr.Error(), fix, cl.tlsEr)
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return cl.r.fail(SignerTimeout, fmt.Sprintf("did not answer within %s", cl.r.Timeout),
			"check that the signer is running and not overloaded; nothing was written", ctx.Err())
	}
	var ce *cferr.Error
	if !errors.As(err, &ce) {
		return cl.r.fail(SignerDown, "failed: "+err.Error(), "", err)
	}
	var resp struct {
		Errors []struct {
			Message string `json:"message"`
		} `json:"errors"`
	}
	if json.Unmarshal([]byte(ce.Message), &resp) != nil || len(resp.Errors) == 0 {
		if ce.ErrorCode == int(cferr.APIClientError)+int(cferr.ClientHTTPError) {
			// The last part of Go's error is the cause: "connection
			// refused", "no such host", "server gave HTTP response …".
			msg := ce.Message
			if i := strings.LastIndex(msg, ": "); i >= 0 {
				msg = msg[i+2:]
			}
			if !cl.tlsOK && cl.state == nil {
				return cl.r.fail(SignerDown, "cannot be reached: "+msg, "start the signer (certkit template multirootca printed its command), or check --remote", nil)
			}
			return cl.r.fail(SignerAnswer, "did not answer as multirootca does: "+msg, "check that --remote names a multirootca", nil)
		}
		return cl.r.fail(SignerAnswer, "sent an answer certkit cannot read ("+cfsslMessage(ce)+")", "check that --remote names a multirootca", nil)
	}
	label := cl.label
	if label == "" {
		label = cl.r.Label
	}
	if label == "" {
		label = "(the signer's default, -l)"
	}
	switch m := resp.Errors[0].Message; m {
	case "invalid token":
		return cl.r.fail(SignerAuth, "refused the auth key", "the auth key file is not the one the signer's configuration names; ask the CA's admin for its auth.key", nil)
	case "bad label":
		return cl.r.fail(SignerLabel, "has no label "+label, "pass the label of the signer's multirootca.ini section with --label", nil)
	case "invalid profile":
		return cl.r.fail(SignerProfile, "has no certkit profiles under label "+label,
			"render the signer's configuration with certkit template multirootca, which defines them", nil)
	case "not authorised":
		return cl.r.fail(SignerForbidden, "does not take requests from this machine's address", "add its network to nets= in the signer's multirootca.ini", nil)
	case "authorisation required":
		return cl.r.fail(SignerProfile, "has a profile without an auth key under label "+label, "render the signer's configuration with certkit template multirootca", errClosedLabel)
	default:
		return cl.r.fail(SignerRefused, "refused to sign: "+m, "the signer's log says why", nil)
	}
}

func (r *Remote) fail(kind SignerErrorKind, msg, fix string, err error) error {
	return &SignerError{Kind: kind, URL: r.URL, Msg: msg, Fix: fix, Err: err}
}

func ipStrings(ips []net.IP) []string {
	var out []string
	for _, ip := range ips {
		out = append(out, ip.String())
	}
	return out
}

// NewAuthKey makes a new auth key for a signer: 32 random bytes, hex, as
// cfssl's standard HMAC provider reads it.
func NewAuthKey() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}
