package issue

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudflare/cfssl/csr"

	"github.com/certkit/certkit/ca"
	"github.com/certkit/certkit/host"
	"github.com/certkit/certkit/internal/atomicfile"
	"github.com/certkit/certkit/internal/certtest"
	"github.com/certkit/certkit/internal/errs"
	"github.com/certkit/certkit/internal/home"
)

var clock = time.Date(2026, 11, 29, 6, 0, 0, 0, time.UTC)

func fixedNow() time.Time { return clock }

// testCA makes a CA of type kt in a new home, valid for validity from clock.
func testCA(t testing.TB, kt ca.KeyType, validity time.Duration) (string, *ca.CA) {
	t.Helper()
	h := t.TempDir()
	res, err := ca.Create(ca.Options{Home: h, KeyType: kt, Validity: validity, Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	return h, res.CA
}

var (
	p256Once sync.Once
	p256Home string
	p256CA   *ca.CA
)

// sharedCA is one P-256 CA for the tests that only read it.
func sharedCA(t *testing.T) *ca.CA {
	p256Once.Do(func() {
		h, err := os.MkdirTemp("", "certkit-issue-ca")
		if err != nil {
			t.Fatal(err)
		}
		res, err := ca.Create(ca.Options{Home: h, Now: fixedNow})
		if err != nil {
			t.Fatal(err)
		}
		p256Home, p256CA = h, res.CA
	})
	if p256CA == nil {
		t.Fatal("no shared CA")
	}
	return p256CA
}

func mustParse(t testing.TB, s string) host.Registry {
	t.Helper()
	r, err := host.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func readCert(t testing.TB, path string) *x509.Certificate {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	certs, err := ca.ParseCerts(data)
	if err != nil {
		t.Fatal(err)
	}
	return certs[0]
}

func mode(t testing.TB, path string) fs.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

// TestServerSANsEveryHostForm issues a server certificate for every form of
// registry name and checks the names in the signed certificate, and the
// folder it lands in.
func TestServerSANsEveryHostForm(t *testing.T) {
	c := sharedCA(t)
	tests := []struct {
		host   string
		extra  []string
		folder string
		cn     string
		sans   []string // as certtest.SANs lists them: sorted
	}{
		{host: "reg.example.com", folder: "reg.example.com", cn: "reg.example.com", sans: []string{"reg.example.com"}},
		{host: "reg.example.com:5000", folder: "reg.example.com:5000", cn: "reg.example.com", sans: []string{"reg.example.com"}},
		{host: "reg:443", folder: "reg:443", cn: "reg", sans: []string{"reg"}},
		// The folder keeps the case typed; names in the certificate are lowercase.
		{host: "Reg.Example.COM:5000", folder: "Reg.Example.COM:5000", cn: "reg.example.com", sans: []string{"reg.example.com"}},
		{host: "10.0.0.5:5000", folder: "10.0.0.5:5000", cn: "10.0.0.5", sans: []string{"10.0.0.5"}},
		{host: "10.0.0.5", folder: "10.0.0.5", cn: "10.0.0.5", sans: []string{"10.0.0.5"}},
		{host: "[fd00::1]:5000", folder: "[fd00::1]:5000", cn: "fd00::1", sans: []string{"fd00::1"}},
		{host: "[fd00::1]", folder: "[fd00::1]", cn: "fd00::1", sans: []string{"fd00::1"}},
		{host: "localhost", folder: "localhost", cn: "localhost", sans: []string{"127.0.0.1", "::1", "localhost"}},
		{host: "localhost:5000", folder: "localhost:5000", cn: "localhost", sans: []string{"127.0.0.1", "::1", "localhost"}},
		{host: "127.0.0.1:5000", folder: "127.0.0.1:5000", cn: "127.0.0.1", sans: []string{"127.0.0.1"}},
		{host: "[::1]:5000", folder: "[::1]:5000", cn: "::1", sans: []string{"::1"}},
		{host: "bücher.example:5000", folder: "xn--bcher-kva.example:5000", cn: "xn--bcher-kva.example", sans: []string{"xn--bcher-kva.example"}},
		// --san adds names; duplicates of derived names vanish.
		{host: "reg.example.com:5000", extra: []string{"reg", "10.0.0.5", "REG.example.com", "*.reg.example.com", "[fd00::2]"},
			folder: "reg.example.com:5000", cn: "reg.example.com",
			sans: []string{"*.reg.example.com", "10.0.0.5", "fd00::2", "reg", "reg.example.com"}},
		{host: "localhost:5000", extra: []string{"127.0.0.1", "registry.internal"}, folder: "localhost:5000", cn: "localhost",
			sans: []string{"127.0.0.1", "::1", "localhost", "registry.internal"}},
		// A name too long for a Common Name gets none; the SAN is enough.
		{host: strings.Repeat("a", 60) + ".example.com", folder: strings.Repeat("a", 60) + ".example.com", cn: "",
			sans: []string{strings.Repeat("a", 60) + ".example.com"}},
	}
	for _, tt := range tests {
		t.Run(tt.host+strings.Join(tt.extra, ","), func(t *testing.T) {
			h := t.TempDir()
			var extra []SAN
			for _, s := range tt.extra {
				san, err := ParseSAN(s)
				if err != nil {
					t.Fatal(err)
				}
				extra = append(extra, san)
			}
			res, err := Issue(Options{Home: h, Registry: mustParse(t, tt.host), Kind: Server, SANs: extra, CA: c, Now: fixedNow})
			if err != nil {
				t.Fatal(err)
			}
			dir := filepath.Join(h, "hosts", tt.folder)
			if res.Dir != dir {
				t.Errorf("Dir = %s, want %s", res.Dir, dir)
			}
			cert := readCert(t, filepath.Join(dir, "server.crt"))
			if got := certtest.SANs(cert); !slices.Equal(got, tt.sans) {
				t.Errorf("SANs = %v, want %v", got, tt.sans)
			}
			if cert.Subject.CommonName != tt.cn {
				t.Errorf("CN = %q, want %q", cert.Subject.CommonName, tt.cn)
			}
			var listed []string
			for _, s := range res.SANs {
				listed = append(listed, s.String())
			}
			slices.Sort(listed)
			if !slices.Equal(listed, tt.sans) {
				t.Errorf("Result.SANs = %v, want %v", listed, tt.sans)
			}
			if problems, err := certtest.Lint(cert.Raw); err != nil || len(problems) > 0 {
				t.Errorf("zlint: %v %v", problems, err)
			}
		})
	}
}

func TestParseSAN(t *testing.T) {
	good := []struct{ in, want string }{
		{"reg.example.com", "reg.example.com"},
		{"REG.Example.com", "reg.example.com"},
		{"reg", "reg"},
		{"10.0.0.5", "10.0.0.5"},
		{"fd00::1", "fd00::1"},
		{"[fd00::1]", "fd00::1"},
		{"::ffff:10.0.0.5", "10.0.0.5"},
		{"*.reg.example.com", "*.reg.example.com"},
		{"bücher.example", "xn--bcher-kva.example"},
	}
	for _, tt := range good {
		s, err := ParseSAN(tt.in)
		if err != nil {
			t.Errorf("ParseSAN(%q): %v", tt.in, err)
			continue
		}
		if s.String() != tt.want {
			t.Errorf("ParseSAN(%q) = %s, want %s", tt.in, s, tt.want)
		}
	}
	bad := []struct{ in, reason, fix string }{
		{"reg:5000", "not ports", "drop the port: --san reg"},
		{"[fd00::1]:5000", "not ports", "drop the port: --san fd00::1"},
		{"https://reg.example.com", "URL scheme", "drop the scheme: --san reg.example.com"},
		{"https://reg.example.com:5000/v2", "URL scheme", "drop the scheme, then drop the path, then drop the port: --san reg.example.com"},
		{"*.10.0.0.5", "wildcard cannot stand before an IP", "drop the *."},
		{"*.com", "at least two labels", "*.example.com"},
		{"*", "not allowed", ""},
		{"a.*.example.com", "not allowed", ""},
		{"0.0.0.0", "unspecified", ""},
		{"::", "unspecified", ""},
		{"fe80::1%eth0", "zone", "drop the zone: --san fe80::1"},
		{"", "empty", ""},
		{"reg..example.com", "empty label", "--san reg.example.com"},
		{"reg example", "whitespace", ""},
		{"-reg.example.com", "hyphen", ""},
	}
	for _, tt := range bad {
		_, err := ParseSAN(tt.in)
		var se *SANError
		if !errors.As(err, &se) {
			t.Errorf("ParseSAN(%q) = %v, want a *SANError", tt.in, err)
			continue
		}
		if !strings.Contains(err.Error(), tt.reason) {
			t.Errorf("ParseSAN(%q) error %q lacks %q", tt.in, err, tt.reason)
		}
		if !strings.Contains(se.Hint(), tt.fix) {
			t.Errorf("ParseSAN(%q) hint %q lacks %q", tt.in, se.Hint(), tt.fix)
		}
		if !errs.IsInput(err) {
			t.Errorf("ParseSAN(%q) error is not an input error", tt.in)
		}
	}
}

func TestValidateName(t *testing.T) {
	for _, n := range []string{"client", "ci-runner-1", "laptop.alice", "A_B", "x", strings.Repeat("n", 64), "server2", "cabinet", "console"} {
		if err := ValidateName(n); err != nil {
			t.Errorf("ValidateName(%q) = %v", n, err)
		}
	}
	bad := []struct{ in, reason string }{
		{"", "empty"},
		{".hidden", "starts with a dot"},
		{"..", "starts with a dot"},
		{"a/b", "slash"},
		{"../etc", "starts with a dot"},
		{`a\b`, "slash"},
		{"a b", `contains ' '`},
		{"a\x00b", `contains '\x00'`},
		{"-x", "starts with"},
		{"_x", "starts with"},
		{"é", "starts with 'é'"},
		{"\x1bx", `starts with '\x1b'`},
		{"server", "reserved"},
		{"SERVER", "reserved"},
		{"ca", "reserved"},
		{"Ca", "reserved"},
		{"server-chain", "reserved"},
		{"nul", "device name"},
		{"COM1.x", "device name"},
		{"runner.cert", "drop the extension"},
		{"runner.KEY", "drop the extension"},
		{"runner.crt", "drop the extension"},
		{strings.Repeat("n", 65), "at most 64"},
		{"café", "non-ASCII"},
		{"a\xffb", "UTF-8"},
	}
	for _, tt := range bad {
		err := ValidateName(tt.in)
		if err == nil {
			t.Errorf("ValidateName(%q) = nil, want an error", tt.in)
			continue
		}
		msg := err.Error() + " " + errs.HintOf(err)
		if !strings.Contains(msg, tt.reason) {
			t.Errorf("ValidateName(%q) = %q, want it to mention %q", tt.in, msg, tt.reason)
		}
		if !errs.IsInput(err) {
			t.Errorf("ValidateName(%q) is not an input error", tt.in)
		}
	}
}

func TestParseNames(t *testing.T) {
	names, err := ParseNames([]byte("\uFEFF# CI runners\nrunner1\n  runner2  \r\n\n\t# more\nrunner3"))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"runner1", "runner2", "runner3"}; !slices.Equal(names, want) {
		t.Errorf("names = %q, want %q", names, want)
	}
	bad := []struct{ in, msg string }{
		{"ok\nbad/name\n", `line 2: client name "bad/name" contains a slash`},
		{"a\nb\nA\n", `line 3: client name "A" repeats line 1`},
		{"a\n\nserver\n", `line 3: client name "server" is reserved`},
	}
	for _, tt := range bad {
		_, err := ParseNames([]byte(tt.in))
		if err == nil || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("ParseNames(%q) = %v, want %q", tt.in, err, tt.msg)
		}
		if !errs.IsInput(err) {
			t.Errorf("ParseNames(%q) is not an input error", tt.in)
		}
	}
	if names, err := ParseNames([]byte("# none\n\n")); err != nil || len(names) != 0 {
		t.Errorf("comments only: %q, %v", names, err)
	}
}

// TestLintEveryKeyType issues both kinds with every key type and checks
// zlint (RFC 5280, 5480, 8813) and the usages.
func TestLintEveryKeyType(t *testing.T) {
	c := sharedCA(t)
	for _, kt := range ca.KeyTypes {
		for _, kind := range []Kind{Server, Client} {
			t.Run(string(kt)+"/"+string(kind), func(t *testing.T) {
				if testing.Short() && (kt == ca.RSA3072 || kt == ca.RSA4096) {
					t.Skip("slow RSA key generation; run without -short")
				}
				t.Parallel()
				h := t.TempDir()
				res, err := Issue(Options{Home: h, Registry: mustParse(t, "reg.example.com:5000"), Kind: kind, KeyType: kt, CA: c, Now: fixedNow, Org: "ACME"})
				if err != nil {
					t.Fatal(err)
				}
				cert := readCert(t, res.Certs[0].CertPath)
				checkLeaf(t, cert, c, kind, kt)
				key, err := os.ReadFile(res.Certs[0].KeyPath)
				if err != nil {
					t.Fatal(err)
				}
				priv, err := ca.ParseKey(key)
				if err != nil {
					t.Fatal(err)
				}
				if !ca.KeyMatches(cert.PublicKey, priv) {
					t.Error("the key file does not belong to the certificate")
				}
			})
		}
	}
}

// TestLintEveryCAKeyType signs with CAs of other key types.
func TestLintEveryCAKeyType(t *testing.T) {
	for _, caType := range []ca.KeyType{ca.ECDSAP384, ca.RSA2048, ca.Ed25519} {
		t.Run(string(caType), func(t *testing.T) {
			h, c := testCA(t, caType, 0)
			for _, kind := range []Kind{Server, Client} {
				res, err := Issue(Options{Home: h, Registry: mustParse(t, "10.0.0.5:5000"), Kind: kind, Now: fixedNow})
				if err != nil {
					t.Fatal(err)
				}
				checkLeaf(t, readCert(t, res.Certs[0].CertPath), c, kind, ca.ECDSAP256)
			}
		})
	}
}

func checkLeaf(t *testing.T, cert *x509.Certificate, c *ca.CA, kind Kind, kt ca.KeyType) {
	t.Helper()
	if problems, err := certtest.Lint(cert.Raw); err != nil || len(problems) > 0 {
		t.Errorf("zlint: %v %v", problems, err)
	}
	if err := cert.CheckSignatureFrom(c.Cert); err != nil {
		t.Errorf("not signed by the CA: %v", err)
	}
	if got := ca.KeyTypeOf(cert.PublicKey); got != kt {
		t.Errorf("key type %s, want %s", got, kt)
	}
	wantKU := x509.KeyUsageDigitalSignature
	wantEKU := x509.ExtKeyUsageClientAuth
	if kind == Server {
		wantEKU = x509.ExtKeyUsageServerAuth
		if strings.HasPrefix(string(kt), "rsa-") {
			wantKU |= x509.KeyUsageKeyEncipherment
		}
	}
	if cert.KeyUsage != wantKU {
		t.Errorf("key usage %v, want %v", certtest.KeyUsageNames(cert.KeyUsage), certtest.KeyUsageNames(wantKU))
	}
	if !slices.Equal(cert.ExtKeyUsage, []x509.ExtKeyUsage{wantEKU}) {
		t.Errorf("extended key usage %v, want only %v", certtest.ExtKeyUsageNames(cert.ExtKeyUsage), wantEKU)
	}
	if cert.IsCA {
		t.Error("a leaf is marked CA:TRUE")
	}
	if cert.SerialNumber.BitLen() < 64 {
		t.Errorf("serial has %d bits", cert.SerialNumber.BitLen())
	}
	if !cert.NotBefore.Equal(clock.Add(-ca.Backdate)) {
		t.Errorf("NotBefore %s, want %s", cert.NotBefore, clock.Add(-ca.Backdate))
	}
	if want := clock.Add(DefaultValidity); !cert.NotAfter.Equal(want) {
		t.Errorf("NotAfter %s, want %s", cert.NotAfter, want)
	}
	// Go's verifier agrees on the purpose, as Docker and the registry will.
	pool := x509.NewCertPool()
	pool.AddCert(c.Cert)
	_, err := cert.Verify(x509.VerifyOptions{Roots: pool, CurrentTime: clock, KeyUsages: []x509.ExtKeyUsage{wantEKU}})
	if err != nil {
		t.Errorf("verify for %v: %v", wantEKU, err)
	}
	other := map[x509.ExtKeyUsage]x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth: x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageServerAuth: x509.ExtKeyUsageClientAuth}[wantEKU]
	if _, err := cert.Verify(x509.VerifyOptions{Roots: pool, CurrentTime: clock, KeyUsages: []x509.ExtKeyUsage{other}}); err == nil {
		t.Errorf("a %s certificate verifies for %v too", kind, other)
	}
}

