//go:build unix

package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"io/fs"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cloudflare/cfssl/auth"

	"github.com/certkit/certkit/ca"
	"github.com/certkit/certkit/internal/certtest"
	"github.com/certkit/certkit/internal/testenv"
)

// remoteSigner is a CA home with cfssl's multirootca signing for it, as
// certkit template multirootca renders it.
type remoteSigner struct {
	caHome  string
	url     string // https://localhost:PORT
	authKey string // path of the signer's auth.key
	fp      string // the CA's SHA-256
}

func startRemoteSigner(t *testing.T, caHome string, extra ...string) remoteSigner {
	t.Helper()
	testenv.NeedMultirootca(t)
	port := strconv.Itoa(testenv.FreePort(t))
	code, stdout, stderr := certkit(t, caHome, append([]string{"template", "multirootca", "--host", "localhost:" + port, "--listen", "127.0.0.1:" + port}, extra...)...)
	if code != 0 {
		t.Fatalf("template multirootca: exit %d\n%s", code, stderr)
	}
	args := strings.Fields(strings.TrimSpace(stdout))
	if len(args) < 2 || args[0] != "multirootca" {
		t.Fatalf("template multirootca printed %q, not a multirootca command", stdout)
	}
	testenv.StartMultirootca(t, "127.0.0.1:"+port, args[1:])
	c := readCertFile(t, filepath.Join(caHome, "ca", "ca.crt"))
	return remoteSigner{caHome: caHome, url: "https://localhost:" + port,
		authKey: filepath.Join(caHome, "signer", "auth.key"), fp: ca.Fingerprint(c)}
}

// fails runs certkit, wants a non-zero exit and every word in stderr, and
// returns stderr.
func fails(t *testing.T, home string, words []string, args ...string) string {
	t.Helper()
	code, _, stderr := certkit(t, home, args...)
	if code == 0 {
		t.Fatalf("certkit %s succeeded, want a failure", strings.Join(args, " "))
	}
	for _, w := range words {
		if !strings.Contains(stderr, w) {
			t.Errorf("certkit %s: stderr lacks %q:\n%s", strings.Join(args, " "), w, stderr)
		}
	}
	if strings.Contains(stderr, `"code"`) || strings.Contains(stderr, `{"`) {
		t.Errorf("certkit %s shows JSON:\n%s", strings.Join(args, " "), stderr)
	}
	return stderr
}

// noFiles fails the test if dir holds any regular file.
func noFiles(t *testing.T, dir string) {
	t.Helper()
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			t.Errorf("%s was written", p)
		}
		return nil
	})
}

// extensionOIDs lists a certificate's extensions (and whether critical).
func extensionOIDs(c *x509.Certificate) []string {
	var out []string
	for _, e := range c.Extensions {
		out = append(out, e.Id.String()+map[bool]string{true: "!", false: ""}[e.Critical])
	}
	slices.Sort(out)
	return out
}

