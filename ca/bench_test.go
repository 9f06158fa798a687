package ca

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/certkit/certkit/internal/testenv"
)

// BenchmarkCreate is `certkit init-ca` in process: the key, cfssl's
// request and signature, and both files written and flushed (fsync per
// file and folder). Each iteration makes a new home in a fresh folder under
// $CERTKIT_BENCH_DIR (e.g. /dev/shm for tmpfs), else the test's temporary
// folder.
//
//	go test -run '^$' -bench BenchmarkCreate ./ca/
func BenchmarkCreate(b *testing.B) {
	for _, kt := range []KeyType{ECDSAP256, RSA2048} {
		b.Run(string(kt), func(b *testing.B) {
			dir := testenv.BenchDir(b)
			n := 0
			for b.Loop() {
				n++
				if _, err := Create(Options{Home: filepath.Join(dir, fmt.Sprint(n)), KeyType: kt, Machine: "bench"}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkLoad is what every `certkit issue` pays before its first key:
// reading and checking the CA pair.
func BenchmarkLoad(b *testing.B) {
	h := testenv.BenchDir(b)
	if _, err := Create(Options{Home: h, Machine: "bench"}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Load(h); err != nil {
			b.Fatal(err)
		}
	}
}
