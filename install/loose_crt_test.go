//go:build unix

package install

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/certkit/certkit/host"
	"github.com/certkit/certkit/internal/testenv"
)

// TestInstallContainerdBesideDERFile: a .crt that is not PEM breaks
// containerd only while it reads the loose files; the hosts.toml certkit
// writes ends that, so install goes through (dry run and run alike), with
// the not-PEM warning and no advice to name the file in hosts.toml, and
// containerd reaches the registry.
func TestInstallContainerdBesideDERFile(t *testing.T) {
	p := newPKI(t)
	other := newPKI(t)
	reg := startRegistry(t, p)
	name := reg.Name.String()
	p.issueClient(t, name, "client")
	root := filepath.Join(t.TempDir(), "certs.d")
	dir := filepath.Join(root, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	testenv.WriteFile(t, filepath.Join(dir, "corp.crt"), other.ca.Cert.Raw, 0o644)
	roots := []Root{customRoot(t, Containerd, root)}
	for _, dry := range []bool{true, false} {
		res, err := Install(Options{Home: p.home, Roots: roots, DryRun: dry})
		if err != nil {
			t.Fatalf("dry run %v: %v", dry, err)
		}
		ps := res.Folders[0].Problems
		if w := problemsOf(ps, KindNotPEM); len(w) != 1 || w[0].File != "corp.crt" || w[0].Severity != SeverityWarning {
			t.Errorf("dry run %v: problems %v, want a not-pem warning on corp.crt", dry, ps)
		}
		if w := problemsOf(ps, KindHiddenByHostsTOML); len(w) != 0 {
			t.Errorf("dry run %v: %v says to name a file that is not PEM in hosts.toml", dry, w)
		}
	}
	if err := reg.viaContainerd(root); err != nil {
		t.Fatal(err)
	}
	if res, err := Install(Options{Home: p.home, Roots: roots}); err != nil || res.Changed() {
		t.Errorf("second run: changed %v, %v", res != nil && res.Changed(), err)
	}
}

// TestInstallDERFileByRoot: a .crt that is not PEM, which Docker and
// podman ignore, breaks only containerd's reading of the loose files: it
// stops an install into a root containerd reads (Docker's, searched after
// containerd's own), with containerd's error; in a root containerd never
// reads (podman's, a per-user Docker root, a --certs-dir) it is a warning,
// the install goes through, and podman's loader reaches the registry.
func TestInstallDERFileByRoot(t *testing.T) {
	p := newPKI(t)
	other := newPKI(t)
	reg := startRegistry(t, p)
	name := reg.Name.String()
	p.issueClient(t, name, "client")
	tests := []struct {
		name       string
		target     Target
		containerd bool // containerd reads the root
	}{
		{"Docker's root, which containerd reads", Docker, true},
		{"a --certs-dir in Docker's layout", Docker, false},
		{"podman", Podman, false},
		{"docker-rootless", DockerRootless, false},
		{"docker-desktop", DockerDesktop, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := filepath.Join(t.TempDir(), "certs.d")
			dir := filepath.Join(root, name)
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			testenv.WriteFile(t, filepath.Join(dir, "corp.crt"), other.ca.Cert.Raw, 0o644)
			r := customRoot(t, tt.target, root)
			if tt.containerd {
				r.ContainerdFirst = []string{filepath.Join(t.TempDir(), "containerd")}
			}
			for _, dry := range []bool{true, false} {
				res, err := Install(Options{Home: p.home, Roots: []Root{r}, DryRun: dry})
				if tt.containerd {
					var be *BrokenFolderError
					if !errors.As(err, &be) || len(be.Problems) != 1 || be.Problems[0].File != "corp.crt" ||
						!strings.Contains(be.Problems[0].Message, "unable to load CA cert") {
						t.Fatalf("dry run %v: got %v, want the folder refused for corp.crt, with containerd's error", dry, err)
					}
					if exists(filepath.Join(dir, "client.cert")) {
						t.Fatal("the refused install wrote client.cert")
					}
					continue
				}
				if err != nil {
					t.Fatalf("dry run %v: %v", dry, err)
				}
				ps := res.Folders[0].Problems
				if w := problemsOf(ps, KindNotPEM); len(w) != 1 || w[0].File != "corp.crt" || w[0].Severity != SeverityWarning ||
					w[0].ContainerdError != "" || strings.Contains(w[0].Message, "containerd") {
					t.Errorf("dry run %v: problems %v, want a not-pem warning on corp.crt that blames no containerd", dry, ps)
				}
			}
			if !tt.containerd {
				if err := reg.viaPodman(dir); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
	// A bare ReadFolder takes the folder as one containerd may read.
	dir := filepath.Join(t.TempDir(), name)
	os.MkdirAll(dir, 0o755)
	testenv.WriteFile(t, filepath.Join(dir, "corp.crt"), other.ca.Cert.Raw, 0o644)
	f, err := ReadFolder(dir)
	if err != nil || len(f.Errors()) != 1 || f.Errors()[0].Kind != KindNotPEM {
		t.Errorf("ReadFolder: %v %v, want a not-pem error", err, f.Problems)
	}
}

// TestInstallContainerdNamesLooseCAs: certkit's hosts.toml names every PEM
// CA file of the folder, the user's included (after certkit's ca.crt), so
// that containerd trusts what Docker and podman do; one that is not PEM
// stays out and is reported. A CA file added later draws a warning whose
// fix, install again, names it; a second run changes nothing.
func TestInstallContainerdNamesLooseCAs(t *testing.T) {
	p := newPKI(t)
	corp := newPKI(t)
	other := newPKI(t)
	r := mustParse(t, "reg.example.com:5000")
	p.issueClient(t, r.String(), "client")
	root := filepath.Join(t.TempDir(), "certs.d")
	dir := filepath.Join(root, r.String())
	roots := []Root{customRoot(t, Containerd, root)}
	flags := " --target containerd --certs-dir " + root
	install := func(t *testing.T) *Result {
		t.Helper()
		res, err := Install(Options{Home: p.home, Roots: roots, Flags: flags})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	cas := func(t *testing.T) []string {
		t.Helper()
		data, err := os.ReadFile(filepath.Join(dir, HostsFile))
		if err != nil {
			t.Fatal(err)
		}
		h := parseHostsTOML(dir, data)
		if h.Err != nil {
			t.Fatal(h.Err)
		}
		var out []string
		for _, e := range h.Hosts {
			if len(e.CA) == 0 {
				t.Errorf("an entry of hosts.toml names no CA: %+v", e)
			}
			out = nil
			for _, c := range e.CA {
				out = append(out, filepath.Base(c))
			}
		}
		return out
	}
	install(t)
	if got := cas(t); len(got) != 1 || got[0] != CAFileName {
		t.Fatalf("hosts.toml names %v, want ca.crt alone", got)
	}

	// The user adds a CA of their own, and one in DER.
	testenv.WriteFile(t, filepath.Join(dir, "corp.crt"), corp.ca.CertPEM, 0o644)
	testenv.WriteFile(t, filepath.Join(dir, "der.crt"), other.ca.Cert.Raw, 0o644)
	f, err := ReadFolderWith(dir, ReadOptions{Name: r.String(), Flags: flags, HostsTOML: true})
	if err != nil {
		t.Fatal(err)
	}
	ws := problemsOf(f.Problems, KindHiddenByHostsTOML)
	if len(ws) != 1 || ws[0].File != "corp.crt" {
		t.Fatalf("problems %v, want one %s warning, on corp.crt", f.Problems, KindHiddenByHostsTOML)
	}
	// The fix's command is this very run: install, with the same flags.
	if want := "or run: certkit install --host reg.example.com:5000" + flags; !strings.HasSuffix(ws[0].Fix, want) {
		t.Fatalf("fix %q, want it to end with %q", ws[0].Fix, want)
	}
	res := install(t)
	if !res.Changed() {
		t.Error("install changed nothing")
	}
	if got := cas(t); strings.Join(got, " ") != "ca.crt corp.crt" {
		t.Errorf("hosts.toml names %v, want ca.crt then corp.crt", got)
	}
	ps := res.Folders[0].Problems
	if w := problemsOf(ps, KindNotPEM); len(w) != 1 || w[0].File != "der.crt" {
		t.Errorf("problems %v, want der.crt reported as not PEM", ps)
	}
	if w := problemsOf(ps, KindHiddenByHostsTOML); len(w) != 0 {
		t.Errorf("still hidden: %v", w)
	}
	if _, own := mustManifest(t, dir).Has("corp.crt"); own {
		t.Error("the manifest claims the user's corp.crt")
	}
	if res := install(t); res.Changed() {
		t.Errorf("a second run changed %+v", res.Folders[0].Files)
	}
	// containerd's own reader loads the folder.
	if err := containerdLoad(root, r.String()); err != nil {
		t.Error(err)
	}
	// Uninstall leaves the user's CA file (without hosts.toml, containerd
	// reads it loose: the DER one would break it, so it goes first).
	if err := os.Remove(filepath.Join(dir, "der.crt")); err != nil {
		t.Fatal(err)
	}
	if _, err := Uninstall(UninstallOptions{Registries: []host.Registry{r}, Roots: roots}); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"corp.crt"} {
		if !exists(filepath.Join(dir, n)) {
			t.Errorf("uninstall removed the user's %s", n)
		}
	}
}