func TestServerFiles(t *testing.T) {
	c := sharedCA(t)
	h := t.TempDir()
	res, err := Issue(Options{Home: h, Registry: mustParse(t, "reg.example.com:5000"), Kind: Server, CA: c, Now: fixedNow, CN: "My registry"})
	if err != nil {
		t.Fatal(err)
	}
	got := res.Certs[0]
	dir := filepath.Join(h, "hosts", "reg.example.com:5000")
	want := Cert{Name: "server", CN: "My registry", CertPath: filepath.Join(dir, "server.crt"), KeyPath: filepath.Join(dir, "server.key"), ChainPath: filepath.Join(dir, "server-chain.crt"), SHA256: got.SHA256}
	if got != want {
		t.Errorf("cert = %+v\nwant %+v", got, want)
	}
	for p, m := range map[string]fs.FileMode{got.CertPath: 0o644, got.KeyPath: 0o600, got.ChainPath: 0o644, dir: 0o700, filepath.Join(h, "hosts"): 0o700} {
		if mm := mode(t, p); mm != m {
			t.Errorf("%s has mode %o, want %o", p, mm, m)
		}
	}
	leaf, _ := os.ReadFile(got.CertPath)
	chain, _ := os.ReadFile(got.ChainPath)
	if want := append(append([]byte{}, leaf...), ca.EncodeCert(c.Cert)...); !bytes.Equal(chain, want) {
		t.Errorf("server-chain.crt is not the leaf followed by the CA")
	}
	cert := readCert(t, got.CertPath)
	if got.SHA256 != ca.Fingerprint(cert) {
		t.Errorf("SHA256 %s, want %s", got.SHA256, ca.Fingerprint(cert))
	}
	if cert.Subject.CommonName != "My registry" {
		t.Errorf("CN %q", cert.Subject.CommonName)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 3 {
		t.Errorf("folder holds %d entries, want 3 (temporary files left?)", len(entries))
	}
}

func TestClientSubject(t *testing.T) {
	c := sharedCA(t)
	tests := []struct {
		names    []string
		cn, org  string
		wantCN   []string
		wantOrg  []string
		wantFile []string
	}{
		{names: nil, wantCN: []string{"client"}, wantFile: []string{"client"}},
		{names: []string{"laptop"}, org: "ACME dev", wantCN: []string{"laptop"}, wantOrg: []string{"ACME dev"}, wantFile: []string{"laptop"}},
		{names: []string{"laptop"}, cn: "alice@acme", wantCN: []string{"alice@acme"}, wantFile: []string{"laptop"}},
		{names: []string{"r1", "r2", "r3"}, wantCN: []string{"r1", "r2", "r3"}, wantFile: []string{"r1", "r2", "r3"}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.names, ","), func(t *testing.T) {
			h := t.TempDir()
			res, err := Issue(Options{Home: h, Registry: mustParse(t, "reg:5000"), Kind: Client, Names: tt.names, CN: tt.cn, Org: tt.org, CA: c, Now: fixedNow})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Certs) != len(tt.wantFile) {
				t.Fatalf("%d certificates, want %d", len(res.Certs), len(tt.wantFile))
			}
			for i, ct := range res.Certs {
				if ct.CertPath != filepath.Join(h, "hosts", "reg:5000", tt.wantFile[i]+".cert") || ct.KeyPath != filepath.Join(h, "hosts", "reg:5000", tt.wantFile[i]+".key") || ct.ChainPath != "" {
					t.Errorf("paths %+v", ct)
				}
				cert := readCert(t, ct.CertPath)
				if cert.Subject.CommonName != tt.wantCN[i] || ct.CN != tt.wantCN[i] {
					t.Errorf("CN %q (reported %q), want %q", cert.Subject.CommonName, ct.CN, tt.wantCN[i])
				}
				if !slices.Equal(cert.Subject.Organization, tt.wantOrg) {
					t.Errorf("O %q, want %q", cert.Subject.Organization, tt.wantOrg)
				}
				if len(cert.DNSNames)+len(cert.IPAddresses) != 0 {
					t.Errorf("a client certificate carries SANs %v", certtest.SANs(cert))
				}
				if mode(t, ct.KeyPath) != 0o600 || mode(t, ct.CertPath) != 0o644 {
					t.Errorf("modes %o %o", mode(t, ct.KeyPath), mode(t, ct.CertPath))
				}
			}
		})
	}
}

