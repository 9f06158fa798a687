//go:build unix

package install

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/certkit/certkit/internal/errs"
	"github.com/certkit/certkit/internal/testenv"
)

// TestOwnHostsTOMLNamesMissingFile: when a file certkit's own hosts.toml
// names is gone (the user's CA file it named, or certkit's ca.crt), the
// fix is to run install again, not to edit certkit's file by hand (install
// would then refuse it as changed); with --force only when install needs
// it: the manifest cannot be read, and then install --force takes the
// hosts.toml, byte for byte as certkit writes it, as certkit's and writes
// it again. A hosts.toml the user edited stays theirs to fix.
func TestOwnHostsTOMLNamesMissingFile(t *testing.T) {
	p := newPKI(t)
	other := newPKI(t)
	reg := startRegistry(t, p)
	name := reg.Name.String()
	p.issueClient(t, name, "client")
	tests := []struct {
		name        string
		gone        string // the file removed
		badManifest bool
	}{
		{"the user's CA file", "corp.crt", false},
		{"certkit's ca.crt", CAFileName, false},
		{"the user's CA file, and the manifest unreadable", "corp.crt", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := filepath.Join(t.TempDir(), "certs.d")
			dir := filepath.Join(root, name)
			roots := []Root{customRoot(t, Containerd, root)}
			flags := " --target containerd --certs-dir " + root
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			testenv.WriteFile(t, filepath.Join(dir, "corp.crt"), other.ca.CertPEM, 0o644)
			if _, err := Install(Options{Home: p.home, Roots: roots, Flags: flags}); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(readString(t, filepath.Join(dir, HostsFile)), "corp.crt") {
				t.Fatal("certkit's hosts.toml does not name corp.crt")
			}
			os.Remove(filepath.Join(dir, tt.gone))
			if tt.badManifest {
				testenv.WriteFile(t, filepath.Join(dir, ManifestFile), []byte("{"), 0o644)
			}
			f, err := ReadFolderWith(dir, ReadOptions{Name: name, Flags: flags, HostsTOML: true})
			if err != nil {
				t.Fatal(err)
			}
			var fix string
			for _, pr := range f.Problems {
				if pr.Kind == KindHostsTOMLUnreadableFile && pr.Path == filepath.Join(dir, tt.gone) {
					fix = pr.Fix
				}
			}
			want := "certkit install --host " + name + flags
			if tt.badManifest {
				want = "certkit install --force --host " + name + flags
			}
			if !strings.HasSuffix(fix, ": "+want) || strings.Contains(fix, "fix the") {
				t.Fatalf("problems %v: want the fix for %s to be %q", f.Problems, tt.gone, want)
			}
			// The fix, followed, works.
			if _, err := Install(Options{Home: p.home, Roots: roots, Flags: flags, Force: tt.badManifest}); err != nil {
				t.Fatalf("%s: %v (hint: %s)", want, err, errs.HintOf(err))
			}
			if strings.Contains(readString(t, filepath.Join(dir, HostsFile)), tt.gone) != (tt.gone == CAFileName) {
				t.Errorf("hosts.toml after install:\n%s", readString(t, filepath.Join(dir, HostsFile)))
			}
			if f, err := ReadFolder(dir); err != nil || len(f.Errors()) > 0 {
				t.Errorf("after install: %v %v", err, f.Errors())
			}
			if err := reg.viaContainerd(root); err != nil {
				t.Error(err)
			}
		})
	}

	// Edited by the user after certkit wrote it, with the manifest
	// unreadable: not certkit's as far as anyone can tell; the fix is the
	// user's, and install --force does not take it.
	root := filepath.Join(t.TempDir(), "certs.d")
	dir := filepath.Join(root, name)
	roots := []Root{customRoot(t, Containerd, root)}
	if _, err := Install(Options{Home: p.home, Roots: roots}); err != nil {
		t.Fatal(err)
	}
	toml := filepath.Join(dir, HostsFile)
	testenv.WriteFile(t, toml, []byte(strings.Replace(readString(t, toml), `ca = "ca.crt"`, `ca = "gone.crt"`, 1)+"# mine\n"), 0o644)
	testenv.WriteFile(t, filepath.Join(dir, ManifestFile), []byte("{"), 0o644)
	_, err := Install(Options{Home: p.home, Roots: roots, Force: true})
	var be *BrokenFolderError
	if !errors.As(err, &be) || !strings.Contains(be.Hint(), "fix the ca entry in "+toml) {
		t.Errorf("got %v, want the folder refused, the fix the user's", err)
	}
}

// TestForeignHostsTOMLThroughLinkedRoot: a hosts.toml of the user's that
// names certkit's files through a symbolic link to the certs root
// (ca = "L/<registry>/ca.crt") names them: the install goes through, even
// before the files exist, with no warning that they are not named, and
// containerd reaches the registry with it.
func TestForeignHostsTOMLThroughLinkedRoot(t *testing.T) {
	p := newPKI(t)
	reg := startRegistry(t, p)
	name := reg.Name.String()
	p.issueClient(t, name, "client")
	base := t.TempDir()
	root := filepath.Join(base, "certs.d")
	link := filepath.Join(base, "link")
	dir := filepath.Join(root, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(root, link); err != nil {
		t.Fatal(err)
	}
	via := filepath.Join(link, name)
	toml := "server = \"https://" + name + "\"\n" +
		"ca = \"" + via + "/ca.crt\"\n" +
		"client = [[\"" + via + "/client.cert\", \"" + via + "/client.key\"]]\n"
	testenv.WriteFile(t, filepath.Join(dir, HostsFile), []byte(toml), 0o644)
	roots := []Root{customRoot(t, Containerd, root)}
	for _, dry := range []bool{true, false} {
		res, err := Install(Options{Home: p.home, Roots: roots, DryRun: dry})
		if err != nil {
			t.Fatalf("dry run %v: %v", dry, err)
		}
		if ws := problemsOf(res.Folders[0].Problems, KindHiddenByHostsTOML); len(ws) != 0 {
			t.Errorf("dry run %v: warns %v, but the hosts.toml names certkit's files", dry, ws)
		}
	}
	if readString(t, filepath.Join(dir, HostsFile)) != toml {
		t.Error("the user's hosts.toml changed")
	}
	if err := reg.viaContainerd(root); err != nil {
		t.Fatal(err)
	}
}
