//go:build unix

package install

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/certkit/certkit/internal/testenv"
)

// TestDryRunChecksTheNewFolder: a dry run fails exactly when the run does,
// with the same problems, because it checks the same new folder (staged
// outside the certs root); it writes nothing in the certs root. The fix it
// gives for a hosts.toml that names certkit's files the wrong way, set in
// the file, makes the run work and containerd use certkit's pair.
func TestDryRunChecksTheNewFolder(t *testing.T) {
	p := newPKI(t)
	reg := startRegistry(t, p)
	name := reg.Name.String()
	p.issueClient(t, name, "client")
	tests := []struct {
		name, toml string
		kind       Kind
	}{
		{"client pair swapped", "server = \"https://" + name + "\"\nclient = [[\"client.key\", \"client.cert\"]]\n", KindHostsTOMLBadPair},
		{"client pair swapped in the host entry", "server = \"https://" + name + "\"\n\n[host.\"https://" + name + "\"]\n  capabilities = [\"pull\", \"resolve\"]\n  ca = \"ca.crt\"\n  client = [[\"client.key\", \"client.cert\"]]\n", KindHostsTOMLBadPair},
		{"key named as a CA", "server = \"https://" + name + "\"\nca = [\"ca.crt\", \"client.key\"]\nclient = [[\"client.cert\", \"client.key\"]]\n", KindHostsTOMLNotPEM},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := filepath.Join(t.TempDir(), "certs.d")
			dir := filepath.Join(root, name)
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			tomlPath := filepath.Join(dir, HostsFile)
			testenv.WriteFile(t, tomlPath, []byte(tt.toml), 0o644)
			roots := []Root{customRoot(t, Containerd, root)}
			beforeRoot, before := snapshot(t, root), snapshot(t, dir)

			_, dryErr := Install(Options{Home: p.home, Roots: roots, DryRun: true, Flags: " --target containerd"})
			var dry *BrokenFolderError
			if !errors.As(dryErr, &dry) {
				t.Fatalf("dry run: %v, want a BrokenFolderError", dryErr)
			}
			if !equalStates(beforeRoot, snapshot(t, root)) || !equalStates(before, snapshot(t, dir)) {
				t.Fatal("the dry run wrote in the certs root")
			}
			_, runErr := Install(Options{Home: p.home, Roots: roots, Flags: " --target containerd"})
			var run *BrokenFolderError
			if !errors.As(runErr, &run) {
				t.Fatalf("run: %v, want a BrokenFolderError", runErr)
			}
			if !reflect.DeepEqual(dry.Problems, run.Problems) {
				t.Errorf("the dry run found %v, the run %v", dry.Problems, run.Problems)
			}
			ps := problemsOf(run.Problems, tt.kind)
			if len(ps) == 0 {
				t.Fatalf("problems %v, want %s", run.Problems, tt.kind)
			}
			if strings.Contains(ps[0].Fix, `["client.key", "client.cert"]`) || strings.Contains(ps[0].Fix, `"ca.crt", "client.key"`) {
				t.Errorf("the fix keeps what is wrong: %s", ps[0].Fix)
			}
			applyTOMLFix(t, tomlPath, ps[0].Fix)
			if _, err := Install(Options{Home: p.home, Roots: roots}); err != nil {
				t.Fatalf("after the fix:\n%s\n%v", readString(t, tomlPath), err)
			}
			if err := reg.viaContainerd(root); err != nil {
				t.Fatalf("after the fix:\n%s\n%v", readString(t, tomlPath), err)
			}
		})
	}
}