// TestBadInputWritesNothing: every refused request is an input error and
// leaves no file and no folder behind.
func TestBadInputWritesNothing(t *testing.T) {
	c := sharedCA(t)
	reg := mustParse(t, "reg:5000")
	tests := []struct {
		name string
		opt  Options
		msg  string
	}{
		{"no registry", Options{Kind: Client}, "no registry"},
		{"bad name in a batch", Options{Registry: reg, Kind: Client, Names: []string{"a", "b", "c/d"}}, "contains a slash"},
		{"duplicate", Options{Registry: reg, Kind: Client, Names: []string{"a", "b", "a"}}, "given twice"},
		{"case duplicate", Options{Registry: reg, Kind: Client, Names: []string{"Runner", "runner"}}, "differ only in case"},
		{"cn with several", Options{Registry: reg, Kind: Client, Names: []string{"a", "b"}, CN: "x"}, "--cn names one certificate"},
		{"client san", Options{Registry: reg, Kind: Client, SANs: []SAN{{DNS: "x"}}}, "no --san"},
		{"server names", Options{Registry: reg, Kind: Server, Names: []string{"a"}}, "no client names"},
		{"long cn", Options{Registry: reg, Kind: Server, CN: strings.Repeat("x", 65)}, "RFC 5280 allows 64"},
		{"control in org", Options{Registry: reg, Kind: Client, Org: "a\nb"}, "control character"},
		{"rsa-1024", Options{Registry: reg, Kind: Client, KeyType: "rsa-1024"}, "refused"},
		{"negative validity", Options{Registry: reg, Kind: Client, Validity: -time.Hour}, "positive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := t.TempDir()
			tt.opt.Home, tt.opt.CA, tt.opt.Now = h, c, fixedNow
			_, err := Issue(tt.opt)
			if err == nil || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("err = %v, want %q", err, tt.msg)
			}
			if !errs.IsInput(err) {
				t.Errorf("%v is not an input error", err)
			}
			if entries, _ := os.ReadDir(h); len(entries) != 0 {
				t.Errorf("the home holds %v", entries)
			}
		})
	}
}

