package safefs

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestReadFileDirect: ReadFile's path on the descriptor alone gives what
// os.Root's gives: the file, a link inside the folder followed, and each
// refusal with its message (a link out, a named pipe without waiting, a
// folder, a file too large, a missing file).
func TestReadFileDirect(t *testing.T) {
	dir := t.TempDir()
	outside := filepath.Join(t.TempDir(), "secret")
	write := func(name string, data []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("cert", []byte("certificate"))
	write("empty", nil)
	write("max", bytes.Repeat([]byte("x"), 100))
	write("big", bytes.Repeat([]byte("x"), 101))
	if err := os.WriteFile(outside, []byte("secret"), 0o644); err != nil {
		t.Fatal(err)
	}
	for link, to := range map[string]string{"inside": "cert", "out": outside} {
		if err := os.Symlink(to, filepath.Join(dir, link)); err != nil {
			t.Fatal(err)
		}
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	write("sub/nested", []byte("nested"))
	d, err := OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	err = d.Do(func(r *Root) error {
		for name, want := range map[string]string{"cert": "certificate", "empty": "", "max": strings.Repeat("x", 100), "inside": "certificate", "sub/nested": "nested"} {
			if data, err := r.ReadFile(name, 100); err != nil || string(data) != want {
				t.Errorf("%s: %q, %v; want %q", name, data, err, want)
			}
		}
		for name, want := range map[string]string{
			"out":     "escapes",
			"fifo":    "named pipe",
			"sub":     "is a directory",
			"big":     "larger than",
			"missing": "open " + filepath.Join(dir, "missing") + ": no such file",
		} {
			if _, err := r.ReadFile(name, 100); err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("%s: %v, want an error saying %q", name, err, want)
			}
		}
		if _, err := r.ReadFile("missing", 0); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("missing: %v, want fs.ErrNotExist", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestReadFD: a file read by its descriptor is read to its end whatever
// fstat said of it (a file that grew or shrank since), and never past max.
func TestReadFD(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	content := bytes.Repeat([]byte("0123456789"), 1000)
	if err := os.WriteFile(path, content, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		size, max int64
		ok        bool
	}{
		{10000, 10000, true}, // as fstat said
		{3, 20000, true},     // it grew since
		{20000, 20000, true}, // it shrank since
		{0, 10000, true},
		{3, 9999, false}, // it grew past max
	} {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		data, err := readFD(int(f.Fd()), tc.size, tc.max, nil)
		f.Close()
		switch {
		case tc.ok && (err != nil || !bytes.Equal(data, content)):
			t.Errorf("size %d, max %d: %d bytes, %v; want the file's %d", tc.size, tc.max, len(data), err, len(content))
		case !tc.ok && err != errTooLarge:
			t.Errorf("size %d, max %d: %d bytes, %v; want it refused as too large", tc.size, tc.max, len(data), err)
		}
	}
}

// TestReadFileBuf: a file that fits in the buffer is read into it, a
// larger one into memory of its own; the bound and the checks hold.
func TestReadFileBuf(t *testing.T) {
	dir := t.TempDir()
	for name, n := range map[string]int{"small": 10, "large": 5000, "huge": 200} {
		if err := os.WriteFile(filepath.Join(dir, name), bytes.Repeat([]byte{'a' + byte(n%26)}, n), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1024)
	err = d.Do(func(r *Root) error {
		data, err := r.ReadFileBuf("small", 6000, buf)
		if err != nil || len(data) != 10 || &data[0] != &buf[0] {
			t.Errorf("small: %d bytes, %v; want 10 in the buffer", len(data), err)
		}
		data, err = r.ReadFileBuf("large", 6000, buf)
		if err != nil || len(data) != 5000 || &data[0] == &buf[0] {
			t.Errorf("large: %d bytes, %v; want 5000 outside the buffer", len(data), err)
		}
		if _, err := r.ReadFileBuf("huge", 100, buf); err == nil || !strings.Contains(err.Error(), "larger than") {
			t.Errorf("huge, max 100: %v, want it refused", err)
		}
		if _, err := r.ReadFileBuf("fifo", 100, buf); err == nil || !strings.Contains(err.Error(), "named pipe") {
			t.Errorf("fifo: %v, want it refused", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