// TestRemoteSignerPerRegistry: with a per-registry CA home the signer
// signs each registry's certificates with its issuing CA, under the
// registry's label, and the CA's own label signs nothing. A client machine
// issues through it; its certificate carries the issuing CA; the registry,
// trusting only that issuing CA as certkit's template makes it, accepts
// the pair; a registry the signer has no issuing CA for is refused with
// the command that adds it.
func TestRemoteSignerPerRegistry(t *testing.T) {
	testenv.NeedTool(t, "docker-registry")
	skopeo := testenv.NeedTool(t, "skopeo")
	testenv.NeedHostname(t, e2eRegistryName)
	reg := e2eRegistryName + ":" + strconv.Itoa(testenv.FreePort(t))

	caHome := t.TempDir()
	must(t, caHome, "init-ca")
	must(t, caHome, "issue", "server", "--host", reg)
	sig := startRemoteSigner(t, caHome, "--registry", "reg2.example:5000")
	ini := string(readFile(t, filepath.Join(caHome, "signer", "multirootca.ini")))
	for _, want := range []string{"[certkit]\n", "signing-ca.json", "[" + ca.RegistryLabel("certkit", reg) + "]\n", "[" + ca.RegistryLabel("certkit", "reg2.example:5000") + "]\n"} {
		if !strings.Contains(ini, want) {
			t.Errorf("multirootca.ini lacks %q:\n%s", want, ini)
		}
	}
	if closed := string(readFile(t, filepath.Join(caHome, "signer", "signing-ca.json"))); strings.Contains(closed, "auth_key") {
		t.Errorf("the CA label's profiles take an auth key:\n%s", closed)
	}
	hd := filepath.Join(caHome, "hosts", reg)
	testenv.StartRegistry(t, testenv.RegistryConfig{
		Addr:      "127.0.0.1:" + strings.Split(reg, ":")[1],
		Chain:     filepath.Join(hd, "server-chain.crt"),
		Key:       filepath.Join(hd, "server.key"),
		ClientCAs: []string{ca.RegistryClientCAs(caHome, reg)},
	})

	clientHome := t.TempDir()
	must(t, clientHome, "init-ca", "--remote", sig.url, "--auth-key-file", sig.authKey, "--ca-fingerprint", sig.fp, "--label", "certkit")
	must(t, clientHome, "issue", "client", "--host", reg, "--name", "laptop")
	chain, err := ca.ParseCerts(readFile(t, filepath.Join(clientHome, "hosts", reg, "laptop.cert")))
	if err != nil || len(chain) != 2 || !chain[1].Equal(readCertFile(t, filepath.Join(caHome, "ca", "registries", reg, "ca.crt"))) {
		t.Fatalf("the remote pair's certificate file: %v, %d certificates, want the leaf and the registry's issuing CA", err, len(chain))
	}
	certs := filepath.Join(t.TempDir(), "certs.d")
	must(t, clientHome, "install", "--host", reg, "--certs-dir", certs)
	pushPull(t, skopeo, reg, filepath.Join(certs, reg), "remote-per-registry")

	// A second registry's pair, from its own issuing CA, and renew.
	must(t, clientHome, "issue", "client", "--host", "reg2.example:5000", "--name", "ci")
	must(t, clientHome, "renew", "--all", "--host", reg, "--name", "laptop", "--install", "--certs-dir", certs)
	pushPull(t, skopeo, reg, filepath.Join(certs, reg), "renewed")
	other, _ := ca.ParseCerts(readFile(t, filepath.Join(clientHome, "hosts", "reg2.example:5000", "ci.cert")))
	if len(other) != 2 || !bytes.Equal(other[0].RawIssuer, other[1].RawSubject) || other[1].Subject.CommonName != "certkit issuing CA for reg2.example:5000" {
		t.Errorf("reg2's pair is not from reg2's issuing CA")
	}

	fails(t, clientHome, []string{"has no issuing CA for reg3.example:5000", "certkit template multirootca --registry reg3.example:5000 --force"},
		"issue", "client", "--host", "reg3.example:5000")
	noFiles(t, filepath.Join(clientHome, "hosts", "reg3.example:5000"))

	// A CA rotation: the signer, rendered again, serves the new CA; the
	// client machine, pinned to the old one, refuses the signer (its TLS
	// certificate is the new CA's) until it records the new fingerprint.
	must(t, caHome, "rotate-ca")
	sig2 := startRemoteSigner(t, caHome, "--force")
	rewriteSignerURL(t, clientHome, sig2.url)
	fails(t, clientHome, []string{"failed TLS verification", "from another CA"}, "issue", "client", "--host", reg, "--name", "after", "--force")
	must(t, clientHome, "init-ca", "--remote", sig2.url, "--auth-key-file", sig2.authKey, "--ca-fingerprint", sig2.fp, "--label", "certkit", "--force")
	must(t, clientHome, "issue", "client", "--host", reg, "--name", "after")
	after, _ := ca.ParseCerts(readFile(t, filepath.Join(clientHome, "hosts", reg, "after.cert")))
	if len(after) != 2 || after[1].CheckSignatureFrom(readCertFile(t, filepath.Join(caHome, "ca", "ca.crt"))) != nil {
		t.Errorf("after the rotation, the pair is not from the new CA's issuing CA")
	}
}

