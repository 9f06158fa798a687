//go:build unix

package install

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io/fs"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/certkit/certkit/ca"
	"github.com/certkit/certkit/internal/shellquote"
	"github.com/certkit/certkit/internal/testenv"
)

// selfSignedPEM makes what openssl req -new -x509 makes with OpenSSL 3: a
// self-signed certificate with CA:TRUE, no key usage, no extended key
// usage.
func selfSignedPEM(t testing.TB, cn string, edit func(*x509.Certificate)) (certPEM, keyPEM []byte) {
	t.Helper()
	certPEM, keyPEM, _, _ = selfSignedCertKey(t, cn, edit)
	return certPEM, keyPEM
}

// selfSignedCA is selfSignedPEM, with the certificate and key to sign with.
func selfSignedCA(t testing.TB, cn string) (certPEM, keyPEM []byte, cert *x509.Certificate, key crypto.Signer) {
	t.Helper()
	return selfSignedCertKey(t, cn, nil)
}

func selfSignedCertKey(t testing.TB, cn string, edit func(*x509.Certificate)) (certPEM, keyPEM []byte, cert *x509.Certificate, key crypto.Signer) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := template(t, cn)
	tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
	if edit != nil {
		edit(tmpl)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, k.Public(), k)
	if err != nil {
		t.Fatal(err)
	}
	if cert, err = x509.ParseCertificate(der); err != nil {
		t.Fatal(err)
	}
	if keyPEM, err = ca.MarshalKey(k); err != nil {
		t.Fatal(err)
	}
	return ca.EncodeCert(cert), keyPEM, cert, k
}

