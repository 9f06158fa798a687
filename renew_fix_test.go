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

// TestDay2HintsWork runs, exactly as printed, status's hint for
// certificates inside the window and renew's Next line for pairs renewed
// without --install; after each, certs.d holds the home's renewed pair.
func TestDay2HintsWork(t *testing.T) {
	h := filepath.Join(t.TempDir(), "home")
	t.Setenv("CERTKIT_HOME", h)
	certs := filepath.Join(t.TempDir(), "certs.d")
	for _, args := range [][]string{
		{"init-ca"},
		{"issue", "client", "--host", "reg.example.com:5000", "--name", "soon", "--validity", "2d"},
		{"issue", "client", "--host", "reg.example.com:5000", "--name", "later"},
		{"install", "--host", "reg.example.com:5000", "--certs-dir", certs},
	} {
		if code, stderr := ck(t, args...); code != 0 {
			t.Fatalf("%v: %s", args, stderr)
		}
	}
	installed := func(name string) []byte {
		return readFile(t, filepath.Join(certs, "reg.example.com:5000", name+".cert"))
	}
	home := func(name string) []byte {
		return readFile(t, filepath.Join(h, "hosts", "reg.example.com:5000", name+".cert"))
	}

	code, stderr := ck(t, "status", "--certs-dir", certs, "--within", "3d")
	if code != 1 {
		t.Fatalf("status exits %d, want 1:\n%s", code, stderr)
	}
	old := installed("soon")
	runPrintedLine(t, stderr, "certkit: hint: ", "")
	if bytes.Equal(installed("soon"), old) || !bytes.Equal(installed("soon"), home("soon")) {
		t.Error("after status's hint, certs.d does not hold the home's renewed pair")
	}

	code, stderr = ck(t, "renew", "--all", "--name", "later", "--certs-dir", certs)
	if code != 0 {
		t.Fatal(stderr)
	}
	runPrintedLine(t, stderr, "Next: install the renewed pairs: ", " (or renew with --install)")
	if !bytes.Equal(installed("later"), home("later")) {
		t.Error("after renew's Next line, certs.d does not hold the home's renewed pair")
	}
}

// runPrintedLine finds the line of out that starts with prefix, takes the
// certkit command in it (after the last ": certkit " or the prefix, up to
// suffix), and runs it.
func runPrintedLine(t *testing.T, out, prefix, suffix string) {
	t.Helper()
	for _, line := range strings.Split(out, "\n") {
		rest, ok := strings.CutPrefix(line, prefix)
		if !ok {
			continue
		}
		if i := strings.LastIndex(rest, ": certkit "); i >= 0 {
			rest = rest[i+2:]
		}
		cmd := rest
		if suffix != "" {
			cmd, _, _ = strings.Cut(rest, suffix)
		}
		words := shellWords(cmd)
		if len(words) == 0 || words[0] != "certkit" {
			t.Fatalf("no certkit command in %q", line)
		}
		if code, stderr := ck(t, words[1:]...); code != 0 {
			t.Fatalf("the printed %q fails (%d):\n%s", cmd, code, stderr)
		}
		return
	}
	t.Fatalf("no line starting %q in:\n%s", prefix, out)
}