// TestRemoteSigner: a second home made with init-ca --remote issues client
// pairs through a real multirootca (built from the pinned cfssl) with the
// first home's CA; the key never leaves the client; the registry of the CA
// home accepts the pair through certs.d with skopeo; and the certificate is
// what local issuance makes.
func TestRemoteSigner(t *testing.T) {
	testenv.NeedTool(t, "docker-registry")
	skopeo := testenv.NeedTool(t, "skopeo")
	testenv.NeedHostname(t, e2eRegistryName)
	reg := e2eRegistryName + ":" + strconv.Itoa(testenv.FreePort(t))

	caHome := t.TempDir()
	must(t, caHome, "init-ca", "--per-registry=false")
	must(t, caHome, "issue", "server", "--host", reg)
	sig := startRemoteSigner(t, caHome)
	hd := filepath.Join(caHome, "hosts", reg)
	testenv.StartRegistry(t, testenv.RegistryConfig{
		Addr:      "127.0.0.1:" + strings.Split(reg, ":")[1],
		Chain:     filepath.Join(hd, "server-chain.crt"),
		Key:       filepath.Join(hd, "server.key"),
		ClientCAs: []string{filepath.Join(caHome, "ca", "ca.crt")},
	})

	clientHome := t.TempDir()
	must(t, clientHome, "init-ca", "--remote", sig.url, "--auth-key-file", sig.authKey, "--ca-fingerprint", sig.fp, "--label", "certkit")
	if _, err := os.Stat(filepath.Join(clientHome, "ca", "ca.key")); !os.IsNotExist(err) {
		t.Fatalf("the remote home has a ca.key (%v)", err)
	}
	if fi, err := os.Stat(filepath.Join(clientHome, "ca", "auth.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("the remote home's auth.key: %v (want mode 0600)", err)
	}
	must(t, clientHome, "issue", "client", "--host", reg, "--name", "laptop")
	certPath := filepath.Join(clientHome, "hosts", reg, "laptop.cert")
	key, err := os.ReadFile(filepath.Join(clientHome, "hosts", reg, "laptop.key"))
	if err != nil {
		t.Fatal(err)
	}
	// The signer's side never held the key: no file of the CA home (the
	// signer's folder is in it) holds it.
	filepath.WalkDir(caHome, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if b, _ := os.ReadFile(p); bytes.Contains(b, bytes.TrimSpace(key)) {
				t.Errorf("%s holds the client's key", p)
			}
		}
		return nil
	})

	remote := readCertFile(t, certPath)
	if problems, err := certtest.Lint(remote.Raw); err != nil || len(problems) > 0 {
		t.Errorf("zlint: %v %v", err, problems)
	}
	must(t, caHome, "issue", "client", "--host", reg, "--name", "local")
	local := readCertFile(t, filepath.Join(hd, "local.cert"))
	if got, want := extensionOIDs(remote), extensionOIDs(local); !slices.Equal(got, want) {
		t.Errorf("the remote certificate has extensions %v, a local one %v", got, want)
	}
	if remote.KeyUsage != local.KeyUsage || !slices.Equal(remote.ExtKeyUsage, local.ExtKeyUsage) || remote.IsCA ||
		remote.SignatureAlgorithm != local.SignatureAlgorithm || len(remote.SerialNumber.Bytes()) < 19 {
		t.Errorf("the remote certificate differs from a local one: ku %v/%v eku %v/%v ca %v sig %v/%v serial %d bytes",
			remote.KeyUsage, local.KeyUsage, remote.ExtKeyUsage, local.ExtKeyUsage, remote.IsCA,
			remote.SignatureAlgorithm, local.SignatureAlgorithm, len(remote.SerialNumber.Bytes()))
	}
	if d := remote.NotAfter.Sub(remote.NotBefore) - local.NotAfter.Sub(local.NotBefore); d < -time.Minute || d > time.Minute {
		t.Errorf("the remote certificate is valid for %s, a local one for %s", remote.NotAfter.Sub(remote.NotBefore), local.NotAfter.Sub(local.NotBefore))
	}

	certs := filepath.Join(t.TempDir(), "certs.d")
	must(t, clientHome, "install", "--host", reg, "--certs-dir", certs)
	pushPull(t, skopeo, reg, filepath.Join(certs, reg), "remote")

	// renew in the remote home goes through the signer too, and the
	// renewed pair still opens the registry.
	t.Run("renew", func(t *testing.T) {
		before := readCertFile(t, filepath.Join(clientHome, "hosts", reg, "laptop.cert"))
		must(t, clientHome, "renew", "--all", "--host", reg, "--name", "laptop", "--install", "--certs-dir", certs)
		after := readCertFile(t, filepath.Join(clientHome, "hosts", reg, "laptop.cert"))
		if after.SerialNumber.Cmp(before.SerialNumber) == 0 {
			t.Fatal("renew did not make a new certificate")
		}
		pool := x509.NewCertPool()
		pool.AddCert(readCertFile(t, filepath.Join(caHome, "ca", "ca.crt")))
		if _, err := after.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
			t.Errorf("the renewed certificate: %v", err)
		}
		pushPull(t, skopeo, reg, filepath.Join(certs, reg), "renewed")
	})

	// setup on the client machine issues through the signer too: no CA
	// is made there, and the pair it installs opens the registry.
	t.Run("setup", func(t *testing.T) {
		setupCerts := filepath.Join(t.TempDir(), "certs.d")
		must(t, clientHome, "setup", "--yes", "--host", reg, "--role", "client", "--name", "ci", "--certs-dir", setupCerts)
		if _, err := os.Stat(filepath.Join(clientHome, "ca", "ca.key")); err == nil {
			t.Error("setup made a CA key on the client machine")
		}
		pool := x509.NewCertPool()
		pool.AddCert(readCertFile(t, filepath.Join(caHome, "ca", "ca.crt")))
		c := readCertFile(t, filepath.Join(clientHome, "hosts", reg, "ci.cert"))
		if _, err := c.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
			t.Errorf("setup's pair: %v", err)
		}
		pushPull(t, skopeo, reg, filepath.Join(setupCerts, reg), "setup")
	})

	t.Run("names-file", func(t *testing.T) {
		var names []string
		for i := range 40 {
			names = append(names, "runner-"+strconv.Itoa(i))
		}
		f := filepath.Join(t.TempDir(), "names.txt")
		testenv.WriteFile(t, f, []byte(strings.Join(names, "\n")+"\n"), 0o644)
		must(t, clientHome, "issue", "client", "--host", "fleet.example:5000", "--names-file", f)
		pool := x509.NewCertPool()
		pool.AddCert(readCertFile(t, filepath.Join(caHome, "ca", "ca.crt")))
		for _, n := range names {
			c := readCertFile(t, filepath.Join(clientHome, "hosts", "fleet.example:5000", n+".cert"))
			if _, err := c.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil || c.Subject.CommonName != n {
				t.Errorf("%s: CN %q, %v", n, c.Subject.CommonName, err)
			}
		}
	})

	t.Run("server", func(t *testing.T) {
		must(t, clientHome, "issue", "server", "--host", "reg2.example:5000", "--san", "10.0.0.5")
		c := readCertFile(t, filepath.Join(clientHome, "hosts", "reg2.example:5000", "server.crt"))
		if !slices.Equal(c.DNSNames, []string{"reg2.example"}) || len(c.IPAddresses) != 1 || c.ExtKeyUsage[0] != x509.ExtKeyUsageServerAuth {
			t.Errorf("server certificate: DNS %v IP %v EKU %v", c.DNSNames, c.IPAddresses, c.ExtKeyUsage)
		}
	})

	t.Run("refused", func(t *testing.T) {
		testRemoteRefusals(t, sig, clientHome)
	})
}