// signedPEM is a certificate for a new key signed by parent.
func signedPEM(t testing.TB, parent *x509.Certificate, parentKey crypto.Signer, cn string, isCA bool) []byte {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := template(t, cn)
	tmpl.IsCA, tmpl.BasicConstraintsValid = isCA, true
	if isCA {
		tmpl.KeyUsage = x509.KeyUsageCertSign
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, k.Public(), parentKey)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func template(t testing.TB, cn string) *x509.Certificate {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	return &x509.Certificate{
		SerialNumber: serial.Add(serial, big.NewInt(1)),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    now.Add(-5 * time.Minute).Truncate(time.Second),
		NotAfter:     now.Add(90 * 24 * time.Hour).Truncate(time.Second),
	}
}

var sameInOut = regexp.MustCompile(`-in (\S+) -out (\S+)`)

// checkFixes asserts that each wanted fix is in one of the problems' fixes
// ($DIR is the folder, as a fix quotes it), and that no fix has openssl
// write the file it reads: that empties the file before it is read.
func checkFixes(t *testing.T, got []Problem, dir string, want []string) {
	t.Helper()
	for _, g := range got {
		for _, m := range sameInOut.FindAllStringSubmatch(g.Fix, -1) {
			if m[1] == m[2] {
				t.Errorf("the fix of %s %s reads and writes %s, which empties it: %s", g.Kind, g.File, m[1], g.Fix)
			}
		}
	}
	for _, w := range want {
		w = strings.ReplaceAll(w, "$DIR", shellquote.Quote(dir))
		found := false
		for _, g := range got {
			found = found || strings.Contains(g.Fix, w)
		}
		if !found {
			t.Errorf("no fix contains %q", w)
		}
	}
}

// TestReadFolderFixesRun runs the shell commands the fixes suggest, as a
// user would paste them, and reads the folder again: the problem is gone,
// nothing else broke, and a key is still 0600.
func TestReadFolderFixesRun(t *testing.T) {
	p := newPKI(t)
	other := newPKI(t)
	certPEM, keyPEM := p.client(t, "client", nil)
	good := func(t *testing.T, dir string) {
		testenv.WriteFile(t, filepath.Join(dir, "ca.crt"), p.ca.CertPEM, 0o644)
		testenv.WriteFile(t, filepath.Join(dir, "client.cert"), certPEM, 0o644)
		testenv.WriteFile(t, filepath.Join(dir, "client.key"), keyPEM, 0o600)
	}
	// The key encrypted the old way (Proc-Type: 4,ENCRYPTED).
	b, _ := pem.Decode(keyPEM)
	//lint:ignore SA1019 an old-style encrypted key is exactly what users bring
	legacy, err := x509.EncryptPEMBlock(rand.Reader, "EC PRIVATE KEY", b.Bytes, []byte("pw"), x509.PEMCipherAES256) //nolint:staticcheck
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		registry string // the folder's name; reg.example.com:5000 when empty
		tools    []string
		setup    func(t *testing.T, dir string)
		kind     Kind
		stdin    string // what the command reads: openssl's passphrase
		check    func(t *testing.T, dir string)
	}{
		{
			name:  "key encrypted with Proc-Type",
			tools: []string{"openssl"},
			setup: func(t *testing.T, dir string) {
				good(t, dir)
				testenv.WriteFile(t, filepath.Join(dir, "client.key"), pem.EncodeToMemory(legacy), 0o600)
			},
			kind:  KindEncryptedKey,
			stdin: "pw\n",
			check: func(t *testing.T, dir string) { perm(t, filepath.Join(dir, "client.key"), 0o600) },
		},
		{
			name:  "key encrypted as PKCS#8",
			tools: []string{"openssl"},
			setup: func(t *testing.T, dir string) {
				good(t, dir)
				key := filepath.Join(dir, "client.key")
				plain := filepath.Join(t.TempDir(), "plain.key")
				testenv.WriteFile(t, plain, keyPEM, 0o600)
				os.Remove(key)
				out, err := exec.Command("openssl", "pkcs8", "-topk8", "-v2", "aes256", "-in", plain, "-out", key, "-passout", "pass:pw").CombinedOutput()
				if err != nil {
					t.Fatalf("openssl pkcs8: %v\n%s", err, out)
				}
				if data, _ := os.ReadFile(key); !strings.Contains(string(data), "ENCRYPTED PRIVATE KEY") {
					t.Fatalf("openssl made no encrypted key:\n%s", data)
				}
				os.Chmod(key, 0o600)
			},
			kind:  KindEncryptedKey,
			stdin: "pw\n",
			check: func(t *testing.T, dir string) { perm(t, filepath.Join(dir, "client.key"), 0o600) },
		},
		{
			name:  "DER CA file",
			tools: []string{"openssl"},
			setup: func(t *testing.T, dir string) {
				good(t, dir)
				testenv.WriteFile(t, filepath.Join(dir, "ca.crt"), p.ca.Cert.Raw, 0o644)
			},
			kind: KindNotPEM,
		},
		{
			name: "client pair saved as .crt",
			setup: func(t *testing.T, dir string) {
				testenv.WriteFile(t, filepath.Join(dir, "ca.crt"), p.ca.CertPEM, 0o644)
				testenv.WriteFile(t, filepath.Join(dir, "client.crt"), certPEM, 0o644)
				testenv.WriteFile(t, filepath.Join(dir, "client.key"), keyPEM, 0o600)
			},
			kind: KindMisnamedClientCert,
		},
		{
			name:     "client pair saved as .crt, IPv6 registry",
			registry: "[fd00::1]:5000",
			setup: func(t *testing.T, dir string) {
				testenv.WriteFile(t, filepath.Join(dir, "ca.crt"), p.ca.CertPEM, 0o644)
				testenv.WriteFile(t, filepath.Join(dir, "client.crt"), certPEM, 0o644)
				testenv.WriteFile(t, filepath.Join(dir, "client.key"), keyPEM, 0o600)
			},
			kind: KindMisnamedClientCert,
		},
		{
			name: "another CA saved as ca.cert beside ca.crt",
			setup: func(t *testing.T, dir string) {
				good(t, dir)
				testenv.WriteFile(t, filepath.Join(dir, "ca.cert"), other.ca.CertPEM, 0o644)
			},
			kind: KindUnpairedCert,
			check: func(t *testing.T, dir string) {
				// ca.crt is kept; the other CA is beside it.
				for name, want := range map[string][]byte{"ca.crt": p.ca.CertPEM, "ca-2.crt": other.ca.CertPEM} {
					if got, err := os.ReadFile(filepath.Join(dir, name)); err != nil || string(got) != string(want) {
						t.Errorf("%s: %v, not the expected certificate", name, err)
					}
				}
			},
		},
		{
			name: "leftover server certificate beside ca.crt",
			setup: func(t *testing.T, dir string) {
				good(t, dir)
				serverPEM, _ := p.server(t, "reg.example.com")
				testenv.WriteFile(t, filepath.Join(dir, "localhost.crt"), serverPEM, 0o644)
			},
			kind: KindNotCA,
			check: func(t *testing.T, dir string) {
				if !exists(filepath.Join(dir, "localhost.crt.orig")) {
					t.Error("the leftover was not kept under a name no runtime reads")
				}
			},
		},
		{
			name: "copy of ca.crt saved as ca.cert",
			setup: func(t *testing.T, dir string) {
				good(t, dir)
				testenv.WriteFile(t, filepath.Join(dir, "ca.cert"), p.ca.CertPEM, 0o644)
			},
			kind: KindUnpairedCert,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			testenv.NeedTools(t, append([]string{"sh"}, tt.tools...)...)
			reg := tt.registry
			if reg == "" {
				reg = "reg.example.com:5000"
			}
			dir := filepath.Join(t.TempDir(), reg)
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			tt.setup(t, dir)
			f, err := ReadFolder(dir)
			if err != nil {
				t.Fatal(err)
			}
			var fix string
			for _, pr := range f.Problems {
				if pr.Kind == tt.kind {
					fix = pr.Fix
				}
			}
			cmd := command(t, fix)
			// Without a terminal (a new session), openssl reads the
			// passphrase from its standard input.
			c := exec.Command("sh", "-c", cmd)
			c.Dir = t.TempDir() // not the folder: the command names it
			c.Stdin = strings.NewReader(tt.stdin)
			c.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
			if out, err := c.CombinedOutput(); err != nil {
				t.Fatalf("%s: %v\n%s", cmd, err, out)
			}
			f, err = ReadFolder(dir)
			if err != nil {
				t.Fatal(err)
			}
			for _, pr := range f.Problems {
				t.Errorf("after %s: %s %s %s", cmd, pr.Severity, pr.Kind, pr)
			}
			if len(f.Pairs) == 0 || f.LoaderError() != nil {
				t.Errorf("after %s: %d pairs, loaders say %v", cmd, len(f.Pairs), f.LoaderError())
			}
			if tt.check != nil {
				tt.check(t, dir)
			}
		})
	}
}

