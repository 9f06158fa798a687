package testenv

import (
	"fmt"
	"net"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// RegistryConfig is the configuration StartRegistry writes for Debian's
// docker-registry (distribution 2.8).
type RegistryConfig struct {
	// Addr is the address to listen on; "" is a port the registry picks
	// on 127.0.0.1.
	Addr string
	// Chain and Key are the files of the server certificate (with its
	// chain) and its key (http.tls.certificate, key); without them the
	// registry serves plain HTTP, as the upstream of a TLS proxy.
	Chain, Key string
	// ClientCAs are CA certificate files (http.tls.clientcas): the
	// registry takes only clients with a certificate one of them signed.
	ClientCAs []string
}

// The registry's log line when it listens: `msg="listening on ADDR, tls"`
// with TLS, `msg="listening on ADDR"` without.
var (
	listeningTLS   = regexp.MustCompile(`msg="listening on ([^\s,"]+), tls"`)
	listeningPlain = regexp.MustCompile(`msg="listening on ([^\s,"]+)"`)
)

// StartRegistry runs docker-registry with a config.yml written from cfg
// and storage in a temporary folder, until the test ends. It returns the
// address the registry says in its log that it listens on (no polling).
// A missing docker-registry fails the test under CI=true, else skips it.
func StartRegistry(t testing.TB, cfg RegistryConfig) string {
	t.Helper()
	bin := NeedTool(t, "docker-registry")
	tls := cfg.Chain != "" || cfg.Key != ""
	if tls && (cfg.Chain == "" || cfg.Key == "") || !tls && len(cfg.ClientCAs) > 0 {
		t.Fatalf("StartRegistry: a certificate needs its key, and client CAs need both: %+v", cfg)
	}
	addr := cfg.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	dir := t.TempDir()
	var b strings.Builder
	fmt.Fprintf(&b, "version: 0.1\nlog:\n  level: info\n  formatter: text\nstorage:\n  filesystem:\n    rootdirectory: %q\nhttp:\n  addr: %q\n", filepath.Join(dir, "storage"), addr)
	ready := listeningPlain
	if tls {
		ready = listeningTLS
		fmt.Fprintf(&b, "  tls:\n    certificate: %q\n    key: %q\n", cfg.Chain, cfg.Key)
		if len(cfg.ClientCAs) > 0 {
			b.WriteString("    clientcas:\n")
			for _, ca := range cfg.ClientCAs {
				fmt.Fprintf(&b, "      - %q\n", ca)
			}
		}
	}
	path := filepath.Join(dir, "config.yml")
	WriteFile(t, path, []byte(b.String()), 0o600)
	m := StartProcess(t, Program{Path: bin, Args: []string{"serve", path}, Ready: ready})
	got := m[1]
	if _, port, err := net.SplitHostPort(addr); err == nil && port != "0" && got != addr {
		t.Fatalf("docker-registry listens on %s, not on %s", got, addr)
	}
	return got
}
