//go:build unix

package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/cloudflare/cfssl/api/client"
	"github.com/cloudflare/cfssl/auth"
	"github.com/cloudflare/cfssl/csr"

	"github.com/certkit/certkit/internal/testenv"
)

// BenchmarkRemoteIssue is issuance through a local multirootca (the
// pinned cfssl's, started from certkit template multirootca) from a home
// made with init-ca --remote:
//
//	one/process   certkit issue client as a new process (certkit on PATH)
//	one/warm      the same command in this process
//	1000          1000 client certificates in one command (--names-file)
//	bare-1000/seq a bare loop over cfssl's api/client: key, CSR, AuthSign,
//	              one after the other, nothing checked or written
//	bare-1000/par the same with as many requests in flight as certkit
//
//	go test -run '^$' -bench BenchmarkRemoteIssue -benchtime 5x .
func BenchmarkRemoteIssue(b *testing.B) {
	testenv.NeedMultirootca(b)
	caHome := b.TempDir()
	benchCertkit(b, caHome, "init-ca")
	port := strconv.Itoa(testenv.FreePort(b))
	var stdout, stderr bytes.Buffer
	if code := runWith([]string{"certkit", "--home", caHome, "template", "multirootca", "--host", "localhost:" + port, "--listen", "127.0.0.1:" + port},
		strings.NewReader(""), &stdout, &stderr); code != 0 {
		b.Fatalf("template multirootca: %s", stderr.String())
	}
	args := strings.Fields(stdout.String())
	testenv.StartMultirootca(b, "127.0.0.1:"+port, args[1:])
	url := "https://localhost:" + port
	keyFile := filepath.Join(caHome, "signer", "auth.key")
	fp := strings.TrimSpace(string(must1(exec.Command("openssl", "x509", "-noout", "-fingerprint", "-sha256", "-in", filepath.Join(caHome, "ca", "ca.crt")).Output())))
	fp = fp[strings.LastIndex(fp, "=")+1:]
	h := b.TempDir()
	benchCertkit(b, h, "init-ca", "--remote", url, "--auth-key-file", keyFile, "--ca-fingerprint", fp)

	n := 0
	next := func() string { n++; return "c" + strconv.Itoa(n) }
	b.Run("one/process", func(b *testing.B) {
		bin, err := exec.LookPath("certkit")
		if err != nil {
			b.Skip("put a certkit binary on PATH: go build -o $(go env GOPATH)/bin/certkit .")
		}
		for b.Loop() {
			cmd := exec.Command(bin, "--home", h, "issue", "client", "--host", "reg.example:5000", "--name", next())
			if out, err := cmd.CombinedOutput(); err != nil {
				b.Fatalf("%v\n%s", err, out)
			}
		}
	})
	b.Run("one/warm", func(b *testing.B) {
		for b.Loop() {
			benchCertkit(b, h, "issue", "client", "--host", "reg.example:5000", "--name", next())
		}
	})
	var names []string
	for i := range 1000 {
		names = append(names, fmt.Sprintf("runner-%04d", i))
	}
	namesFile := filepath.Join(b.TempDir(), "names.txt")
	testenv.WriteFile(b, namesFile, []byte(strings.Join(names, "\n")+"\n"), 0o644)
	b.Run("1000", func(b *testing.B) {
		for b.Loop() {
			benchCertkit(b, h, "issue", "client", "--host", "fleet"+next()+".example:5000", "--names-file", namesFile)
		}
	})

	caPEM := must1(os.ReadFile(filepath.Join(caHome, "ca", "ca.crt")))
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	prov := must1(auth.New("file:"+keyFile, nil))
	bare := func(b *testing.B, count int) {
		srv := client.NewServerTLS(url, &tls.Config{RootCAs: pool})
		for range count {
			key := must1(ecdsa.GenerateKey(elliptic.P256(), rand.Reader))
			csrPEM := must1(csr.Generate(key, &csr.CertificateRequest{CN: "bare"}))
			req := must1(json.Marshal(map[string]any{"certificate_request": string(csrPEM), "profile": "client", "label": "certkit"}))
			if _, err := srv.AuthSign(req, nil, prov); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("bare-1000/seq", func(b *testing.B) {
		for b.Loop() {
			bare(b, 1000)
		}
	})
	b.Run("bare-1000/par", func(b *testing.B) {
		const workers = 8 // issue.DefaultRemoteWorkers
		for b.Loop() {
			var wg sync.WaitGroup
			for range workers {
				wg.Go(func() { bare(b, 1000/workers) })
			}
			wg.Wait()
		}
	})
}

func must1[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
