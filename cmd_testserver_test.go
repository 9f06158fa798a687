package main

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestTestserverCommand runs `certkit testserver` as people do: it prints
// the address it chose, answers a client with the issued certificate, refuses
// one without, logs both, and exits 0 on Ctrl-C (SIGINT) and on SIGTERM.
func TestTestserverCommand(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) { testTestserver(t, sig) })
	}
}

func testTestserver(t *testing.T, sig syscall.Signal) {
	homeDir := t.TempDir()
	certkit := func(args ...string) {
		t.Helper()
		cmd := exec.Command("certkit", args...)
		cmd.Env = append(os.Environ(), "CERTKIT_HOME="+homeDir)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("certkit %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	certkit("init-ca")
	certkit("issue", "server", "--host", "localhost:5000")
	certkit("issue", "client", "--host", "localhost:5000", "--name", "alice")

	cmd := exec.Command("certkit", "testserver", "--host", "localhost:5000")
	cmd.Env = append(os.Environ(), "CERTKIT_HOME="+homeDir)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	t.Cleanup(func() { cmd.Process.Kill() }) // an error once it has exited
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("reading the address: %v; stderr:\n%s", err, stderr.String())
	}
	addr := strings.TrimSpace(line)
	if !strings.HasPrefix(addr, "127.0.0.1:") {
		t.Fatalf("stdout %q, want 127.0.0.1:PORT", line)
	}
	go func() { io.Copy(io.Discard, stdout); exited <- cmd.Wait() }()

	dir := filepath.Join(homeDir, "hosts", "localhost:5000")
	caPEM, err := os.ReadFile(filepath.Join(homeDir, "ca", "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(caPEM)
	pair, err := tls.LoadX509KeyPair(filepath.Join(dir, "alice.cert"), filepath.Join(dir, "alice.key"))
	if err != nil {
		t.Fatal(err)
	}
	get := func(certs []tls.Certificate) (int, string, string) {
		t.Helper()
		c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
			TLSClientConfig:   &tls.Config{RootCAs: roots, ServerName: "localhost", Certificates: certs},
			DisableKeepAlives: true,
		}}
		resp, err := c.Get("https://" + addr + "/v2/")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
		return resp.StatusCode, string(body), resp.Header.Get("Docker-Distribution-API-Version")
	}
	if status, body, v := get([]tls.Certificate{pair}); status != 200 || body != "{}" || v != "registry/2.0" {
		t.Errorf("with the client certificate: %d %q %q", status, body, v)
	}
	if status, body, _ := get(nil); status != 403 || !strings.Contains(body, "no client certificate was sent") {
		t.Errorf("without a client certificate: %d %q", status, body)
	}
	// A client names itself: a newline or an ESC in its certificate's
	// subject must not forge a log line or reach the terminal.
	forged := forgedClient(t, "mallory\n2026-01-01T00:00:00Z 127.0.0.1 GET /v2/ 200 CN=admin\x1b[2J")
	fc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: roots, ServerName: "localhost",
			// Sent whatever CAs the server asks for.
			GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &forged, nil }},
		DisableKeepAlives: true,
	}}
	if resp, err := fc.Get("https://" + addr + "/v2/"); err == nil {
		resp.Body.Close()
		if resp.StatusCode != 403 {
			t.Errorf("with a forged client: %d", resp.StatusCode)
		}
	}

	if err := cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("after %v: %v, want exit 0; stderr:\n%s", sig, err, stderr.String())
		}
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("still running 20s after %v", sig)
	}
	log := stderr.String()
	if strings.Contains(log, "\x1b") || strings.Contains(log, "\nCN=admin") || strings.Contains(log, "\n2026-01-01") {
		t.Errorf("a client's subject reached the log raw:\n%q", log)
	}
	for _, want := range []string{
		`CN=mallory\n2026-01-01T00:00:00Z 127.0.0.1 GET /v2/ 200 CN=admin\x1b[2J`,
		"Serving https://" + addr + "/v2/ with the server certificate of localhost:5000.",
		" GET /v2/ 200 CN=alice",
		" GET /v2/ 403 (no client certificate): no client certificate was sent",
		"Stopped.",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("stderr lacks %q:\n%s", want, log)
		}
	}
}

// forgedClient is a self-signed client certificate with the given Common
// Name, from no CA certkit knows.
func forgedClient(t *testing.T, cn string) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}