// command is the shell command of a fix: all of it, or what follows its
// last ": ".
func command(t *testing.T, fix string) string {
	t.Helper()
	cmd := fix
	if i := strings.LastIndex(fix, ": "); i >= 0 {
		cmd = fix[i+2:]
	}
	for _, w := range []string{"openssl ", "mv ", "rm "} {
		if strings.HasPrefix(cmd, w) {
			return cmd
		}
	}
	t.Fatalf("no command in the fix %q", fix)
	return ""
}

func perm(t *testing.T, path string, want fs.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != want {
		t.Errorf("%s has mode %04o, want %04o", path, got, want)
	}
}

// TestPermissionText: what is said of a file this user may not read.
func TestPermissionText(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "client.key")
	testenv.WriteFile(t, key, []byte("key"), 0o600)
	cert := filepath.Join(dir, "client.cert")
	testenv.WriteFile(t, cert, []byte("cert"), 0o600)
	stat := func(p string) fs.FileInfo {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		return fi
	}
	me := os.Geteuid()
	owner := userName(me)
	someoneElse := me + 1
	tests := []struct {
		name     string
		path     string
		key      bool
		euid     int
		statErr  error
		msg, fix string // substrings
		notFix   string
	}{
		{
			name: "key of another user",
			path: key, key: true, euid: someoneElse,
			msg:    "cannot be read by this user (uid " + strconv.Itoa(someoneElse) + "): it belongs to " + owner + " and has mode 0600, as a private key should",
			fix:    "sudo certkit verify --offline --host '[fd00::1]:5000' (with the same --certs-dir or --target, if you gave one). A container runtime that runs as this user (rootless Docker, podman or skopeo without sudo) cannot read it either",
			notFix: "chmod",
		},
		{
			name: "certificate of another user",
			path: cert, euid: someoneElse,
			msg: "cannot be read by this user: it belongs to " + owner + " and has mode 0600",
			fix: "a certificate is public: sudo chmod 644 " + cert,
		},
		{
			name: "own key",
			path: key, key: true, euid: me,
			msg: "cannot be read: permission denied (mode 0600)",
			fix: "chmod 600 " + key,
		},
		{
			name: "folder that cannot be searched",
			path: key, key: true, euid: someoneElse, statErr: fs.ErrPermission,
			msg: "cannot be read by this user: permission denied",
			fix: "sudo certkit verify",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var fi fs.FileInfo
			if tt.statErr == nil {
				fi = stat(tt.path)
			}
			msg, fix := permissionText(tt.path, tt.key, fi, tt.statErr, tt.euid, "[fd00::1]:5000")
			if !strings.Contains(msg, tt.msg) || !strings.Contains(fix, tt.fix) || tt.notFix != "" && strings.Contains(fix, tt.notFix) {
				t.Errorf("got\n  %s\n  fix: %s\nwant %q, fix %q without %q", msg, fix, tt.msg, tt.fix, tt.notFix)
			}
			if strings.Contains(fix, "readable") {
				t.Errorf("the fix says to make a file readable: %s", fix)
			}
		})
	}
}

