package issue

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/certkit/certkit/ca"
	"github.com/certkit/certkit/host"
	"github.com/certkit/certkit/internal/testenv"
)

// BenchmarkIssueClientP256 is the cost of one P-256 client certificate in
// process: key, CSR, cfssl's reading of it, the signature, PEM, and the
// check of the result. No file is written.
func BenchmarkIssueClientP256(b *testing.B) { benchLeaf(b, ca.ECDSAP256) }

// BenchmarkIssueClientRSA2048 is the same with an RSA-2048 key, the old
// openssl recipe's key type: the key generation dominates.
func BenchmarkIssueClientRSA2048(b *testing.B) { benchLeaf(b, ca.RSA2048) }

func benchLeaf(b *testing.B, kt ca.KeyType) {
	c := benchCA(b)
	ls, err := newLeafSigner(c)
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now().Truncate(time.Second)
	r := leafRequest{profile: profileClient, cn: "runner", keyType: kt, notBefore: now.Add(-ca.Backdate), notAfter: now.Add(DefaultValidity)}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ls.issue(r); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkIssueOneClient is `certkit issue client` in process, after the
// CA is loaded: one certificate, both files written and flushed, in a
// fresh home folder each time under $CERTKIT_BENCH_DIR (see
// BenchmarkIssue1000Clients).
func BenchmarkIssueOneClient(b *testing.B) {
	c := benchCA(b)
	reg, err := host.Parse("reg.example.com:5000")
	if err != nil {
		b.Fatal(err)
	}
	for _, kt := range []ca.KeyType{ca.ECDSAP256, ca.RSA2048} {
		b.Run(string(kt), func(b *testing.B) {
			dir := testenv.BenchDir(b)
			n := 0
			for b.Loop() {
				n++
				if _, err := Issue(Options{Home: filepath.Join(dir, fmt.Sprint(n)), Registry: reg, Kind: Client, KeyType: kt, CA: c}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkIssue1000Clients is one `certkit issue client --names-file`
// with 1000 names, files and the final flush included, in a fresh folder
// under $CERTKIT_BENCH_DIR (e.g. /dev/shm for tmpfs), else the test's
// temporary folder.
func BenchmarkIssue1000Clients(b *testing.B) {
	c := benchCA(b)
	reg, err := host.Parse("reg.example.com:5000")
	if err != nil {
		b.Fatal(err)
	}
	names := make([]string, 1000)
	for i := range names {
		names[i] = fmt.Sprintf("runner-%04d", i)
	}
	dir := testenv.BenchDir(b)
	n := 0
	for b.Loop() {
		n++
		_, err := Issue(Options{Home: filepath.Join(dir, fmt.Sprint(n)), Registry: reg, Kind: Client, Names: names, CA: c})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(n*1000), "µs/cert")
}

func benchCA(b *testing.B) *ca.CA {
	b.Helper()
	res, err := ca.Create(ca.Options{Home: b.TempDir(), KeyType: ca.ECDSAP256})
	if err != nil {
		b.Fatal(err)
	}
	return res.CA
}
