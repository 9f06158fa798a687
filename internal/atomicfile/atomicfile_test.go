package atomicfile

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func mode(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

func TestWriteAllModesAndFolders(t *testing.T) {
	dir := t.TempDir()
	files := []File{
		{Path: filepath.Join(dir, "a", "b", "k.key"), Data: []byte("key"), Mode: 0o600},
		{Path: filepath.Join(dir, "a", "b", "c.crt"), Data: []byte("crt"), Mode: 0o644},
	}
	res, err := WriteAll(files, Options{DirMode: 0o700})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Written) != 2 || len(res.Backups) != 0 {
		t.Fatalf("result = %+v", res)
	}
	if m := mode(t, files[0].Path); m != 0o600 {
		t.Errorf("key mode %o", m)
	}
	if m := mode(t, files[1].Path); m != 0o644 {
		t.Errorf("cert mode %o", m)
	}
	if m := mode(t, filepath.Join(dir, "a")); m != 0o700 {
		t.Errorf("folder mode %o", m)
	}
	entries, _ := os.ReadDir(filepath.Join(dir, "a", "b"))
	if len(entries) != 2 {
		t.Errorf("temporary files left behind: %v", entries)
	}
}

func TestWriteAllRefusesExisting(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a")
	b := filepath.Join(dir, "b")
	os.WriteFile(b, []byte("old"), 0o600)
	_, err := WriteAll([]File{{Path: a, Data: []byte("new"), Mode: 0o600}, {Path: b, Data: []byte("new"), Mode: 0o600}}, Options{})
	var ee *ExistsError
	if !errors.As(err, &ee) || len(ee.Paths) != 1 || ee.Paths[0] != b {
		t.Fatalf("err = %v, want ExistsError for %s", err, b)
	}
	if Exists(a) {
		t.Error("a was written although the set was refused")
	}
	if data, _ := os.ReadFile(b); string(data) != "old" {
		t.Errorf("b = %q, want it untouched", data)
	}
}

func TestWriteAllForceKeepsBackup(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "ca.key")
	os.WriteFile(p, []byte("old"), 0o600)
	now := time.Date(2026, 11, 29, 6, 0, 0, 0, time.UTC)
	res, err := WriteAll([]File{{Path: p, Data: []byte("new"), Mode: 0o600}}, Options{Force: true, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	want := p + ".bak-20261129T060000Z"
	if len(res.Backups) != 1 || res.Backups[0] != want {
		t.Fatalf("backups = %v, want %s", res.Backups, want)
	}
	if data, _ := os.ReadFile(want); string(data) != "old" {
		t.Errorf("backup = %q", data)
	}
	if data, _ := os.ReadFile(p); string(data) != "new" {
		t.Errorf("file = %q", data)
	}
	// A second forced write in the same second does not clobber the backup.
	res, err = WriteAll([]File{{Path: p, Data: []byte("newer"), Mode: 0o600}}, Options{Force: true, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if res.Backups[0] == want {
		t.Errorf("second backup reused the name %s", want)
	}
	if data, _ := os.ReadFile(want); string(data) != "old" {
		t.Errorf("first backup changed to %q", data)
	}
}

func TestWriteAllRollsBack(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "new", "good.crt")
	blocker := filepath.Join(dir, "file")
	os.WriteFile(blocker, nil, 0o644)
	bad := filepath.Join(blocker, "bad.key") // parent is a file: cannot be made
	_, err := WriteAll([]File{{Path: good, Data: []byte("x"), Mode: 0o644}, {Path: bad, Data: []byte("y"), Mode: 0o600}}, Options{})
	if err == nil {
		t.Fatal("want an error")
	}
	if Exists(good) || Exists(filepath.Join(dir, "new")) {
		t.Error("a failed set left files or folders behind")
	}
}

func TestSyncFS(t *testing.T) {
	if err := SyncFS(t.TempDir()); err != nil {
		t.Fatal(err)
	}
}
