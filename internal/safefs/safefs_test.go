package safefs

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI runs the tests as root; this one needs it")
		}
		t.Skip("needs root (CI runs as root)")
	}
}

// tree makes base/alice (uid 4242), base/alice/x, base/open (0777),
// base/tmp (1777) with base/tmp/bob (uid 4343), and links: base/toalice ->
// alice (root's link) and base/alice/out -> base (alice's link).
func tree(t *testing.T) string {
	t.Helper()
	base := t.TempDir()
	for _, d := range []string{filepath.Dir(base), base} {
		if err := os.Chmod(d, 0o755); err != nil { // users reach their folders
			t.Fatal(err)
		}
	}
	mk := func(p string, mode os.FileMode, uid int) {
		if err := os.Mkdir(p, mode); err != nil {
			t.Fatal(err)
		}
		os.Chmod(p, mode)
		if err := os.Lchown(p, uid, uid); err != nil {
			t.Fatal(err)
		}
	}
	mk(filepath.Join(base, "alice"), 0o755, 4242)
	mk(filepath.Join(base, "alice", "x"), 0o755, 4242)
	mk(filepath.Join(base, "open"), 0o777, 0)
	mk(filepath.Join(base, "tmp"), 0o777|os.ModeSticky, 0)
	mk(filepath.Join(base, "tmp", "bob"), 0o755, 4343)
	mk(filepath.Join(base, "tmp", "root"), 0o755, 0)
	if err := os.Symlink(filepath.Join(base, "alice"), filepath.Join(base, "toalice")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(base, filepath.Join(base, "alice", "out")); err != nil {
		t.Fatal(err)
	}
	os.Lchown(filepath.Join(base, "alice", "out"), 4242, 4242)
	return base
}

func TestController(t *testing.T) {
	needRoot(t)
	base := tree(t)
	for _, tt := range []struct {
		path string
		uid  int // -1: root controls it
		bad  string
	}{
		{"", -1, ""},
		{"missing/deeper", -1, ""},
		{"alice", 4242, ""},
		{"alice/x/new", 4242, ""},
		{"toalice/x", 4242, ""},          // root's link is followed
		{"alice/out/tmp/root", 4242, ""}, // alice's link: alice's path
		{"tmp/root/y", -1, ""},
		{"tmp/bob/y", 4343, ""},
		{"open/y", -1, "may be changed by every user"},
	} {
		u, err := Controller(filepath.Join(base, tt.path))
		switch {
		case tt.bad != "":
			var ue *UntrustedError
			if !errors.As(err, &ue) || !strings.Contains(err.Error(), tt.bad) {
				t.Errorf("%s: %v, want an UntrustedError saying %q", tt.path, err, tt.bad)
			}
		case err != nil:
			t.Errorf("%s: %v", tt.path, err)
		case tt.uid < 0 && u != nil:
			t.Errorf("%s: controlled by %v, want root", tt.path, u)
		case tt.uid >= 0 && (u == nil || u.UID != tt.uid):
			t.Errorf("%s: controlled by %v, want uid %d", tt.path, u, tt.uid)
		}
	}
}

func TestControllerNotRoot(t *testing.T) {
	defer func(f func() int) { geteuid = f }(geteuid)
	geteuid = func() int { return 1000 }
	if u, err := Controller("/"); u != nil || err != nil {
		t.Errorf("not root: %v %v, want nil", u, err)
	}
}

// TestRunAsUser: what Run does with a user's rights is checked, and made,
// as that user's; the process keeps root's rights.
func TestRunAsUser(t *testing.T) {
	needRoot(t)
	base := tree(t)
	secret := filepath.Join(base, "secret")
	if err := os.WriteFile(secret, []byte("root's"), 0o600); err != nil {
		t.Fatal(err)
	}
	alice := &User{UID: 4242, GID: 4242}
	err := Run(alice, func() error {
		if _, err := os.ReadFile(secret); !errors.Is(err, os.ErrPermission) {
			t.Errorf("reading root's file as alice: %v, want permission denied", err)
		}
		return os.WriteFile(filepath.Join(base, "alice", "made"), nil, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(base, "alice", "made"))
	if err != nil {
		t.Fatal(err)
	}
	if uid := ownerUID(fi); uid != 4242 {
		t.Errorf("made by uid %d, want 4242", uid)
	}
	if _, err := os.ReadFile(secret); err != nil {
		t.Errorf("root lost its rights after Run: %v", err)
	}
}

// TestReadFileChecks: in a folder a user controls, a file of another user,
// a root file with a second name, and a link out of the folder are refused.
func TestReadFileChecks(t *testing.T) {
	needRoot(t)
	base := tree(t)
	dir := filepath.Join(base, "alice", "x")
	write := func(name string, uid int) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("data"), 0o644); err != nil {
			t.Fatal(err)
		}
		os.Chown(p, uid, uid)
		return p
	}
	own := write("own", 4242)
	write("bobs", 4343)
	rootOne := write("rootone", 0)
	if err := os.Link(rootOne, filepath.Join(base, "second")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(base, "secret"), filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	if data, err := ReadFile(own, 0); err != nil || string(data) != "data" {
		t.Errorf("alice's own file: %q %v", data, err)
	}
	for name, want := range map[string]string{
		"bobs":    "belongs to uid 4343",
		"rootone": "with 2 names",
		"link":    "escapes",
	} {
		if _, err := ReadFile(filepath.Join(dir, name), 0); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want an error saying %q", name, err, want)
		}
	}
}

// TestLockBusy: a folder another process holds is waited for, then
// reported with the holder's pid.
func TestLockBusy(t *testing.T) {
	flock, err := exec.LookPath("flock")
	if err != nil {
		t.Skip("no flock(1) here (util-linux)")
	}
	dir := t.TempDir()
	holder := exec.Command(flock, dir, "sh", "-c", "echo locked; exec sleep 30")
	out, err := holder.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { holder.Process.Kill(); holder.Wait() }()
	if line, err := bufio.NewReader(out).ReadString('\n'); err != nil || line != "locked\n" {
		t.Fatalf("flock(1) says %q, %v", line, err)
	}
	d, err := OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var be *BusyError
	if _, err := d.Lock(false, 50*time.Millisecond); !errors.As(err, &be) {
		t.Fatalf("locking a held folder: %v, want a BusyError", err)
	}
	// flock(1) runs sleep in a child, which inherits the lock.
	if be.PID != holder.Process.Pid && be.PID <= holder.Process.Pid {
		t.Errorf("BusyError names pid %d, the holder is %d (or its child)", be.PID, holder.Process.Pid)
	}
	if !strings.Contains(be.Error(), "pid") {
		t.Errorf("%q does not name the pid", be.Error())
	}
	// Readers share.
	d2 := &Dir{Path: t.TempDir()}
	u1, err := d2.Lock(true, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer u1()
	if u2, err := d2.Lock(true, time.Second); err != nil {
		t.Errorf("a second reader waits: %v", err)
	} else {
		u2()
	}
}
