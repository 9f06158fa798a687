package status

import (
	"fmt"
	"testing"

	cflog "github.com/cloudflare/cfssl/log"

	"github.com/certkit/certkit/ca"
	"github.com/certkit/certkit/host"
	"github.com/certkit/certkit/install"
	"github.com/certkit/certkit/issue"
)

// BenchmarkRead10000: status over a home of 10,000 client certificates and
// their copies in one certs root (issue #13's target: under 0.3 s).
//
//	go test -run '^$' -bench Read10000 -benchtime 5x ./status/
func BenchmarkRead10000(b *testing.B) {
	cflog.Level = cflog.LevelFatal + 1 // as certkit's main does
	h := b.TempDir()
	if _, err := ca.Create(ca.Options{Home: h, Machine: "bench"}); err != nil {
		b.Fatal(err)
	}
	reg, _ := host.Parse("reg.example.com:5000")
	names := make([]string, 10000)
	for i := range names {
		names[i] = fmt.Sprintf("c%05d", i)
	}
	if _, err := issue.Issue(issue.Options{Home: h, Registry: reg, Kind: issue.Client, Names: names}); err != nil {
		b.Fatal(err)
	}
	root, err := install.CustomRoot(install.Docker, b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	if _, err := install.Install(install.Options{Home: h, Registries: []host.Registry{reg}, Roots: []install.Root{root}}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		rep, err := Read(Options{Home: h, Roots: []install.Root{root}})
		if err != nil {
			b.Fatal(err)
		}
		if len(rep.Certs) != 2*10000+2 { // the CA and the pairs, in the home and in certs.d
			b.Fatalf("%d certificates", len(rep.Certs))
		}
	}
}