// testRemoteRefusals: each way the signer can fail or lie is refused in
// words, with a non-zero exit and nothing written.
func testRemoteRefusals(t *testing.T, sig remoteSigner, goodHome string) {
	initArgs := func(url, keyFile, fp string, extra ...string) []string {
		return append([]string{"init-ca", "--remote", url, "--auth-key-file", keyFile, "--ca-fingerprint", fp}, extra...)
	}
	badKey := filepath.Join(t.TempDir(), "bad.key")
	testenv.WriteFile(t, badKey, []byte(strings.Repeat("ab", 32)+"\n"), 0o600)

	t.Run("wrong-fingerprint", func(t *testing.T) {
		h := filepath.Join(t.TempDir(), "home")
		other := strings.Replace(sig.fp, sig.fp[:2], map[bool]string{true: "00", false: "FF"}[sig.fp[:2] != "00"], 1)
		fails(t, h, []string{"not the fingerprint given", "nothing was written"}, initArgs(sig.url, sig.authKey, other)...)
		noFiles(t, h)
	})
	t.Run("wrong-auth-key", func(t *testing.T) {
		h := filepath.Join(t.TempDir(), "home")
		fails(t, h, []string{"refused the auth key"}, initArgs(sig.url, badKey, sig.fp)...)
		noFiles(t, h)
		// A home whose key is changed after init-ca: issue refuses too.
		h2 := t.TempDir()
		must(t, h2, initArgs(sig.url, sig.authKey, sig.fp)...)
		testenv.WriteFile(t, filepath.Join(h2, "ca", "auth.key"), []byte(strings.Repeat("cd", 32)+"\n"), 0o600)
		fails(t, h2, []string{"refused the auth key"}, "issue", "client", "--host", "reg.example:5000")
		noFiles(t, filepath.Join(h2, "hosts"))
	})
	t.Run("unknown-label", func(t *testing.T) {
		h := filepath.Join(t.TempDir(), "home")
		fails(t, h, []string{"has no label nope"}, initArgs(sig.url, sig.authKey, sig.fp, "--label", "nope")...)
		noFiles(t, h)
	})
	t.Run("signer-down", func(t *testing.T) {
		h := filepath.Join(t.TempDir(), "home")
		down := "https://localhost:" + strconv.Itoa(testenv.FreePort(t))
		fails(t, h, []string{"cannot be reached", "connection refused"}, initArgs(down, sig.authKey, sig.fp)...)
		noFiles(t, h)
	})
	t.Run("tls-name", func(t *testing.T) {
		// 127.0.0.2 is the signer's machine, but not a name in its
		// certificate.
		if ln, err := net.Listen("tcp", "127.0.0.2:0"); err != nil {
			t.Skip("no 127.0.0.2 on this machine")
		} else {
			ln.Close()
		}
		relay := startRelay(t, filepath.Join(sig.caHome, "signer"), "127.0.0.2", sig.url, nil)
		h := filepath.Join(t.TempDir(), "home")
		fails(t, h, []string{"presents a TLS certificate the CA did not issue for 127.0.0.2"}, initArgs(relay, sig.authKey, sig.fp)...)
		noFiles(t, h)
		h2 := t.TempDir()
		must(t, h2, initArgs(sig.url, sig.authKey, sig.fp)...)
		rewriteSignerURL(t, h2, relay)
		fails(t, h2, []string{"failed TLS verification", "127.0.0.2"}, "issue", "client", "--host", "reg.example:5000")
		noFiles(t, filepath.Join(h2, "hosts"))
	})
	t.Run("stall", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		var held []net.Conn
		done := make(chan struct{})
		go func() {
			defer close(done)
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				held = append(held, c) // accepted, never answered
			}
		}()
		t.Cleanup(func() {
			ln.Close()
			<-done
			for _, c := range held {
				c.Close()
			}
		})
		h := t.TempDir()
		must(t, h, initArgs(sig.url, sig.authKey, sig.fp, "--timeout", "1s")...)
		rewriteSignerURL(t, h, "https://localhost:"+strconv.Itoa(ln.Addr().(*net.TCPAddr).Port))
		start := time.Now()
		fails(t, h, []string{"did not answer within 1s"}, "issue", "client", "--host", "reg.example:5000")
		if d := time.Since(start); d > 20*time.Second {
			t.Errorf("issue gave up after %s, with a 1s deadline", d)
		}
		noFiles(t, filepath.Join(h, "hosts"))
	})
	// A signer that answers without end (a certificate is a few KiB):
	// certkit stops reading at 1 MiB, says so, and writes nothing.
	t.Run("huge-answer", func(t *testing.T) {
		pair, err := tls.LoadX509KeyPair(filepath.Join(sig.caHome, "signer", "tls-chain.crt"), filepath.Join(sig.caHome, "signer", "tls.key"))
		if err != nil {
			t.Fatal(err)
		}
		ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{pair}})
		if err != nil {
			t.Fatal(err)
		}
		srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, ErrorLog: log.New(io.Discard, "", 0), Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, `{"success":true,"result":{"certificate":"`)
			chunk := []byte(strings.Repeat("A", 64<<10))
			for range 256 { // 16 MiB
				if _, err := w.Write(chunk); err != nil {
					return
				}
			}
			io.WriteString(w, `"}}`)
		})}
		go srv.Serve(ln)
		t.Cleanup(func() { srv.Close() })
		h := t.TempDir()
		must(t, h, initArgs(sig.url, sig.authKey, sig.fp)...)
		rewriteSignerURL(t, h, "https://"+net.JoinHostPort("localhost", strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)))
		fails(t, h, []string{"more than 1024 KiB", "stopped reading"}, "issue", "client", "--host", "reg.example:5000", "--name", "laptop")
		noFiles(t, filepath.Join(h, "hosts"))
	})

	for _, tc := range []struct {
		name    string
		rewrite func(req map[string]any)
		words   []string
	}{
		{"another-key", func(req map[string]any) { req["certificate_request"] = otherCSR(t, "laptop") }, []string{"does not match the request", "does not carry the new key"}},
		{"another-name", func(req map[string]any) { req["certificate_request"] = otherCSR(t, "mallory") }, []string{"does not match the request", "common name"}},
		{"another-profile", func(req map[string]any) { req["profile"] = "server" }, []string{"does not match the request", "extended key usage"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			relay := startRelay(t, filepath.Join(sig.caHome, "signer"), "127.0.0.1", sig.url, func(body []byte) []byte {
				return rewriteAuthRequest(t, sig.authKey, body, tc.rewrite)
			})
			h := t.TempDir()
			must(t, h, initArgs(sig.url, sig.authKey, sig.fp)...)
			rewriteSignerURL(t, h, relay)
			fails(t, h, tc.words, "issue", "client", "--host", "reg.example:5000", "--name", "laptop")
			noFiles(t, filepath.Join(h, "hosts"))
		})
	}
}