func TestMissingCA(t *testing.T) {
	h := t.TempDir()
	_, err := Issue(Options{Home: h, Registry: mustParse(t, "reg:5000"), Kind: Client})
	var nf *ca.NotFoundError
	if !errors.As(err, &nf) {
		t.Fatalf("err = %v, want *ca.NotFoundError", err)
	}
	if !strings.Contains(errs.HintOf(err), "certkit init-ca") {
		t.Errorf("hint %q does not name certkit init-ca", errs.HintOf(err))
	}
	if atomicfile.Exists(filepath.Join(h, "hosts")) {
		t.Error("hosts folder made without a CA")
	}
}

// TestExistingRefusedBeforeWork: one existing file in a batch refuses the
// whole batch, before any key is made, and names the file.
func TestExistingRefusedBeforeWork(t *testing.T) {
	c := sharedCA(t)
	h := t.TempDir()
	reg := mustParse(t, "reg:5000")
	if _, err := Issue(Options{Home: h, Registry: reg, Kind: Client, Names: []string{"r2"}, CA: c, Now: fixedNow}); err != nil {
		t.Fatal(err)
	}
	before := readCert(t, filepath.Join(h, "hosts", "reg:5000", "r2.cert"))
	_, err := Issue(Options{Home: h, Registry: reg, Kind: Client, Names: []string{"r1", "r2", "r3"}, CA: c, Now: fixedNow})
	var ee *atomicfile.ExistsError
	if !errors.As(err, &ee) {
		t.Fatalf("err = %v, want *atomicfile.ExistsError", err)
	}
	want := []string{filepath.Join(h, "hosts", "reg:5000", "r2.cert"), filepath.Join(h, "hosts", "reg:5000", "r2.key")}
	if !slices.Equal(ee.Paths, want) {
		t.Errorf("paths %v, want %v", ee.Paths, want)
	}
	for _, n := range []string{"r1.cert", "r1.key", "r3.cert", "r3.key"} {
		if atomicfile.Exists(filepath.Join(h, "hosts", "reg:5000", n)) {
			t.Errorf("%s written although the batch was refused", n)
		}
	}
	if after := readCert(t, filepath.Join(h, "hosts", "reg:5000", "r2.cert")); !after.Equal(before) {
		t.Error("r2.cert changed")
	}

	// Forced, the batch goes through and the old pair is kept.
	later := clock.Add(time.Hour)
	res, err := Issue(Options{Home: h, Registry: reg, Kind: Client, Names: []string{"r1", "r2", "r3"}, CA: c, Now: func() time.Time { return later }, Force: true})
	if err != nil {
		t.Fatal(err)
	}
	stamp := ".bak-20261129T070000Z"
	wantBackups := []string{filepath.Join(h, "hosts", "reg:5000", "r2.key"+stamp), filepath.Join(h, "hosts", "reg:5000", "r2.cert"+stamp)}
	if !slices.Equal(res.Backups, wantBackups) {
		t.Errorf("backups %v, want %v", res.Backups, wantBackups)
	}
	if old := readCert(t, wantBackups[1]); !old.Equal(before) {
		t.Error("the backup is not the old certificate")
	}
	if mode(t, wantBackups[0]) != 0o600 {
		t.Errorf("the backup key has mode %o", mode(t, wantBackups[0]))
	}
	if now := readCert(t, filepath.Join(h, "hosts", "reg:5000", "r2.cert")); now.Equal(before) {
		t.Error("r2.cert was not replaced")
	}
}

