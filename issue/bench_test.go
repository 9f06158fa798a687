package issue

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/certkit/certkit/ca"
	"github.com/certkit/certkit/host"
)

// BenchmarkIssueClientP256 is the cost of one P-256 client certificate in
// process: key, CSR, cfssl signature, PEM, and the check of the result.
func BenchmarkIssueClientP256(b *testing.B) {
	c := benchCA(b)
	ls, err := newLeafSigner(c)
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now().Truncate(time.Second)
	r := leafRequest{profile: profileClient, cn: "runner", keyType: ca.ECDSAP256, notBefore: now.Add(-ca.Backdate), notAfter: now.Add(DefaultValidity)}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ls.issue(r); err != nil {
			b.Fatal(err)
		}
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
	dir := b.TempDir()
	if d := os.Getenv("CERTKIT_BENCH_DIR"); d != "" {
		var err error
		if dir, err = os.MkdirTemp(d, "certkit-bench"); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { os.RemoveAll(dir) })
	}
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
