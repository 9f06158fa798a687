package install

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/certkit/certkit/host"
	"github.com/certkit/certkit/internal/testenv"
)

// BenchmarkInstall is `certkit install --host reg.example.com:5000
// --certs-dir DIR` in process for one registry folder (ca.crt and one
// client pair, plus certkit's manifest): planned, checked, written to a
// temporary folder, flushed and swapped in.
//
//	new:       a certs root that does not have the folder yet
//	unchanged: the same install again, which finds nothing to do
//
// The certs roots live under $CERTKIT_BENCH_DIR (e.g. /dev/shm for tmpfs,
// /var/tmp for a disk), else the test's temporary folder.
//
//	go test -run '^$' -bench BenchmarkInstall ./install/
func BenchmarkInstall(b *testing.B) {
	p := newPKI(b)
	reg, err := host.Parse("reg.example.com:5000")
	if err != nil {
		b.Fatal(err)
	}
	p.issueClient(b, reg.String(), "client")
	dir := testenv.BenchDir(b)
	install := func(b *testing.B, root string) *Result {
		res, err := Install(Options{Home: p.home, Registries: []host.Registry{reg}, Roots: []Root{customRoot(b, Docker, root)}})
		if err != nil {
			b.Fatal(err)
		}
		if len(res.Folders) != 1 {
			b.Fatalf("%d folders", len(res.Folders))
		}
		return res
	}
	b.Run("new", func(b *testing.B) {
		n := 0
		for b.Loop() {
			n++
			if res := install(b, filepath.Join(dir, fmt.Sprint(n))); !res.Folders[0].Changed {
				b.Fatal("nothing was installed")
			}
		}
	})
	b.Run("unchanged", func(b *testing.B) {
		root := filepath.Join(dir, "again")
		install(b, root)
		for b.Loop() {
			if res := install(b, root); res.Folders[0].Changed {
				b.Fatal("a second install changed the folder")
			}
		}
	})
}
