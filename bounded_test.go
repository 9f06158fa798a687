package main

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestHostileInputFiles: a named pipe, a device and a 3 GB sparse file as
// ca.key, ca.crt or --names-file: a clear error, no hang, and memory that
// stays small.
func TestHostileInputFiles(t *testing.T) {
	kinds := []struct {
		name string
		make func(t *testing.T, path string)
		want string
	}{
		{"fifo", func(t *testing.T, p string) {
			if err := syscall.Mkfifo(p, 0o600); err != nil {
				t.Fatal(err)
			}
		}, "named pipe"},
		{"device", func(t *testing.T, p string) {
			if os.Geteuid() != 0 {
				t.Skip("making a device node needs root (CI runs as root)")
			}
			// /dev/zero's numbers: a character device that never ends.
			if err := syscall.Mknod(p, syscall.S_IFCHR|0o600, 1<<8|5); err != nil {
				t.Skipf("no device nodes here: %v", err)
			}
		}, "not a regular file"},
		{"sparse 3 GB", func(t *testing.T, p string) {
			f, err := os.Create(p)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if err := f.Truncate(3 << 30); err != nil {
				t.Fatal(err)
			}
		}, "larger than"},
	}
	for _, k := range kinds {
		for _, file := range []string{"ca.key", "ca.crt", "--names-file"} {
			t.Run(k.name+"/"+file, func(t *testing.T) {
				h := filepath.Join(t.TempDir(), "home")
				if code, stderr := ck(t, "--home", h, "init-ca"); code != 0 {
					t.Fatal(stderr)
				}
				args := []string{"--home", h, "issue", "client", "--host", "reg.example.com"}
				target := filepath.Join(h, "ca", file)
				if file == "--names-file" {
					target = filepath.Join(t.TempDir(), "names")
					args = append(args, "--names-file", target)
				} else if err := os.Remove(target); err != nil {
					t.Fatal(err)
				}
				k.make(t, target)

				var before, after runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				type result struct {
					code   int
					stderr string
				}
				done := make(chan result, 1)
				go func() {
					code, stderr := ck(t, args...)
					done <- result{code, stderr}
				}()
				var r result
				select {
				case r = <-done:
				case <-time.After(30 * time.Second):
					t.Fatalf("certkit hangs on %s as %s", k.name, file)
				}
				runtime.ReadMemStats(&after)
				if r.code == 0 {
					t.Fatalf("certkit accepted %s as %s", k.name, file)
				}
				if !strings.Contains(r.stderr, k.want) || !strings.Contains(r.stderr, target) {
					t.Errorf("the error does not name %s and say %q:\n%s", target, k.want, r.stderr)
				}
				if grew := after.TotalAlloc - before.TotalAlloc; grew > 64<<20 {
					t.Errorf("certkit allocated %d MiB reading it", grew>>20)
				}
			})
		}
	}
}
