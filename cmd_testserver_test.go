package main

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"io"
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
	for _, want := range []string{
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
