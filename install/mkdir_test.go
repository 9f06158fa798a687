//go:build unix

package install

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// mkdirAll makes the missing folders, outermost first, each with the mode
// asked for, reports exactly those, and leaves the existing ones as they
// are.
func TestMkdirAll(t *testing.T) {
	base := filepath.Join(t.TempDir(), "base")
	if err := os.Mkdir(base, 0o750); err != nil {
		t.Fatal(err)
	}
	os.Chmod(base, 0o750)
	for _, mode := range []os.FileMode{DirMode, 0o700} {
		t.Run(mode.String(), func(t *testing.T) {
			top := filepath.Join(base, mode.String())
			dir := filepath.Join(top, "b", "c")
			made, err := mkdirAll(dir, mode)
			if err != nil {
				t.Fatal(err)
			}
			want := []string{top, filepath.Join(top, "b"), dir}
			if !slices.Equal(made, want) {
				t.Errorf("made %q, want %q", made, want)
			}
			for _, d := range want {
				if fi, err := os.Stat(d); err != nil || fi.Mode().Perm() != mode {
					t.Errorf("%s: %v, mode %v, want %v", d, err, fi.Mode().Perm(), mode)
				}
			}
			if fi, _ := os.Stat(base); fi.Mode().Perm() != 0o750 {
				t.Errorf("the existing parent's mode changed to %v", fi.Mode().Perm())
			}
			if made, err := mkdirAll(dir, mode); err != nil || len(made) != 0 {
				t.Errorf("again: made %q, %v; want nothing", made, err)
			}
		})
	}
}
