package main

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// TestVerifyExpiryFixWorks: verify's fix for an expiring client pair is
// run exactly as printed, and afterwards the pair in certs.d is the
// renewed one and verify no longer warns.
func TestVerifyExpiryFixWorks(t *testing.T) {
	h := filepath.Join(t.TempDir(), "home")
	t.Setenv("CERTKIT_HOME", h)
	certs := filepath.Join(t.TempDir(), "certs.d")
	for _, args := range [][]string{
		{"init-ca"},
		{"issue", "client", "--host", "reg.example.com:5000", "--name", "soon", "--validity", "10d"},
		{"install", "--host", "reg.example.com:5000", "--certs-dir", certs},
	} {
		if code, stderr := ck(t, args...); code != 0 {
			t.Fatalf("%v: %s", args, stderr)
		}
	}
	fix := expiryFix(t, certs)
	if fix == "" {
		t.Fatal("verify gives no fix for the expiring pair")
	}
	_, cmd, ok := strings.Cut(fix, ": certkit ")
	if !ok {
		t.Fatalf("the fix has no certkit command: %q", fix)
	}
	old := readFile(t, filepath.Join(certs, "reg.example.com:5000", "soon.cert"))
	if code, stderr := ck(t, shellWords(cmd)...); code != 0 {
		t.Fatalf("the printed fix %q fails: %s", cmd, stderr)
	}
	now := readFile(t, filepath.Join(certs, "reg.example.com:5000", "soon.cert"))
	if bytes.Equal(old, now) || !bytes.Equal(now, readFile(t, filepath.Join(h, "hosts", "reg.example.com:5000", "soon.cert"))) {
		t.Error("after the fix, certs.d does not hold the home's renewed pair")
	}
	// The renewal keeps the length (10 days): still inside verify's 30
	// days, so the warning stays, with the same fix for the new pair. What
	// must be gone is the old certificate.
	if strings.Contains(expiryFix(t, certs), "expires in 9 days") {
		t.Error("verify still reads the old certificate")
	}
}

// expiryFix runs verify --offline --json and returns the fix of its
// expiring-pair check.
func expiryFix(t *testing.T, certs string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	runWith([]string{"certkit", "verify", "--host", "reg.example.com:5000", "--certs-dir", certs, "--offline", "--json"}, strings.NewReader(""), &stdout, &stderr)
	var rep struct {
		Checks []struct{ Kind, Message, Fix string }
	}
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("verify --json: %v\n%s\n%s", err, stdout.String(), stderr.String())
	}
	for _, c := range rep.Checks {
		if c.Kind == "expiring" {
			return c.Fix
		}
	}
	return ""
}