// TestReadFolderUnreadableKey: a folder installed by root, read by another
// user. The problem names client.key (not client.cert) and says this user
// cannot read it, without advice to open the key up. As root, the folder
// is read by a child process running as nobody; as another user, the key
// is this user's with mode 0000.
func TestReadFolderUnreadableKey(t *testing.T) {
	p := newPKI(t)
	certPEM, keyPEM := p.client(t, "client", nil)
	base := t.TempDir()
	dir := filepath.Join(base, "reg.example.com:5000")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	testenv.WriteFile(t, filepath.Join(dir, "ca.crt"), p.ca.CertPEM, 0o644)
	testenv.WriteFile(t, filepath.Join(dir, "client.cert"), certPEM, 0o644)
	testenv.WriteFile(t, filepath.Join(dir, "client.key"), keyPEM, 0o600)
	if os.Geteuid() != 0 {
		os.Chmod(filepath.Join(dir, "client.key"), 0)
		checkUnreadableKey(t, dir, "cannot be read: permission denied (mode 0000)", "chmod 600 "+filepath.Join(dir, "client.key"))
		return
	}
	runAsNobody(t, "TestReadFolderUnreadableKeyChild", []string{"CERTKIT_UNREADABLE_DIR=" + dir}, base)
}

func TestReadFolderUnreadableKeyChild(t *testing.T) {
	dir := os.Getenv("CERTKIT_UNREADABLE_DIR")
	if dir == "" {
		t.Skip("run by TestReadFolderUnreadableKey")
	}
	checkUnreadableKey(t, dir, "cannot be read by this user (uid 65534): it belongs to root and has mode 0600, as a private key should",
		"run the check as root: sudo certkit verify --offline --host reg.example.com:5000")
}

func checkUnreadableKey(t *testing.T, dir, msg, fix string) {
	t.Helper()
	f, err := ReadFolder(dir)
	if err != nil {
		t.Fatal(err)
	}
	checkProblems(t, f.Problems, []wantProblem{{SeverityError, KindUnreadable, "client.key", msg}})
	checkFixes(t, f.Problems, dir, []string{fix})
	for _, pr := range f.Problems {
		if strings.Contains(pr.Fix, "readable") {
			t.Errorf("the fix says to make a file readable: %s", pr.Fix)
		}
	}
	if err := f.LoaderError(); err == nil || !strings.Contains(err.Error(), "client.key: permission denied") {
		t.Errorf("loader error %v, want the key's permission denied", err)
	}
}
