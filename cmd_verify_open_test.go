package main

import (
	"net"
	"path/filepath"
	"strings"
	"testing"

	"github.com/certkit/certkit/internal/testenv"
)

// Debian's docker-registry without http.tls.clientcas serves anyone:
// verify fails (exit 1) unless --allow-open says it is meant to; --strict
// fails on any warning (here localhost's loopback warning).
func TestVerifyOpenRegistryFails(t *testing.T) {
	home := t.TempDir()
	certs := filepath.Join(t.TempDir(), "certs.d")
	must(t, home, "init-ca")
	must(t, home, "issue", "server", "--host", "localhost")
	dir := filepath.Join(home, "hosts", "localhost")
	addr := testenv.StartRegistry(t, testenv.RegistryConfig{Chain: filepath.Join(dir, "server-chain.crt"), Key: filepath.Join(dir, "server.key")})
	_, port, _ := net.SplitHostPort(addr)
	reg := "localhost:" + port
	must(t, home, "issue", "client", "--host", reg)
	must(t, home, "install", "--host", reg, "--certs-dir", certs)

	code, _, stderr := certkit(t, home, "verify", "--host", reg, "--certs-dir", certs)
	if code != 1 || !strings.Contains(stderr, "  error   client-cert-request: the registry does not ask for a client certificate") ||
		!strings.Contains(stderr, "certkit: error: "+reg+" failed verification") {
		t.Fatalf("open registry: exit %d\n%s", code, stderr)
	}
	code, _, stderr = certkit(t, home, "verify", "--host", reg, "--certs-dir", certs, "--allow-open")
	if code != 0 || !strings.Contains(stderr, reg+": passed, 1 warning") {
		t.Fatalf("--allow-open: exit %d\n%s", code, stderr)
	}
	code, _, stderr = certkit(t, home, "verify", "--host", reg, "--certs-dir", certs, "--allow-open", "--strict")
	if code != 1 || !strings.Contains(stderr, reg+": 1 warning, failed under --strict") ||
		!strings.Contains(stderr, "certkit: error: "+reg+" failed verification: --strict fails on its 1 warning") {
		t.Fatalf("--strict: exit %d\n%s", code, stderr)
	}
}
