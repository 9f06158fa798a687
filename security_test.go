package main

import (
	"bytes"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/certkit/certkit/internal/safefs"
)

// The attacks of a user with a sudoers rule for certkit alone: each test
// runs certkit as root over a home, or a per-user certs root, that an
// ordinary account (nobody, uid 65534) owns and has laid traps in.

const nobody = 65534

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI runs the tests as root; these need it")
		}
		t.Skip("needs root (CI runs as root): the attacks are on sudo certkit")
	}
}

// ck runs certkit in this process and returns its exit code and stderr.
func ck(t *testing.T, args ...string) (int, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := runWith(append([]string{"certkit"}, args...), strings.NewReader(""), &stdout, &stderr)
	return code, stderr.String()
}

// userPlace makes a folder that nobody owns, reachable by nobody (as a
// user's home is), with a certkit home in it made by root the way sudo
// certkit makes it: the CA and a client pair for reg.example.com.
func userPlace(t *testing.T) (base, user, certkitHome string) {
	t.Helper()
	base = t.TempDir()
	for _, d := range []string{filepath.Dir(base), base} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	user = filepath.Join(base, "user")
	if err := os.Mkdir(user, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(user, nobody, nobody); err != nil {
		t.Fatal(err)
	}
	certkitHome = filepath.Join(user, ".local", "share", "certkit")
	if code, stderr := ck(t, "--home", certkitHome, "init-ca"); code != 0 {
		t.Fatalf("init-ca: %s", stderr)
	}
	if code, stderr := ck(t, "--home", certkitHome, "issue", "client", "--host", "reg.example.com"); code != 0 {
		t.Fatalf("issue: %s", stderr)
	}
	return base, user, certkitHome
}

// asUser runs fn with nobody's rights, as the attacker.
func asUser(t *testing.T, fn func() error) {
	t.Helper()
	if err := safefs.Run(&safefs.User{UID: nobody, GID: nobody}, fn); err != nil {
		t.Fatal(err)
	}
}

// snapshot lists what a folder holds: name, mode, owner and content.
func snapshot(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		st := fi.Sys().(*syscall.Stat_t)
		b.WriteString(p + " " + fi.Mode().String() + " " + string(rune('0'+st.Uid%10)))
		if fi.Mode().IsRegular() {
			data, _ := os.ReadFile(p)
			b.Write(data)
		}
		b.WriteString("\n")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// rootFolder makes a folder only root may change, with a root-only file.
func rootFolder(t *testing.T, base, name string) string {
	t.Helper()
	dir := filepath.Join(base, name)
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "secret"), []byte("root's secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestHomeFilesAreTheUsers: root making a CA and pairs in a home nobody
// owns makes them as nobody: nothing is root's, nothing was chowned.
func TestHomeFilesAreTheUsers(t *testing.T) {
	needRoot(t)
	_, user, h := userPlace(t)
	err := filepath.Walk(user, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if uid := fi.Sys().(*syscall.Stat_t).Uid; uid != nobody {
			t.Errorf("%s belongs to uid %d, want %d", p, uid, nobody)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(h, "ca", "ca.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("ca.key: %v %v", fi, err)
	}
}

// Attack 1: a registry folder of a per-user certs root made a link to a
// root folder. install must not rebuild the root folder, nor give it away.
func TestAttackFolderTakeover(t *testing.T) {
	needRoot(t)
	base, user, h := userPlace(t)
	victim := rootFolder(t, base, "victim")
	before := snapshot(t, victim)
	certs := filepath.Join(user, ".config", "docker", "certs.d")
	asUser(t, func() error {
		if err := os.MkdirAll(certs, 0o755); err != nil {
			return err
		}
		return os.Symlink(victim, filepath.Join(certs, "reg.example.com"))
	})
	code, stderr := ck(t, "--home", h, "install", "--host", "reg.example.com", "--target", "docker-rootless", "--certs-dir", certs)
	if code == 0 {
		t.Fatalf("install through the user's link succeeded:\n%s", stderr)
	}
	if !strings.Contains(stderr, filepath.Join(certs, "reg.example.com")) || !strings.Contains(stderr, "symbolic link") {
		t.Errorf("the error does not name the link:\n%s", stderr)
	}
	if after := snapshot(t, victim); after != before {
		t.Errorf("the root folder changed:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

// Attack 2: a client key in the home that is a link to a root-only key
// (with a certificate for it), and ca.crt a link to a root-only file.
func TestAttackKeyTheft(t *testing.T) {
	needRoot(t)
	for _, file := range []string{"hosts/reg.example.com/client.key", "ca/ca.crt"} {
		t.Run(filepath.Base(file), func(t *testing.T) {
			base, _, h := userPlace(t)
			secretDir := filepath.Join(base, "rootonly")
			if err := os.Mkdir(secretDir, 0o700); err != nil {
				t.Fatal(err)
			}
			// Root's copy of the key (or certificate): what the user's
			// certificate carries is its public key.
			data, err := os.ReadFile(filepath.Join(h, file))
			if err != nil {
				t.Fatal(err)
			}
			secret := filepath.Join(secretDir, "secret.pem")
			if err := os.WriteFile(secret, data, 0o600); err != nil {
				t.Fatal(err)
			}
			asUser(t, func() error {
				p := filepath.Join(h, file)
				if err := os.Remove(p); err != nil {
					return err
				}
				return os.Symlink(secret, p)
			})
			certs := filepath.Join(base, "certs.d") // root's, as /etc/docker/certs.d
			code, stderr := ck(t, "--home", h, "install", "--host", "reg.example.com", "--certs-dir", certs)
			if code == 0 {
				t.Fatalf("install read root's file through the user's link:\n%s", stderr)
			}
			if !strings.Contains(stderr, filepath.Base(file)) {
				t.Errorf("the error does not name the file:\n%s", stderr)
			}
			if _, err := os.Stat(filepath.Join(certs, "reg.example.com")); err == nil {
				t.Errorf("install wrote the registry folder:\n%s", snapshot(t, certs))
			}
		})
	}
}

// Attack 3: the user swaps install's temporary folder, in a per-user certs
// root, for a link to a root folder while install runs, again and again.
func TestAttackTempFolderRace(t *testing.T) {
	needRoot(t)
	base, user, h := userPlace(t)
	victim := rootFolder(t, base, "victim")
	before := snapshot(t, victim)
	certs := filepath.Join(user, ".config", "docker", "certs.d")
	asUser(t, func() error { return os.MkdirAll(certs, 0o755) })

	stop := make(chan struct{})
	done := make(chan int)
	go func() {
		swaps := 0
		safefs.Run(&safefs.User{UID: nobody, GID: nobody}, func() error {
			for {
				select {
				case <-stop:
					done <- swaps
					return nil
				default:
				}
				des, _ := os.ReadDir(certs)
				for _, d := range des {
					if !strings.HasPrefix(d.Name(), ".certkit-tmp.") {
						continue
					}
					p := filepath.Join(certs, d.Name())
					if os.Rename(p, p+".moved") == nil && os.Symlink(victim, p) == nil {
						swaps++
					}
				}
			}
		})
	}()
	for i := range 60 {
		args := []string{"--home", h, "install", "--host", "reg.example.com", "--target", "docker-rootless", "--certs-dir", certs}
		if i%2 == 1 {
			args = []string{"--home", h, "uninstall", "--host", "reg.example.com", "--target", "docker-rootless", "--certs-dir", certs}
		}
		ck(t, args...) // may fail: the folder is the user's to break
	}
	close(stop)
	t.Logf("the user swapped the temporary folder %d times", <-done)
	if after := snapshot(t, victim); after != before {
		t.Errorf("the root folder changed:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	// Nothing root made in the user's root is root's.
	filepath.Walk(certs, func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Sys().(*syscall.Stat_t).Uid == 0 {
			t.Errorf("%s in the user's certs root belongs to root", p)
		}
		return nil
	})
}

// Attack 4: ca.key in the home a link to root's CA key: sudo certkit must
// not sign for the user with root's CA.
func TestAttackSigningOracle(t *testing.T) {
	needRoot(t)
	base, _, h := userPlace(t)
	rootHome := filepath.Join(base, "roothome")
	if code, stderr := ck(t, "--home", rootHome, "init-ca"); code != 0 {
		t.Fatal(stderr)
	}
	rootCA := filepath.Join(rootHome, "ca")
	certPEM, err := os.ReadFile(filepath.Join(rootCA, "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	asUser(t, func() error {
		ca := filepath.Join(h, "ca")
		if err := os.WriteFile(filepath.Join(ca, "ca.crt.new"), certPEM, 0o644); err != nil {
			return err
		}
		if err := os.Rename(filepath.Join(ca, "ca.crt.new"), filepath.Join(ca, "ca.crt")); err != nil {
			return err
		}
		os.Remove(filepath.Join(ca, "ca.key"))
		return os.Symlink(filepath.Join(rootCA, "ca.key"), filepath.Join(ca, "ca.key"))
	})
	for _, args := range [][]string{
		{"--home", h, "issue", "client", "--host", "reg.example.com", "--name", "evil"},
		{"--home", h, "setup", "--yes", "--role", "client", "--host", "evil.example.com", "--target", "docker", "--certs-dir", filepath.Join(base, "certs.d")},
	} {
		code, stderr := ck(t, args...)
		if code == 0 {
			t.Errorf("%s signed with root's CA:\n%s", args[2], stderr)
		}
		if !strings.Contains(stderr, "ca.key") {
			t.Errorf("%s: the error does not name ca.key:\n%s", args[2], stderr)
		}
	}
	for _, p := range []string{filepath.Join(h, "hosts", "reg.example.com", "evil.cert"), filepath.Join(h, "hosts", "evil.example.com")} {
		if _, err := os.Lstat(p); err == nil {
			t.Errorf("%s was written", p)
		}
	}
}

// Attack 5: uninstall through a registry folder that is a link to another
// registry's folder: in the user's certs root (the user's link) and in a
// root's certs root (a link root made: the manifest says whose it is).
func TestAttackUninstallThroughLink(t *testing.T) {
	needRoot(t)
	for _, userRoot := range []bool{true, false} {
		name := "root's certs root"
		if userRoot {
			name = "user's certs root"
		}
		t.Run(name, func(t *testing.T) {
			base, user, h := userPlace(t)
			if code, stderr := ck(t, "--home", h, "issue", "client", "--host", "other.example.com"); code != 0 {
				t.Fatal(stderr)
			}
			certs := filepath.Join(base, "certs.d")
			target := []string{"--certs-dir", certs}
			if userRoot {
				certs = filepath.Join(user, ".config", "docker", "certs.d")
				target = []string{"--target", "docker-rootless", "--certs-dir", certs}
			}
			if code, stderr := ck(t, append([]string{"--home", h, "install"}, target...)...); code != 0 {
				t.Fatal(stderr)
			}
			other := filepath.Join(certs, "other.example.com")
			before := snapshot(t, other)
			link := func() error {
				a := filepath.Join(certs, "reg.example.com")
				if err := os.RemoveAll(a); err != nil {
					return err
				}
				return os.Symlink(other, a)
			}
			if userRoot {
				asUser(t, link)
			} else if err := link(); err != nil {
				t.Fatal(err)
			}
			code, stderr := ck(t, append([]string{"--home", h, "uninstall", "--host", "reg.example.com"}, target...)...)
			if code == 0 {
				t.Fatalf("uninstall through the link succeeded:\n%s", stderr)
			}
			if !strings.Contains(stderr, "reg.example.com") {
				t.Errorf("the error does not name the folder:\n%s", stderr)
			}
			if after := snapshot(t, other); after != before {
				t.Errorf("the other registry's folder changed:\nbefore:\n%s\nafter:\n%s", before, after)
			}
		})
	}
}

// Attack 6: a root shell that sudo started (sudo -i) still has SUDO_USER
// set: root's own certkit init-ca must use root's home, and say so; only
// when sudo ran certkit itself is the invoking user's home used.
func TestSudoShellUsesRootsHome(t *testing.T) {
	needRoot(t)
	rootHome := t.TempDir()
	t.Setenv("HOME", rootHome)
	t.Setenv("CERTKIT_HOME", "")
	t.Setenv("XDG_DATA_HOME", "")
	t.Setenv("SUDO_USER", "nobody")
	t.Setenv("SUDO_COMMAND", "/bin/bash")
	code, stderr := ck(t, "init-ca")
	if code != 0 {
		t.Fatal(stderr)
	}
	if _, err := os.Stat(filepath.Join(rootHome, ".local", "share", "certkit", "ca", "ca.key")); err != nil {
		t.Errorf("the CA is not in root's home: %v", err)
	}
	if !strings.Contains(stderr, "SUDO_USER=nobody") || !strings.Contains(stderr, "root's certkit home") {
		t.Errorf("certkit does not say it ignores SUDO_USER:\n%s", stderr)
	}

	// sudo certkit: SUDO_COMMAND names this binary, and the invoking
	// user's home is used (nobody's is /nonexistent: issue finds no CA
	// there, and makes nothing).
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	pw, err := user.Lookup("nobody")
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("SUDO_COMMAND", exe+" issue client --host reg.example.com")
	code, stderr = ck(t, "issue", "client", "--host", "reg.example.com")
	if want := filepath.Join(pw.HomeDir, ".local", "share", "certkit"); code == 0 || !strings.Contains(stderr, want) {
		t.Errorf("sudo certkit did not use the invoking user's home %s (%d):\n%s", want, code, stderr)
	}
}
