package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// TestConcurrentRuns: three certkit runs at once on one home and one
// certs root, round after round: three init-ca, then three issue client
// --name x, then three install. Exactly one init-ca and one issue succeed
// (the others say what exists), every install succeeds, and what is on
// disk is always one CA, one pair of that CA, installed as it is in the
// home. No run fails with a bare system error.
func TestConcurrentRuns(t *testing.T) {
	rounds := 300
	if testing.Short() {
		rounds = 20
	}
	for round := range rounds {
		dir := t.TempDir()
		h := filepath.Join(dir, "home")
		certs := filepath.Join(dir, "certs.d")
		phases := [][]string{
			{"--home", h, "init-ca"},
			{"--home", h, "issue", "client", "--host", "reg.example.com", "--name", "x"},
			{"--home", h, "install", "--host", "reg.example.com", "--certs-dir", certs},
		}
		for _, args := range phases {
			codes := make([]int, 3)
			errs := make([]string, 3)
			var wg sync.WaitGroup
			for i := range 3 {
				wg.Go(func() { codes[i], errs[i] = ck(t, args...) })
			}
			wg.Wait()
			ok := 0
			for i, code := range codes {
				switch {
				case code == 0:
					ok++
				case !strings.Contains(errs[i], "already exist"):
					t.Fatalf("round %d, %s: run %d failed without the words for it:\n%s", round, args[2], i, errs[i])
				}
			}
			want := 1
			if args[2] == "install" {
				want = 3
			}
			if ok != want {
				t.Fatalf("round %d, %s: %d runs succeeded, want %d:\n%s", round, args[2], ok, want, strings.Join(errs, "\n"))
			}
		}
		checkOnePKI(t, h, certs)
	}
}

// checkOnePKI checks that the home holds one CA and one pair x of it, and
// that the certs root holds the same.
func checkOnePKI(t *testing.T, h, certs string) {
	t.Helper()
	read := func(p string) []byte {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	caPEM, caKey := read(filepath.Join(h, "ca", "ca.crt")), read(filepath.Join(h, "ca", "ca.key"))
	if _, err := tls.X509KeyPair(caPEM, caKey); err != nil {
		t.Fatalf("ca.crt and ca.key are not one CA: %v", err)
	}
	reg := filepath.Join(h, "hosts", "reg.example.com")
	certPEM, keyPEM := read(filepath.Join(reg, "x.cert")), read(filepath.Join(reg, "x.key"))
	if _, err := tls.X509KeyPair(certPEM, keyPEM); err != nil {
		t.Fatalf("x.cert and x.key are not one pair: %v", err)
	}
	block, _ := pem.Decode(certPEM)
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	pool, inter := x509.NewCertPool(), x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	inter.AppendCertsFromPEM(certPEM) // the registry's issuing CA after the leaf
	if _, err := cert.Verify(x509.VerifyOptions{Roots: pool, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Fatalf("x.cert is not of the home's CA: %v", err)
	}
	installed := filepath.Join(certs, "reg.example.com")
	for src, dst := range map[string]string{
		filepath.Join(h, "ca", "ca.crt"): "ca.crt", filepath.Join(reg, "x.cert"): "x.cert", filepath.Join(reg, "x.key"): "x.key",
	} {
		if got := read(filepath.Join(installed, dst)); string(got) != string(read(src)) {
			t.Fatalf("%s differs from the home's %s", dst, src)
		}
	}
}
