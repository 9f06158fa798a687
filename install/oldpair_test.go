//go:build unix

package install

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/certkit/certkit/internal/testenv"
)

// TestSelfSignedClientFixRuns: the fix for the old recipe's self-signed
// pair moves it out of certs.d into a folder per registry and pair, so
// that the same pair name in two registries is moved twice; pasted again
// over files already moved, it fails loudly rather than skipping them.
func TestSelfSignedClientFixRuns(t *testing.T) {
	testenv.NeedTools(t, "sh")
	home := t.TempDir()
	root := t.TempDir()
	move := regexp.MustCompile(`\((mkdir [^)]*)\)`)
	fixOf := func(t *testing.T, dir string) string {
		t.Helper()
		f, err := ReadFolder(dir)
		if err != nil {
			t.Fatal(err)
		}
		ps := problemsOf(f.Problems, KindSelfSignedClient)
		if len(ps) != 1 {
			t.Fatalf("problems %v, want one %s", f.Problems, KindSelfSignedClient)
		}
		m := move.FindStringSubmatch(ps[0].Fix)
		if m == nil {
			t.Fatalf("no move command in %q", ps[0].Fix)
		}
		return m[1]
	}
	sh := func(cmd string) ([]byte, error) {
		c := exec.Command("sh", "-c", cmd)
		c.Env = append(os.Environ(), "HOME="+home)
		c.Dir = t.TempDir()
		return c.CombinedOutput()
	}
	regs := []string{"reg.example.com:5000", "[fd00::1]:5000"}
	pairs := map[string][2][]byte{}
	for _, reg := range regs {
		dir := filepath.Join(root, reg)
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		certPEM, keyPEM := selfSignedPEM(t, "client", nil)
		pairs[reg] = [2][]byte{certPEM, keyPEM}
		testenv.WriteFile(t, filepath.Join(dir, "client.cert"), certPEM, 0o644)
		testenv.WriteFile(t, filepath.Join(dir, "client.key"), keyPEM, 0o600)
		cmd := fixOf(t, dir)
		if out, err := sh(cmd); err != nil {
			t.Fatalf("%s: %v\n%s", cmd, err, out)
		}
		for i, n := range []string{"client.cert", "client.key"} {
			if exists(filepath.Join(dir, n)) {
				t.Errorf("%s: %s is still in the folder", cmd, n)
			}
			if got, err := os.ReadFile(filepath.Join(home, "old-certs", reg, "client", n)); err != nil || string(got) != string(pairs[reg][i]) {
				t.Errorf("%s: %s not moved out (%v)", cmd, n, err)
			}
		}
		perm(t, filepath.Join(home, "old-certs", reg, "client", "client.key"), 0o600)
	}

	// The same old pair back in the first folder: the fix, pasted again,
	// fails and moves nothing.
	dir := filepath.Join(root, regs[0])
	testenv.WriteFile(t, filepath.Join(dir, "client.cert"), pairs[regs[0]][0], 0o644)
	testenv.WriteFile(t, filepath.Join(dir, "client.key"), pairs[regs[0]][1], 0o600)
	cmd := fixOf(t, dir)
	out, err := sh(cmd)
	if err == nil || len(out) == 0 {
		t.Errorf("%s over files moved before: exit %v, output %q; want a failure that says why", cmd, err, out)
	}
	if !exists(filepath.Join(dir, "client.cert")) || !exists(filepath.Join(dir, "client.key")) {
		t.Errorf("%s failed but moved files", cmd)
	}
}
