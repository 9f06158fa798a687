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
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudflare/cfssl/api/client"
	"github.com/cloudflare/cfssl/auth"
	"github.com/cloudflare/cfssl/csr"

	"github.com/certkit/certkit/internal/testenv"
)

// BenchmarkRemoteIssue is issuance through a local multirootca (the
// pinned cfssl's, started from certkit template multirootca) from a home
// made with init-ca --remote:
//
//	one/process   certkit issue client as a new process (built from this
//	              checkout), run in turn with its floor, a local issue
//	              client and a hello-world Go program (see processFloor)
//	one/warm      the same command in this process
//	1000          1000 client certificates in one command (--names-file)
//	bare-1000/seq a bare loop over cfssl's api/client: key, CSR, AuthSign,
//	              one after the other, nothing checked or written
//	bare-1000/par the same with as many requests in flight as certkit
//
//	go test -run '^$' -bench BenchmarkRemoteIssue -benchtime 5x .
//
// The homes are under $CERTKIT_BENCH_DIR (e.g. /dev/shm for tmpfs), else
// the test's temporary folder.
func BenchmarkRemoteIssue(b *testing.B) {
	testenv.NeedMultirootca(b)
	caHome := testenv.BenchDir(b)
	benchCertkit(b, caHome, "init-ca", "--per-registry=false")
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
	h := testenv.BenchDir(b)
	benchCertkit(b, h, "init-ca", "--remote", url, "--auth-key-file", keyFile, "--ca-fingerprint", fp)

	n := 0
	next := func() string { n++; return "c" + strconv.Itoa(n) }
	b.Run("one/process", func(b *testing.B) {
		bin := buildProcesses(b)
		issue := func(home string) []string {
			return []string{bin.certkit, "--home", home, "issue", "client", "--host", "reg.example:5000", "--name", next()}
		}
		processFloor(b, []benchProcess{
			{"certkit", func() []string { return issue(h) }},
			{"floor", func() []string {
				return []string{bin.floor, "-url", url, "-auth-key-file", keyFile, "-ca", filepath.Join(caHome, "ca", "ca.crt")}
			}},
			{"local", func() []string { return issue(caHome) }},
			{"hello", func() []string { return []string{bin.hello} }},
		})
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

// benchBinaries are the programs one/process runs, built for the run.
type benchBinaries struct{ certkit, floor, hello string }

// buildProcesses builds certkit from this checkout, bench/remotefloor (the
// floor: a bare cfssl api/client that makes a key and a CSR and has the
// signer sign it, nothing checked or written) and a hello-world Go
// program.
func buildProcesses(b *testing.B) benchBinaries {
	b.Helper()
	dir := b.TempDir()
	bin := benchBinaries{certkit: filepath.Join(dir, "certkit"), floor: filepath.Join(dir, "remotefloor"), hello: filepath.Join(dir, "hello", "hello")}
	hello := filepath.Join(dir, "hello")
	if err := os.Mkdir(hello, 0o755); err != nil {
		b.Fatal(err)
	}
	testenv.WriteFile(b, filepath.Join(hello, "go.mod"), []byte("module hello\n\ngo 1.26\n"), 0o644)
	testenv.WriteFile(b, filepath.Join(hello, "main.go"), []byte("package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(\"hello, world\") }\n"), 0o644)
	helloBuild := exec.Command("go", "build", "-o", bin.hello, ".")
	helloBuild.Dir = hello
	for _, c := range []*exec.Cmd{
		exec.Command("go", "build", "-o", bin.certkit, "."),
		exec.Command("go", "build", "-o", bin.floor, "./bench/remotefloor"),
		helloBuild,
	} {
		if out, err := c.CombinedOutput(); err != nil {
			b.Fatalf("%s: %v\n%s", strings.Join(c.Args, " "), err, out)
		}
	}
	return bin
}

// benchProcess is one program processFloor runs: its name in the metrics,
// and its command line for each run.
type benchProcess struct {
	name string
	args func() []string
}

// processFloor runs each program once per iteration, in turn, so that
// whatever else the machine does falls on all of them alike, and reports
// each one's median wall time (NAME-ms), the first one's as ns/op, and its
// ratios to the others (x-NAME). On a shared machine, read the ratios.
func processFloor(b *testing.B, progs []benchProcess) {
	b.Helper()
	times := make([][]time.Duration, len(progs))
	for b.Loop() {
		for i, p := range progs {
			args := p.args()
			cmd := exec.Command(args[0], args[1:]...)
			start := time.Now()
			out, err := cmd.CombinedOutput()
			times[i] = append(times[i], time.Since(start))
			if err != nil {
				b.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
			}
		}
	}
	med := make([]float64, len(progs))
	for i, t := range times {
		slices.Sort(t)
		med[i] = float64(t[len(t)/2])
		b.ReportMetric(med[i]/1e6, progs[i].name+"-ms")
	}
	b.ReportMetric(med[0], "ns/op")
	for i := 1; i < len(progs); i++ {
		b.ReportMetric(med[0]/med[i], "x-"+progs[i].name)
	}
}

func must1[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
