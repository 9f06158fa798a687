// Package testenv holds what certkit's tests share about the world outside
// the test process: the external programs they drive (Debian's
// docker-registry, skopeo, nginx, Apache, openssl), servers started from
// them, free ports, a registry name in /etc/hosts, files and small OCI
// images. Only _test.go files import it.
//
// The rule for external programs: under CI=true a missing one fails the
// test (./scripts/test installs them all); elsewhere the test skips, saying
// how to install it.
package testenv

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

// debianPackage names the Debian package of the programs whose package
// has another name; any other program comes in the package of its name.
var debianPackage = map[string]string{
	"apache2":    "apache2",
	"apache2ctl": "apache2",
	"sha256sum":  "coreutils",
	"man":        "man-db",
}

// sbinDirs are searched after PATH: Debian puts nginx and apache2 there,
// outside a user's PATH.
var sbinDirs = []string{"/usr/sbin", "/sbin"}

// missing is what a missing program means: under CI=true an error, since
// CI must run every test; elsewhere nil, and the test may skip.
func missing(name string) error {
	if os.Getenv("CI") == "true" {
		return fmt.Errorf("%s is not installed, and CI=true forbids skipping; run ./scripts/test, which installs it", name)
	}
	return nil
}

// installHint says how to get a missing program.
func installHint(name string) string {
	pkg, ok := debianPackage[name]
	if !ok {
		pkg = name
	}
	return fmt.Sprintf("%s is not installed: apt-get install %s to run this test (./scripts/test installs the programs the tests drive)", name, pkg)
}

// lookTool finds a program on PATH, or else in /usr/sbin or /sbin.
func lookTool(name string) (string, bool) {
	if p, err := exec.LookPath(name); err == nil {
		return p, true
	}
	for _, dir := range sbinDirs {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p, true
		}
	}
	return "", false
}

// NeedTool returns the path of an external program, found on PATH or in
// /usr/sbin or /sbin. A missing one fails the test under CI=true and skips
// it elsewhere, with the package to install.
func NeedTool(t testing.TB, name string) string {
	t.Helper()
	if p, ok := lookTool(name); ok {
		return p
	}
	if err := missing(name); err != nil {
		t.Fatal(err)
	}
	t.Skip(installHint(name))
	return ""
}

// NeedTools is NeedTool for programs a script runs by name (it looks in
// /usr/sbin and /sbin too, as the examples' lib.sh does).
func NeedTools(t testing.TB, names ...string) {
	t.Helper()
	for _, name := range names {
		NeedTool(t, name)
	}
}

// HaveTool is the testscript condition [tool:NAME]: whether NAME is on
// PATH, where a script's exec looks for it (not in /usr/sbin or /sbin:
// a condition that held there would let `exec NAME` fail). A missing
// program is an error under CI=true, so the script fails instead of
// skipping.
func HaveTool(name string) (bool, error) {
	if _, err := exec.LookPath(name); err == nil {
		return true, nil
	}
	return false, missing(name)
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago, for
// a program that cannot be handed a listener.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// FreePortPair returns a port P free on every address, with
// 127.0.0.1:P+1 free too: a proxy rendered with defaults listens on P,
// the registry behind it on P+1.
func FreePortPair(t testing.TB) int {
	t.Helper()
	for range 20 {
		ln, err := net.Listen("tcp", ":0")
		if err != nil {
			t.Fatal(err)
		}
		p := ln.Addr().(*net.TCPAddr).Port
		next, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p+1))
		ln.Close()
		if err == nil {
			next.Close()
			return p
		}
	}
	t.Fatal("found no free port P with 127.0.0.1:P+1 free")
	return 0
}

// NeedHostname makes name resolve to 127.0.0.1, for a registry that must
// not be reached by a loopback name (Docker reads no certs.d folder for
// one). Under CI=true as root it adds the line to /etc/hosts if missing;
// elsewhere the test skips with the line to add.
func NeedHostname(t testing.TB, name string) {
	t.Helper()
	if resolvesToLoopback(name) {
		return
	}
	line := "127.0.0.1 " + name
	if os.Getenv("CI") != "true" || os.Geteuid() != 0 {
		t.Skipf("%s does not resolve; add %q to /etc/hosts (CI=true as root does it) to run this test", name, line)
	}
	f, err := os.OpenFile("/etc/hosts", os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatalf("cannot add %s to /etc/hosts: %v", name, err)
	}
	defer f.Close()
	if _, err := fmt.Fprintf(f, "\n%s\n", line); err != nil {
		t.Fatal(err)
	}
	// Go caches /etc/hosts for a few seconds; the programs the test runs,
	// new processes, read it afresh.
}

func resolvesToLoopback(name string) bool {
	addrs, err := net.LookupHost(name)
	if err != nil {
		return false
	}
	for _, a := range addrs {
		if a == "127.0.0.1" {
			return true
		}
	}
	return false
}

// CopyFile copies a file, giving the copy exactly mode (whatever the
// umask).
func CopyFile(t testing.TB, from, to string, mode os.FileMode) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	WriteFile(t, to, b, mode)
}

// WriteFile writes a file with exactly mode (whatever the umask).
func WriteFile(t testing.TB, path string, data []byte, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, data, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

// BenchDir is a fresh folder for a benchmark's files: under
// $CERTKIT_BENCH_DIR when set (e.g. /dev/shm for tmpfs, /var/tmp for a
// disk), else the benchmark's temporary folder.
func BenchDir(b testing.TB) string {
	b.Helper()
	d := os.Getenv("CERTKIT_BENCH_DIR")
	if d == "" {
		return b.TempDir()
	}
	dir, err := os.MkdirTemp(d, "certkit-bench")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}
