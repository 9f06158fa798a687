package verify

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/certkit/certkit/ca"
	"github.com/certkit/certkit/install"
	"github.com/certkit/certkit/issue"
)

// badCertServer is a registry that requires client certificates from
// trusted and answers any it does not verify with "bad certificate", as Go
// before 1.22 does (Debian's docker-registry is built with Go 1.19): the
// alert does not say that the issuer is unknown. listCAs makes the
// CertificateRequest name trusted, as Go always does; without it the
// request names no CA.
func badCertServer(t *testing.T, trusted *testCA, listCAs bool) string {
	t.Helper()
	cfg := serverConfig(trusted.server(t, regName))
	cfg.ClientAuth = tls.RequireAnyClientCert
	if listCAs {
		cfg.ClientCAs = trusted.pool()
	}
	cfg.VerifyPeerCertificate = func(raw [][]byte, _ [][]*x509.Certificate) error {
		leaf, err := x509.ParseCertificate(raw[0])
		if err != nil {
			return err
		}
		_, err = leaf.Verify(x509.VerifyOptions{Roots: trusted.pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
		return err // crypto/tls sends bad_certificate for it
	}
	return startTLS(t, cfg, registryAnswer)
}

// A client pair from another CA than the one the registry trusts is
// rejected with "bad certificate" by many registries; verify says the
// registry trusts another CA, and the fix is a certificate from the
// registry's CA (or the registry told to trust this one), not clientAuth
// or validity. A pair from the right CA refused for its usage keeps the
// usage fix.
func TestProbeForeignClientCA(t *testing.T) {
	t.Parallel()
	cur := newCA(t, "certkit CA registry")
	twin := newCA(t, "certkit CA registry") // made again: same name, another key
	stranger := newCA(t, "certkit CA laptop")
	tests := []struct {
		name    string
		listCAs bool
		pair    tls.Certificate
		version uint16
		status  Status // the pair's check
		message []string
		fix     []string
		foreign bool
	}{
		{"another CA, not in the server's list", true, stranger.issue(t, leafOpts{cn: "client"}), tls.VersionTLS13, Warning,
			[]string{"rejected in the TLS handshake: bad certificate", `the registry trusts another CA: it accepts client certificates issued by "certkit CA registry", and client.cert is issued by "certkit CA laptop"`},
			nil, true},
		{"another CA, TLS 1.2", true, stranger.issue(t, leafOpts{cn: "client"}), tls.VersionTLS12, Warning,
			[]string{"bad certificate", "the registry trusts another CA"}, nil, true},
		// its name is in the list, so Docker sends it: an error
		{"a CA made again with the same name", true, twin.issue(t, leafOpts{cn: "client"}), tls.VersionTLS13, Error,
			[]string{"(the pair Docker sends): rejected in the TLS handshake: bad certificate", `client.cert is issued by a CA named "certkit CA registry", but not by the folder's CA of that name (SHA-256 ` + short(fingerprint(cur.cert)), "was the CA made again?"},
			nil, true},
		{"another CA, the server names none", false, stranger.issue(t, leafOpts{cn: "client"}), tls.VersionTLS13, Error,
			[]string{"bad certificate", `the registry most likely trusts another CA: it names none it accepts, and client.cert is issued by "certkit CA laptop", not by the folder's CA "certkit CA registry"`},
			nil, true},
		// the registry's CA, but not for clients: the usage is the cause
		{"the right CA, serverAuth only", true, cur.issue(t, leafOpts{cn: "client", server: true}), tls.VersionTLS13, Error,
			[]string{"bad certificate"}, []string{"needs extended key usage clientAuth and must be valid now"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			addr := badCertServer(t, cur, tt.listCAs)
			tg := target(t, addr, regName, []*x509.Certificate{cur.cert}, Pair{Name: "client", Cert: tt.pair})
			tg.Consumer = install.Podman
			rep := probe(t, tg, 10*time.Second)
			if !rep.Failed() {
				t.Fatalf("passed:\n%s", dump(rep))
			}
			if rep.Server == nil || rep.Server.TLSVersion == "" {
				t.Fatalf("no handshake:\n%s", dump(rep))
			}
			c := expect(t, rep, "pair:client", tt.status, "rejected-tls")
			contains(t, "message", c.Message, tt.message...)
			contains(t, "fix", c.Fix, tt.fix...)
			if tt.foreign {
				contains(t, "fix", c.Fix, "issue the client certificate from the registry's CA",
					"certkit issue client --host "+tg.Registry.String()+" --force, then certkit install --host "+tg.Registry.String()+" --target podman;",
					"or add the CA that issued client.cert", "to the registry's http.tls.clientcas")
				if strings.Contains(c.Fix, "clientAuth") {
					t.Errorf("a pair from another CA is blamed on its usage: %s", c.Fix)
				}
			} else if strings.Contains(c.Message, "another CA") {
				t.Errorf("a pair from the registry's CA is said to come from another: %s", c.Message)
			}
			if rep.Pairs[0].Alert != "bad certificate" {
				t.Errorf("alert %q, want bad certificate", rep.Pairs[0].Alert)
			}
		})
	}
}

// Debian's docker-registry (Go 1.19) answers a client certificate from a
// CA it does not trust with "bad certificate".
func TestDockerRegistryForeignClient(t *testing.T) {
	t.Parallel()
	p := newPKI(t, time.Now(), 0)
	reg, addr := p.start(t)
	dir := p.installClient(t, reg)

	// the pair of another certkit home, put in the folder in its place
	otherHome := t.TempDir()
	other, err := ca.Create(ca.Options{Home: otherHome, CN: "certkit CA laptop"})
	if err != nil {
		t.Fatal(err)
	}
	cl, err := issue.Issue(issue.Options{Home: otherHome, Registry: reg, Kind: issue.Client, CA: other.CA})
	if err != nil {
		t.Fatal(err)
	}
	d := copyFolder(t, dir)
	for from, to := range map[string]string{cl.Certs[0].CertPath: "client.cert", cl.Certs[0].KeyPath: "client.key"} {
		data, err := os.ReadFile(from)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, to), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	rep := verifyLive(reg, d, addr)
	expect(t, rep, "client-cert-request", Error, "no-acceptable-pair")
	c := expect(t, rep, "pair:client", Warning, "rejected-tls")
	contains(t, "message", c.Message, "rejected in the TLS handshake: ",
		`the registry trusts another CA: it accepts client certificates issued by `+nameOf(p.ca.Cert.Subject)+`, and client.cert is issued by "certkit CA laptop"`)
	// client.cert is certkit's, so install replaces it only with --force
	contains(t, "fix", c.Fix, "certkit issue client --host "+reg.String()+" --force, then certkit install --force --host "+reg.String()+";", "http.tls.clientcas")
	if strings.Contains(c.Fix, "clientAuth") {
		t.Errorf("a pair from another CA is blamed on its usage: %s", c.Fix)
	}
}
