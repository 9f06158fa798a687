package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/certkit/certkit/verify"
)

// certkit runs the CLI in-process with CERTKIT_HOME set to home and
// returns the exit code, stdout and stderr.
func certkit(t *testing.T, home string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := runWith(append([]string{"certkit", "--home", home}, args...), strings.NewReader(""), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func must(t *testing.T, home string, args ...string) string {
	t.Helper()
	code, _, stderr := certkit(t, home, args...)
	if code != 0 {
		t.Fatalf("certkit %s: exit %d\n%s", strings.Join(args, " "), code, stderr)
	}
	return stderr
}

// serveRegistry serves GET /v2/ over TLS with the server certificate
// certkit issued for name, requiring client certificates from the certkit
// CA. forbid names client certificate CNs answered with 403.
func serveRegistry(t *testing.T, home, name string, forbid ...string) string {
	t.Helper()
	dir := filepath.Join(home, "hosts", name)
	cert, err := tls.LoadX509KeyPair(filepath.Join(dir, "server-chain.crt"), filepath.Join(dir, "server.key"))
	if err != nil {
		t.Fatal(err)
	}
	caPEM, err := os.ReadFile(filepath.Join(home, "ca", "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pool}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := func(w http.ResponseWriter, r *http.Request) {
		for _, cn := range forbid {
			if r.TLS.PeerCertificates[0].Subject.CommonName == cn {
				http.Error(w, "forbidden", http.StatusForbidden)
				return
			}
		}
		w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
		io.WriteString(w, "{}")
	}
	srv := &http.Server{Handler: http.HandlerFunc(h), ErrorLog: log.New(io.Discard, "", 0)}
	go srv.Serve(tls.NewListener(ln, cfg))
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// The live verify from the command line: the human report, JSON, exit
// codes, and --all over several registries with one failing.
func TestVerifyCommandLive(t *testing.T) {
	home := t.TempDir()
	certs := filepath.Join(t.TempDir(), "certs.d")
	must(t, home, "init-ca")
	must(t, home, "issue", "server", "--host", "registry.test")
	addr := serveRegistry(t, home, "registry.test", "a-intruder")
	_, port, _ := net.SplitHostPort(addr)
	reg := "registry.test:" + port
	must(t, home, "issue", "client", "--host", reg)
	must(t, home, "install", "--host", reg, "--certs-dir", certs)

	code, stdout, stderr := certkit(t, home, "verify", "--host", reg, "--certs-dir", certs, "--addr", addr)
	if code != 0 || stdout != "" {
		t.Fatalf("exit %d, stdout %q\n%s", code, stdout, stderr)
	}
	for _, want := range []string{
		`(?m)^registry\.test:\d+ \(.*/certs\.d/registry\.test:\d+\)$`,
		`(?m)^  ok      connect: connected to 127\.0\.0\.1:\d+ \(--addr\)$`,
		`(?m)^  ok      tls: TLS 1\.3, server certificate "registry\.test" valid for registry\.test until \d{4}-\d\d-\d\d, trusted through the folder's CA "certkit CA .*"$`,
		`(?m)^  ok      client-cert-request: the registry asks for a client certificate issued by "certkit CA .*"; Docker sends client\.cert$`,
		`(?m)^  ok      pair:client: client\.cert \(the pair Docker sends\): accepted \(GET /v2/ answered 200 OK\)$`,
		`(?m)^  ok      no-client-cert: without a client certificate the registry refuses the connection \(TLS alert: certificate required\)$`,
		`(?m)^  ok      api-version: the registry speaks the v2 API`,
		`(?m)^registry\.test:\d+: passed, 0 warnings \(\d+ms\)$`,
	} {
		if !regexp.MustCompile(want).MatchString(stderr) {
			t.Errorf("stderr lacks %s:\n%s", want, stderr)
		}
	}

	code, stdout, _ = certkit(t, home, "verify", "--host", reg, "--certs-dir", certs, "--addr", addr, "--json")
	var rep verify.Report
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil || code != 0 {
		t.Fatalf("exit %d, JSON %v:\n%s", code, err, stdout)
	}
	if rep.Registry != reg || rep.WillSend != "client" || len(rep.Accepted) != 1 || rep.Server == nil || len(rep.Server.Chain) != 3 || rep.Elapsed <= 0 {
		t.Fatalf("report: %+v", rep)
	}

	// a second pair that the registry refuses and that sorts first: Docker
	// sends it, so verify fails, and names the pair that works
	must(t, home, "issue", "client", "--host", reg, "--name", "a-intruder")
	must(t, home, "install", "--host", reg, "--certs-dir", certs)
	code, _, stderr = certkit(t, home, "verify", "--host", reg, "--certs-dir", certs, "--addr", addr)
	if code != 1 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	for _, want := range []string{
		`(?m)^  ok      client-cert-request: .*; Docker sends a-intruder\.cert$`,
		`(?m)^  error   pair:a-intruder: a-intruder\.cert \(the pair Docker sends\): rejected by the server: GET /v2/ answered 403 Forbidden \("forbidden"\)$`,
		`(?m)^          fix: the registry accepts client\.cert: remove a-intruder\.cert and a-intruder\.key from the folder`,
		`(?m)^  ok      pair:client: client\.cert: accepted`,
		`(?m)^certkit: error: registry\.test:\d+ failed verification$`,
	} {
		if !regexp.MustCompile(want).MatchString(stderr) {
			t.Errorf("stderr lacks %s:\n%s", want, stderr)
		}
	}

	// --all resolves each folder's name (no --addr): a localhost registry,
	// with the loopback warning, beside the failing one
	must(t, home, "issue", "server", "--host", "localhost")
	lo := serveRegistry(t, home, "localhost")
	_, loPort, _ := net.SplitHostPort(lo)
	must(t, home, "issue", "client", "--host", "localhost:"+loPort)
	must(t, home, "install", "--host", "localhost:"+loPort, "--certs-dir", certs)
	code, stdout, stderr = certkit(t, home, "verify", "--all", "--certs-dir", certs)
	if code != 1 || stdout != "" {
		t.Fatalf("--all: exit %d\n%s\n%s", code, stdout, stderr)
	}
	for _, want := range []string{
		`(?m)^  ok      resolve: localhost resolves to `,
		// Docker sends no certificate to a loopback registry: the pair is
		// podman's and containerd's
		`(?m)^  ok      pair:client: client\.cert \(the pair podman and containerd send; Docker sends none to a loopback registry\): accepted`,
		`(?m)^  warning loopback: localhost:\d+ is a loopback registry.*, so docker login and pull are refused here`,
		`(?m)^localhost:\d+: passed, 1 warning`,
		// .test never resolves (RFC 6761); how the resolver says so varies
		`(?m)^  error   resolve: (registry\.test does not resolve|no DNS answer for registry\.test|cannot resolve registry\.test)`,
		`(?m)^certkit: error: 1 of 2 registries failed verification: registry\.test:\d+$`,
	} {
		if !regexp.MustCompile(want).MatchString(stderr) {
			t.Errorf("stderr lacks %s:\n%s", want, stderr)
		}
	}
}
