package main

import (
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// A folder Docker and podman refuse to load (here a stray CA key) fails
// every pull before they connect: the live report says so, fails, and
// never says "Docker sends" of a pair it would not send.
func TestVerifyCommandRefusedFolder(t *testing.T) {
	home := t.TempDir()
	certs := filepath.Join(t.TempDir(), "certs.d")
	must(t, home, "init-ca")
	must(t, home, "issue", "server", "--host", "registry.test")
	addr := serveRegistry(t, home, "registry.test")
	_, port, _ := net.SplitHostPort(addr)
	reg := "registry.test:" + port
	must(t, home, "issue", "client", "--host", reg)
	must(t, home, "install", "--host", reg, "--certs-dir", certs)
	key, err := os.ReadFile(filepath.Join(home, "ca", "ca.key"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(certs, reg, "ca.key"), key, 0o600); err != nil {
		t.Fatal(err)
	}

	code, _, stderr := certkit(t, home, "verify", "--host", reg, "--certs-dir", certs, "--addr", addr)
	if code != 1 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	for _, want := range []string{
		`(?m)^  error   folder: .*; Docker and podman refuse to load it: 1 error, 0 warnings below$`,
		`(?m)^  error   loader: Docker and podman refuse to load .*/certs\.d/registry\.test:\d+ \(missing client certificate ca\.cert for key ca\.key\), so every pull and login for registry\.test:\d+ fails before they connect`,
		`(?m)^          fix: correct the folder first \(the folder checks above say how\), then run certkit verify again$`,
		`(?m)^  ok      client-cert-request: .*; client\.cert is the pair Docker would send once the folder loads$`,
		`(?m)^  ok      pair:client: client\.cert \(the pair Docker would send once the folder loads\): accepted`,
		`(?m)^registry\.test:\d+: 2 errors, 0 warnings`,
		`(?m)^certkit: error: registry\.test:\d+ failed verification$`,
	} {
		if !regexp.MustCompile(want).MatchString(stderr) {
			t.Errorf("stderr lacks %s:\n%s", want, stderr)
		}
	}
	if strings.Contains(stderr, "Docker sends client.cert") || strings.Contains(stderr, "the pair Docker sends") {
		t.Errorf("a pair is presented as sent from a refused folder:\n%s", stderr)
	}
}
