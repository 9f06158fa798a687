package status

import (
	"os"
	"testing"

	"github.com/certkit/certkit/install"
)

func BenchmarkReadLocal(b *testing.B) {
	d := os.Getenv("CERTKIT_PERF_DIR")
	if d == "" {
		b.Skip("CERTKIT_PERF_DIR")
	}
	root, _ := install.CustomRoot(install.Docker, d+"/certs")
	for b.Loop() {
		if _, err := Read(Options{Home: d + "/h", Roots: []install.Root{root}}); err != nil {
			b.Fatal(err)
		}
	}
}
