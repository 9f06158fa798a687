//go:build unix

package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/certkit/certkit/ca"
	"github.com/certkit/certkit/internal/testenv"
)

// orgCA is a CA made outside certkit, as an organisation's PKI makes it.
type orgCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

// newOrgCA signs a CA certificate from tmpl under parent (nil: a root)
// and writes it and its key as PEM to dir/name.crt and dir/name.key.
func newOrgCA(t *testing.T, dir, name string, parent *orgCA, tmpl x509.Certificate) *orgCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	tmpl.SerialNumber = serial
	tmpl.Subject = pkix.Name{CommonName: name, Organization: []string{"ACME"}}
	tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
	if tmpl.KeyUsage == 0 {
		tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign
	}
	if tmpl.NotBefore.IsZero() {
		tmpl.NotBefore, tmpl.NotAfter = time.Now().Add(-time.Hour), time.Now().Add(20*365*24*time.Hour)
	}
	signer, signKey := &tmpl, key
	if parent != nil {
		signer, signKey = parent.cert, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, &tmpl, signer, &key.PublicKey, signKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	keyDER, _ := x509.MarshalPKCS8PrivateKey(key)
	writeFile(t, filepath.Join(dir, name+".crt"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	writeFile(t, filepath.Join(dir, name+".key"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600)
	return &orgCA{cert, key}
}

// TestImportRefusals: a CA under which certkit's certificates could not
// work is refused at import, with the reason, and a home is left as it
// was; what only limits it is a warning.
func TestImportRefusals(t *testing.T) {
	dir := t.TempDir()
	root := newOrgCA(t, dir, "root", nil, x509.Certificate{})
	newOrgCA(t, dir, "sub", root, x509.Certificate{MaxPathLen: 0, MaxPathLenZero: true})
	newOrgCA(t, dir, "critical", nil, x509.Certificate{ExtraExtensions: []pkix.Extension{{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 55555, 1}, Critical: true, Value: []byte{5, 0}}}})
	newOrgCA(t, dir, "codesign", nil, x509.Certificate{ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}})
	newOrgCA(t, dir, "server-only", nil, x509.Certificate{ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
	newOrgCA(t, dir, "both", nil, x509.Certificate{ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}})
	newOrgCA(t, dir, "example-org", nil, x509.Certificate{PermittedDNSDomains: []string{"example.org"}})
	newOrgCA(t, dir, "short", nil, x509.Certificate{NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(100 * 24 * time.Hour)})
	newOrgCA(t, dir, "other-root", nil, x509.Certificate{})

	imp := func(home, name string, extra ...string) (int, string) {
		args := append([]string{"--home", filepath.Join(dir, home), "init-ca", "--import-cert", filepath.Join(dir, name+".crt"), "--import-key", filepath.Join(dir, name+".key")}, extra...)
		return ck(t, args...)
	}
	for _, tc := range []struct {
		name  string
		extra []string
		want  []string
	}{
		{"sub", nil, []string{`"sub" is an intermediate CA, issued by "root", and its chain up to the root is missing`, "hint: pass the CA certificates above it, the root included, as one PEM file: --import-chain chain.pem"}},
		{"sub", []string{"--import-chain", filepath.Join(dir, "other-root.crt")}, []string{`"sub" does not chain to "other-root" through --import-chain`}},
		{"sub", []string{"--import-chain", filepath.Join(dir, "sub.crt")}, []string{`--import-chain has no root (a self-signed CA certificate) above "sub"`}},
		{"root", []string{"--import-chain", filepath.Join(dir, "root.crt")}, []string{`"root" is a root CA (it signed itself): it has no chain`, "hint: drop --import-chain"}},
		{"critical", nil, []string{`"critical" has critical extensions no TLS client knows (1.3.6.1.4.1.55555.1)`}},
		{"codesign", nil, []string{`"codesign" limits what its certificates may be used for (extended key usage), and serverAuth and clientAuth is not among it`}},
		{"server-only", nil, []string{"and clientAuth is not among it"}},
	} {
		code, stderr := imp("h-"+tc.name, tc.name, tc.extra...)
		if code != 2 {
			t.Errorf("import %s %v: exit %d, want 2\n%s", tc.name, tc.extra, code, stderr)
		}
		for _, w := range tc.want {
			if !strings.Contains(stderr, w) {
				t.Errorf("import %s %v says:\n%s\nwant %q", tc.name, tc.extra, stderr, w)
			}
		}
		if _, err := os.Stat(filepath.Join(dir, "h-"+tc.name, "ca", "ca.key")); err == nil {
			t.Errorf("import %s %v left a CA key behind", tc.name, tc.extra)
		}
	}

	// Usable, with warnings: an EKU that names both, name constraints, an
	// expiry before the leaves'.
	if code, stderr := imp("h-both", "both"); code != 0 || strings.Contains(stderr, "warning") {
		t.Errorf("import of a CA limited to serverAuth and clientAuth: exit %d\n%s", code, stderr)
	}
	code, stderr := imp("h-org", "example-org")
	if code != 0 || !strings.Contains(stderr, `warning: "example-org" has name constraints: only example.org; a registry outside them gets certificates its clients refuse`) {
		t.Errorf("import with name constraints: exit %d\n%s", code, stderr)
	}
	code, stderr = imp("h-short", "short")
	if code != 0 || !strings.Contains(stderr, `warning: "short" expires on `) || !strings.Contains(stderr, "sooner than certkit's certificates would (825 days)") {
		t.Errorf("import of a CA that expires in 100 days: exit %d\n%s", code, stderr)
	}
	// A home with a registry the constraints exclude: refused.
	h := filepath.Join(dir, "h-excluded")
	if code, stderr := ck(t, "--home", h, "init-ca"); code != 0 {
		t.Fatal(stderr)
	}
	if code, stderr := ck(t, "--home", h, "issue", "client", "--host", "reg.example.com:5000"); code != 0 {
		t.Fatal(stderr)
	}
	code, stderr = imp("h-excluded", "example-org", "--force")
	if code != 2 || !strings.Contains(stderr, `"example-org" has name constraints that exclude reg.example.com, a registry of this certkit home`) {
		t.Errorf("import over a home with an excluded registry: exit %d\n%s", code, stderr)
	}
}

// TestImportedIntermediate: an intermediate CA of an organisation's PKI,
// imported with its chain: its clients are accepted by nginx and Apache
// from certkit's templates and by docker-registry, and refused when their
// certificate comes from another CA under the same root.
func TestImportedIntermediate(t *testing.T) {
	curl := testenv.NeedTool(t, "curl")
	registry := testenv.NeedTool(t, "docker-registry")
	dir := t.TempDir()
	root := newOrgCA(t, dir, "ACME Root", nil, x509.Certificate{})
	policy := newOrgCA(t, dir, "ACME Policy CA", root, x509.Certificate{MaxPathLen: 1})
	newOrgCA(t, dir, "ACME Registry CA", policy, x509.Certificate{MaxPathLen: 0, MaxPathLenZero: true})
	newOrgCA(t, dir, "ACME VPN CA", policy, x509.Certificate{MaxPathLen: 0, MaxPathLenZero: true})
	chain := append(readFile(t, filepath.Join(dir, "ACME Policy CA.crt")), readFile(t, filepath.Join(dir, "ACME Root.crt"))...)
	writeFile(t, filepath.Join(dir, "chain.pem"), chain, 0o644)

	for _, server := range []string{"registry", "nginx", "apache"} {
		t.Run(server, func(t *testing.T) {
			switch server {
			case "nginx":
				testenv.NeedTool(t, "nginx")
			case "apache":
				testenv.NeedTool(t, "apache2")
			}
			port := testenv.FreePortPair(t)
			reg := "localhost:" + strconv.Itoa(port)
			work := t.TempDir()
			h := filepath.Join(work, "home")
			out := must(t, h, "init-ca", "--import-cert", filepath.Join(dir, "ACME Registry CA.crt"), "--import-key", filepath.Join(dir, "ACME Registry CA.key"),
				"--import-chain", filepath.Join(dir, "chain.pem"))
			if !strings.Contains(out, `(up to the root "ACME Root", which the certs.d folders trust)`) {
				t.Errorf("init-ca --import-chain says:\n%s", out)
			}
			must(t, h, "issue", "server", "--host", reg)
			must(t, h, "issue", "client", "--host", reg, "--name", "alice")
			// A VPN client of the same organisation, from a sibling CA.
			vpn := filepath.Join(work, "vpn")
			must(t, vpn, "init-ca", "--import-cert", filepath.Join(dir, "ACME VPN CA.crt"), "--import-key", filepath.Join(dir, "ACME VPN CA.key"),
				"--import-chain", filepath.Join(dir, "chain.pem"))
			must(t, vpn, "issue", "client", "--host", reg, "--name", "mallory")
			certs := filepath.Join(work, "certs.d")
			must(t, h, "install", "--host", reg, "--certs-dir", certs)
			if got, want := string(readFile(t, filepath.Join(certs, reg, "ca.crt"))), string(readFile(t, filepath.Join(dir, "ACME Root.crt"))); got != want {
				t.Errorf("certs.d ca.crt is not the root:\n%s", got)
			}
			// status and verify read such a home and folder as they are.
			if code, stderr := ck(t, "--home", h, "status", "--certs-dir", certs); code != 0 {
				t.Errorf("status: exit %d\n%s", code, stderr)
			}
			if code, stderr := ck(t, "--home", h, "verify", "--offline", "--host", reg, "--certs-dir", certs); code != 0 {
				t.Errorf("verify --offline: exit %d\n%s", code, stderr)
			}

			listen := "127.0.0.1:" + strconv.Itoa(port)
			if server == "registry" {
				cfg := filepath.Join(work, "config.yml")
				must(t, h, "template", "registry", "--host", reg, "--storage", filepath.Join(work, "storage"), "--out", cfg)
				testenv.StartProcess(t, testenv.Program{Path: registry, Args: []string{"serve", cfg}, Listen: listen})
				// verify follows the chain: the server's through the
				// imported CA to the root, the client's likewise.
				code, stderr := ck(t, "--home", h, "verify", "--host", reg, "--certs-dir", certs, "--addr", listen)
				if code != 0 || !strings.Contains(stderr, "accepted (GET /v2/ answered 200 OK)") {
					t.Errorf("verify against the registry: exit %d\n%s", code, stderr)
				}
			} else {
				cfg, conf := filepath.Join(work, "config.yml"), filepath.Join(work, "proxy.conf")
				must(t, h, "template", "registry", "--host", reg, "--behind-proxy", "--storage", filepath.Join(work, "storage"), "--out", cfg)
				must(t, h, "template", server, "--host", reg, "--out", conf)
				testenv.StartProcess(t, testenv.Program{Path: registry, Args: []string{"serve", cfg}, Listen: "127.0.0.1:" + strconv.Itoa(port+1)})
				if server == "nginx" {
					testenv.StartNginx(t, string(readFile(t, conf)), listen)
				} else {
					testenv.StartApache(t, string(readFile(t, conf)), listen)
				}
			}
			get := func(home, name string) string {
				t.Helper()
				plain := filepath.Join(work, "plain-"+name) // curl reads a colon in --cert as a password
				if err := os.MkdirAll(plain, 0o700); err != nil {
					t.Fatal(err)
				}
				testenv.CopyFile(t, filepath.Join(home, "hosts", reg, name+".cert"), filepath.Join(plain, "c.cert"), 0o600)
				testenv.CopyFile(t, filepath.Join(home, "hosts", reg, name+".key"), filepath.Join(plain, "c.key"), 0o600)
				out, err := exec.Command(curl, "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "10",
					"--cacert", filepath.Join(dir, "ACME Root.crt"), "--cert", filepath.Join(plain, "c.cert"), "--key", filepath.Join(plain, "c.key"),
					"https://"+reg+"/v2/").Output()
				if ee, ok := err.(*exec.ExitError); ok && string(out) != "200" {
					t.Logf("curl as %s: %s", name, ee.Stderr)
				}
				return string(out)
			}
			if got := get(h, "alice"); got != "200" {
				t.Errorf("%s with a client of the imported CA: %q, want 200", server, got)
			}
			if got := get(vpn, "mallory"); got == "200" {
				t.Errorf("%s with a client of a sibling CA under the same root: %q, want it refused", server, got)
			}
		})
	}
}

// TestRotateToImportedCA: rotate-ca --import-cert takes an existing CA as
// the new one, checked as init-ca checks an import: a per-registry home
// takes only a CA that may sign issuing CAs; a home with one CA for every
// registry takes an intermediate CA with its chain, whose root the certs.d
// folders then trust.
func TestRotateToImportedCA(t *testing.T) {
	dir := t.TempDir()
	root := newOrgCA(t, dir, "ACME Root", nil, x509.Certificate{})
	newOrgCA(t, dir, "ACME Registry CA", root, x509.Certificate{MaxPathLen: 0, MaxPathLenZero: true})
	newOrgCA(t, dir, "ACME Wide CA", root, x509.Certificate{MaxPathLen: 1})
	run := func(h string, want int, args ...string) string {
		t.Helper()
		code, stderr := ck(t, append([]string{"--home", h}, args...)...)
		if code != want {
			t.Fatalf("certkit %s: exit %d, want %d\n%s", strings.Join(args, " "), code, want, stderr)
		}
		return stderr
	}
	imp := func(name string) []string {
		return []string{"rotate-ca", "--import-cert", filepath.Join(dir, name+".crt"), "--import-key", filepath.Join(dir, name+".key"), "--import-chain", filepath.Join(dir, "ACME Root.crt")}
	}
	reg := "reg.example.com:5000"

	// A per-registry home: a CA of path length 0 is refused, one of path
	// length 1 becomes the new root of the registries' issuing CAs.
	h := filepath.Join(dir, "per")
	run(h, 0, "init-ca")
	run(h, 0, "issue", "client", "--host", reg)
	if out := run(h, 2, imp("ACME Registry CA")...); !strings.Contains(out, `"ACME Registry CA" may not sign issuing CAs`) {
		t.Errorf("rotate-ca to a CA of path length 0 in a per-registry home says:\n%s", out)
	}
	run(h, 0, imp("ACME Wide CA")...)
	run(h, 0, "renew")
	run(h, 0, "rotate-ca", "--finish")
	certs := filepath.Join(dir, "certs.d")
	run(h, 0, "install", "--host", reg, "--certs-dir", certs)
	if got := string(readFile(t, filepath.Join(certs, reg, "ca.crt"))); got != string(readFile(t, filepath.Join(dir, "ACME Root.crt"))) {
		t.Errorf("certs.d ca.crt after the rotation is not the imported CA's root:\n%s", got)
	}
	chain, _ := ca.ParseCerts(readFile(t, filepath.Join(h, "hosts", reg, "client.cert")))
	if len(chain) != 3 || chain[1].Subject.CommonName != "certkit issuing CA for "+reg || chain[2].Subject.CommonName != "ACME Wide CA" {
		t.Errorf("the renewed client certificate's chain: %d certificates", len(chain))
	}
	run(h, 0, "verify", "--offline", "--host", reg, "--certs-dir", certs)

	// One CA for every registry: an intermediate of path length 0, with
	// its chain.
	s := filepath.Join(dir, "shared")
	run(s, 0, "init-ca", "--per-registry=false")
	run(s, 0, "issue", "client", "--host", reg)
	run(s, 0, imp("ACME Registry CA")...)
	if _, err := os.Stat(filepath.Join(s, "ca", "chain.crt")); err != nil {
		t.Errorf("no chain.crt after rotating to an intermediate CA: %v", err)
	}
	run(s, 0, "renew")
	run(s, 0, "rotate-ca", "--finish")
	run(s, 0, "install", "--host", reg, "--certs-dir", filepath.Join(dir, "certs2.d"))
	run(s, 0, "verify", "--offline", "--host", reg, "--certs-dir", filepath.Join(dir, "certs2.d"))
}