// rewriteSignerURL points a remote home at another address.
func rewriteSignerURL(t *testing.T, h, url string) {
	t.Helper()
	p := filepath.Join(h, "ca", "signer.json")
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var rec map[string]any
	if err := json.Unmarshal(data, &rec); err != nil {
		t.Fatal(err)
	}
	rec["url"] = url
	data, _ = json.Marshal(rec)
	testenv.WriteFile(t, p, data, 0o644)
}

// otherCSR is a certificate request for a key that is not the client's.
func otherCSR(t *testing.T, cn string) string {
	t.Helper()
	h := t.TempDir()
	out := filepath.Join(h, "x.csr")
	must(t, h, "request", "--host", "reg.example:5000", "--name", cn, "--out", out)
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// rewriteAuthRequest changes the signing request inside an authsign body
// and signs it again with the auth key, as a signer that answers for
// another request would.
func rewriteAuthRequest(t *testing.T, keyFile string, body []byte, f func(map[string]any)) []byte {
	var ar auth.AuthenticatedRequest
	if err := json.Unmarshal(body, &ar); err != nil {
		t.Errorf("the authsign body: %v", err)
		return body
	}
	var req map[string]any
	if err := json.Unmarshal(ar.Request, &req); err != nil {
		t.Errorf("the signing request: %v", err)
		return body
	}
	// What travels to the signer: a CSR, never a private key.
	if bytes.Contains(body, []byte("PRIVATE KEY")) {
		t.Errorf("the authsign body holds a private key")
	}
	f(req)
	ar.Request, _ = json.Marshal(req)
	p, err := auth.New("file:"+keyFile, nil)
	if err != nil {
		t.Fatal(err)
	}
	ar.Token, _ = p.Token(ar.Request)
	out, _ := json.Marshal(ar)
	return out
}

// startRelay serves TLS on ip with the signer's own certificate and
// passes every call on to the real signer at upstream, rewriting authsign
// bodies with rewrite when it is set. The signing is the real
// multirootca's; the relay only makes it answer another request.
func startRelay(t *testing.T, signerDir, ip, upstream string, rewrite func([]byte) []byte) string {
	t.Helper()
	pair, err := tls.LoadX509KeyPair(filepath.Join(signerDir, "tls-chain.crt"), filepath.Join(signerDir, "tls.key"))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", ip+":0", &tls.Config{Certificates: []tls.Certificate{pair}})
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, ErrorLog: log.New(io.Discard, "", 0), Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if rewrite != nil && strings.HasSuffix(r.URL.Path, "/authsign") {
			body = rewrite(body)
		}
		resp, err := client.Post(upstream+r.URL.Path, "application/json", bytes.NewReader(body))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		w.WriteHeader(resp.StatusCode)
		io.Copy(w, io.LimitReader(resp.Body, 1<<20))
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	host := "localhost"
	if ip != "127.0.0.1" {
		host = ip
	}
	return "https://" + net.JoinHostPort(host, strconv.Itoa(ln.Addr().(*net.TCPAddr).Port))
}

// TestRemoteSignerPolicyRefusals: a signer whose allow-list leaves this
// machine out, and one whose configuration lacks a certkit profile, are
// each refused by init-ca --remote in words, with nothing written.
func TestRemoteSignerPolicyRefusals(t *testing.T) {
	testenv.NeedMultirootca(t)
	t.Run("not-allowed-address", func(t *testing.T) {
		caHome := t.TempDir()
		must(t, caHome, "init-ca", "--per-registry=false")
		sig := startRemoteSigner(t, caHome, "--allow", "10.99.0.0/16")
		h := filepath.Join(t.TempDir(), "home")
		fails(t, h, []string{"does not take requests from this machine's address", "nets="},
			"init-ca", "--remote", sig.url, "--auth-key-file", sig.authKey, "--ca-fingerprint", sig.fp)
		noFiles(t, h)
	})
	t.Run("unknown-profile", func(t *testing.T) {
		caHome := t.TempDir()
		must(t, caHome, "init-ca", "--per-registry=false")
		port := strconv.Itoa(testenv.FreePort(t))
		code, stdout, stderr := certkit(t, caHome, "template", "multirootca", "--host", "localhost:"+port, "--listen", "127.0.0.1:"+port)
		if code != 0 {
			t.Fatalf("template multirootca: exit %d\n%s", code, stderr)
		}
		// A hand-edited policy without the server-rsa profile.
		policy := filepath.Join(caHome, "signer", "signing.json")
		var cfg map[string]any
		if err := json.Unmarshal(readFile(t, policy), &cfg); err != nil {
			t.Fatal(err)
		}
		delete(cfg["signing"].(map[string]any)["profiles"].(map[string]any), "server-rsa")
		data, _ := json.Marshal(cfg)
		testenv.WriteFile(t, policy, data, 0o644)
		testenv.StartMultirootca(t, "127.0.0.1:"+port, strings.Fields(strings.TrimSpace(stdout))[1:])
		fp := ca.Fingerprint(readCertFile(t, filepath.Join(caHome, "ca", "ca.crt")))
		h := filepath.Join(t.TempDir(), "home")
		fails(t, h, []string{"has no certkit profiles under label", "certkit template multirootca"},
			"init-ca", "--remote", "https://localhost:"+port, "--auth-key-file", filepath.Join(caHome, "signer", "auth.key"), "--ca-fingerprint", fp)
		noFiles(t, h)
	})
}
