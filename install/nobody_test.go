package install

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/certkit/certkit/internal/testenv"
)

// runAsNobody runs the test named child in a copy of this test binary, as
// uid and gid 65534, with env added to its environment, and fails unless
// it passes. Run as root only. The child's folders must be reachable by
// nobody: dirs (and the folder each is in) are opened to mode 0755, and
// only t.TempDir's own folders may be, never the system's temp folder.
func runAsNobody(t *testing.T, child string, env []string, dirs ...string) {
	t.Helper()
	for _, dir := range dirs {
		for _, d := range []string{dir, filepath.Dir(dir)} {
			if !strings.HasPrefix(d, filepath.Join(os.TempDir(), "Test")) {
				t.Fatalf("refusing to open up %s", d)
			}
			if err := os.Chmod(d, 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	data, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(t.TempDir(), "install.test")
	testenv.WriteFile(t, exe, data, 0o755)
	if err := os.Chmod(filepath.Dir(exe), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^"+child+"$", "-test.v")
	cmd.Env = append(append(os.Environ(), env...), noRaceExitSleep())
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: "+child) {
		t.Fatalf("%s as nobody: %v\n%s", child, err, out)
	}
}