func TestValidityClampedToCA(t *testing.T) {
	h, c := testCA(t, ca.ECDSAP256, 100*24*time.Hour)
	reg := mustParse(t, "reg:5000")
	res, err := Issue(Options{Home: h, Registry: reg, Kind: Server, Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	cert := readCert(t, res.Certs[0].CertPath)
	if !res.Clamped || !cert.NotAfter.Equal(c.Cert.NotAfter) || !res.NotAfter.Equal(c.Cert.NotAfter) {
		t.Errorf("clamped=%v NotAfter %s, want the CA's %s", res.Clamped, cert.NotAfter, c.Cert.NotAfter)
	}
	if res.Requested != DefaultValidity || !res.CANotAfter.Equal(c.Cert.NotAfter) {
		t.Errorf("Requested %v CANotAfter %v", res.Requested, res.CANotAfter)
	}

	// A validity inside the CA's is kept.
	res, err = Issue(Options{Home: h, Registry: reg, Kind: Client, Validity: 30 * 24 * time.Hour, Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	if res.Clamped || !readCert(t, res.Certs[0].CertPath).NotAfter.Equal(clock.Add(30*24*time.Hour)) {
		t.Errorf("clamped=%v for a validity within the CA's", res.Clamped)
	}

	// Once the CA has expired, nothing is issued.
	after := c.Cert.NotAfter.Add(time.Second)
	_, err = Issue(Options{Home: h, Registry: reg, Kind: Client, Names: []string{"late"}, Now: func() time.Time { return after }})
	var exp *CAExpiredError
	if !errors.As(err, &exp) || !strings.Contains(errs.HintOf(err), "certkit init-ca --force") {
		t.Fatalf("err = %v, want *CAExpiredError with a hint", err)
	}
	if atomicfile.Exists(filepath.Join(h, "hosts", "reg:5000", "late.key")) {
		t.Error("a certificate was written with an expired CA")
	}
}

// TestProfilesNeverFallBack: certkit refuses a profile name it does not
// define, and there is no default profile to fall back to.
func TestProfilesNeverFallBack(t *testing.T) {
	c := sharedCA(t)
	ls, err := newLeafSigner(c)
	if err != nil {
		t.Fatal(err)
	}
	r := leafRequest{profile: "sever", cn: "x", keyType: ca.ECDSAP256, notBefore: clock, notAfter: clock.Add(time.Hour)}
	_, err = ls.issue(r)
	var upe *ca.ProfileError
	if !errors.As(err, &upe) || upe.Profile != "sever" {
		t.Fatalf("err = %v, want *ca.ProfileError", err)
	}

	// Straight to the signer: an unknown name is refused, and so is no
	// name at all.
	key, _ := ca.GenerateKey(ca.ECDSAP256)
	csrPEM := mustCSR(t, key)
	var pe *ca.ProfileError
	if _, _, err := ls.s.Sign(ca.SignRequest{CSR: csrPEM, Profile: "sever", NotBefore: clock, NotAfter: clock.Add(time.Hour)}); !errors.As(err, &pe) {
		t.Fatalf("unknown profile: err = %v, want *ca.ProfileError", err)
	}
	if _, _, err := ls.s.Sign(ca.SignRequest{CSR: csrPEM, NotBefore: clock, NotAfter: clock.Add(time.Hour)}); err == nil {
		t.Fatal("signed without a profile")
	}
	// And every defined profile signs.
	for name := range profiles {
		if _, _, err := ls.s.Sign(ca.SignRequest{CSR: csrPEM, Profile: name, NotBefore: clock, NotAfter: clock.Add(time.Hour)}); err != nil {
			t.Errorf("profile %s: %v", name, err)
		}
	}
	for _, tt := range []struct {
		kind Kind
		kt   ca.KeyType
		want string
	}{{Server, ca.ECDSAP256, profileServer}, {Server, ca.Ed25519, profileServer}, {Server, ca.RSA2048, profileServerRSA}, {Server, ca.RSA4096, profileServerRSA}, {Client, ca.RSA2048, profileClient}, {Client, ca.ECDSAP384, profileClient}} {
		if got, err := profileFor(tt.kind, tt.kt); err != nil || got != tt.want {
			t.Errorf("profileFor(%s, %s) = %q, %v, want %q", tt.kind, tt.kt, got, err, tt.want)
		}
	}
	if _, err := profileFor("peer", ca.ECDSAP256); err == nil {
		t.Error("profileFor accepted an unknown kind")
	}
}

// TestCheckCatchesMismatch: the check after signing rejects a certificate
// that differs from the request.
func TestCheckCatchesMismatch(t *testing.T) {
	c := sharedCA(t)
	ls, err := newLeafSigner(c)
	if err != nil {
		t.Fatal(err)
	}
	san, _ := ParseSAN("reg.example.com")
	r := leafRequest{profile: profileServer, cn: "reg", sans: []SAN{san}, keyType: ca.ECDSAP256, notBefore: clock, notAfter: clock.Add(time.Hour)}
	l, err := ls.issue(r)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(l.certDER)
	other, _ := ca.GenerateKey(ca.ECDSAP256)
	sv := profiles[profileServer]
	cl := profiles[profileClient]
	if err := check(l.certDER, cert.PublicKey, r, sv); err != nil {
		t.Fatalf("check of a good certificate: %v", err)
	}
	ip, _ := ParseSAN("10.0.0.5")
	for name, fn := range map[string]func() error{
		"eku": func() error { return check(l.certDER, cert.PublicKey, r, cl) },
		"ku":  func() error { return check(l.certDER, cert.PublicKey, r, profiles[profileServerRSA]) },
		"key": func() error { return check(l.certDER, other.Public(), r, sv) },
		"names": func() error {
			r2 := r
			r2.sans = []SAN{san, ip}
			return check(l.certDER, cert.PublicKey, r2, sv)
		},
		"cn": func() error { r2 := r; r2.cn = "other"; return check(l.certDER, cert.PublicKey, r2, sv) },
		"validity": func() error {
			r2 := r
			r2.notAfter = r.notAfter.Add(time.Second)
			return check(l.certDER, cert.PublicKey, r2, sv)
		},
	} {
		if fn() == nil {
			t.Errorf("check passed a certificate with the wrong %s", name)
		}
	}
}

// TestIssueAllStopsAtFirstError: a failure anywhere in a batch fails the
// batch, and nothing is written.
func TestIssueAllStopsAtFirstError(t *testing.T) {
	c := sharedCA(t)
	ls, err := newLeafSigner(c)
	if err != nil {
		t.Fatal(err)
	}
	reqs := make([]leafRequest, 40)
	for i := range reqs {
		reqs[i] = leafRequest{profile: profileClient, cn: fmt.Sprint(i), keyType: ca.ECDSAP256, notBefore: clock, notAfter: clock.Add(time.Hour)}
	}
	out, err := issueAll(ls, reqs, 4)
	if err != nil || len(out) != 40 {
		t.Fatalf("issueAll: %d, %v", len(out), err)
	}
	seen := map[string]bool{}
	for i, l := range out {
		cert, _ := x509.ParseCertificate(l.certDER)
		if cert.Subject.CommonName != fmt.Sprint(i) {
			t.Errorf("out[%d] is %q", i, cert.Subject.CommonName)
		}
		if seen[string(l.keyPEM)] {
			t.Errorf("key %d repeats", i)
		}
		seen[string(l.keyPEM)] = true
	}
	reqs[23].profile = "typo"
	if _, err := issueAll(ls, reqs, 4); err == nil {
		t.Fatal("issueAll ignored a failing request")
	}
}

func TestManyClientsAllWritten(t *testing.T) {
	c := sharedCA(t)
	h := t.TempDir()
	names := make([]string, 200)
	for i := range names {
		names[i] = fmt.Sprintf("runner-%03d", i)
	}
	res, err := Issue(Options{Home: h, Registry: mustParse(t, "reg.example.com:5000"), Kind: Client, Names: names, CA: c, Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(h, "hosts", "reg.example.com:5000")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 400 {
		t.Errorf("%d files, want 400", len(entries))
	}
	pool := x509.NewCertPool()
	pool.AddCert(c.Cert)
	serials := map[string]bool{}
	for i, n := range names {
		ct := res.Certs[i]
		if ct.Name != n || mode(t, ct.KeyPath) != 0o600 || mode(t, ct.CertPath) != 0o644 {
			t.Errorf("%s: %+v", n, ct)
		}
		cert := readCert(t, ct.CertPath)
		if _, err := cert.Verify(x509.VerifyOptions{Roots: pool, CurrentTime: clock, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
			t.Errorf("%s: %v", n, err)
		}
		if serials[cert.SerialNumber.String()] {
			t.Errorf("%s: serial repeats", n)
		}
		serials[cert.SerialNumber.String()] = true
	}
}

func TestLoopbackWarning(t *testing.T) {
	for _, s := range []string{"localhost", "localhost:5000", "127.0.0.1:5000", "127.1.2.3", "[::1]:5000", "reg.localhost:5000"} {
		w := LoopbackWarning(mustParse(t, s))
		if !strings.Contains(w, mustParse(t, s).String()) || !strings.Contains(w, "sends no client certificate") || len(w) > 160 {
			t.Errorf("LoopbackWarning(%s) = %q", s, w)
		}
	}
	for _, s := range []string{"reg.example.com", "10.0.0.5:5000", "[fd00::1]:5000", "localhost.example.com"} {
		if w := LoopbackWarning(mustParse(t, s)); w != "" {
			t.Errorf("LoopbackWarning(%s) = %q, want none", s, w)
		}
	}
}

func mustCSR(t *testing.T, key crypto.Signer) []byte {
	t.Helper()
	p, err := csr.Generate(key, &csr.CertificateRequest{CN: "x"})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestWarnings: the registry-name warnings every command prints, each only
// where it applies.
func TestWarnings(t *testing.T) {
	for _, tt := range []struct {
		host string
		want []string // a word of each warning, in order
	}{
		{"reg.example.com:5000", nil},
		{"reg.example.com", nil},
		{"localhost:5000", []string{"loopback"}},
		{"reg.example.com:443", []string{"different certs.d folders"}},
		{"127.0.0.1:443", []string{"loopback", "different certs.d folders"}},
	} {
		reg, err := host.Parse(tt.host)
		if err != nil {
			t.Fatal(err)
		}
		got := Warnings(reg)
		if len(got) != len(tt.want) {
			t.Errorf("%s: %d warnings %q, want %d", tt.host, len(got), got, len(tt.want))
			continue
		}
		for i, w := range tt.want {
			if !strings.Contains(got[i], w) {
				t.Errorf("%s: warning %d %q lacks %q", tt.host, i, got[i], w)
			}
		}
	}
}

// TestFailedIssueTakesBackIssuingCA: in a per-registry home, an issue that
// fails after it made the registry's issuing CA (here the registry's folder
// in the home is a file, so no certificate can be written) leaves no
// issuing CA behind; the next issue makes one.
func TestFailedIssueTakesBackIssuingCA(t *testing.T) {
	h := t.TempDir()
	if _, err := ca.Create(ca.Options{Home: h, Machine: "test", PerRegistry: true, Now: fixedNow}); err != nil {
		t.Fatal(err)
	}
	reg, _ := host.Parse("reg.example.com:5000")
	blocker := home.HostDir(h, reg.String())
	if err := os.MkdirAll(filepath.Dir(blocker), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(blocker, []byte("not a folder"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Issue(Options{Home: h, Registry: reg, Kind: Client, Now: fixedNow}); err == nil {
		t.Fatal("Issue wrote into a registry folder that is a file")
	}
	if _, err := os.Stat(filepath.Join(h, ca.IssuerRel(reg.String(), false))); !os.IsNotExist(err) {
		t.Errorf("the failed issue left the registry's issuing CA: %v", err)
	}
	if err := os.Remove(blocker); err != nil {
		t.Fatal(err)
	}
	res, err := Issue(Options{Home: h, Registry: reg, Kind: Client, Now: fixedNow})
	if err != nil || len(res.IssuerMade) != 4 {
		t.Fatalf("the next issue: %v, made %v", err, res)
	}
}
