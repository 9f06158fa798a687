//go:build unix

package atomicfile

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func ownerOf(t *testing.T, path string) (int, int) {
	t.Helper()
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	return int(st.Uid), int(st.Gid)
}

// TestWriteAllAsRootKeepsTheUsersOwnership: root (sudo certkit …) writing
// into a folder a user owns leaves the new folders and files to that user;
// into a root-owned folder, they stay root's.
func TestWriteAllAsRootKeepsTheUsersOwnership(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (CI runs as root)")
	}
	const uid, gid = 65534, 65534
	base := t.TempDir()
	userHome := filepath.Join(base, "alice")
	if err := os.Mkdir(userHome, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(userHome, uid, gid); err != nil {
		t.Fatal(err)
	}
	key := filepath.Join(userHome, ".local", "share", "certkit", "ca", "ca.key")
	rootFile := filepath.Join(base, "rootdir", "x.crt")
	if _, err := WriteAll([]File{{Path: key, Data: []byte("k"), Mode: 0o600}, {Path: rootFile, Data: []byte("c"), Mode: 0o644}}, Options{}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{key, filepath.Dir(key), filepath.Join(userHome, ".local")} {
		if u, g := ownerOf(t, p); u != uid || g != gid {
			t.Errorf("%s is owned by %d:%d, want %d:%d", p, u, g, uid, gid)
		}
	}
	if u, _ := ownerOf(t, rootFile); u != 0 {
		t.Errorf("%s is owned by %d, want root", rootFile, u)
	}
	if m := mode(t, key); m != 0o600 {
		t.Errorf("key mode %o", m)
	}
}
