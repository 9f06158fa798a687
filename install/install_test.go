//go:build unix

package install

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/certkit/certkit/ca"
	"github.com/certkit/certkit/host"
	"github.com/certkit/certkit/internal/errs"
	"github.com/certkit/certkit/internal/home"
	"github.com/certkit/certkit/internal/testenv"
)

func mustParse(t testing.TB, s string) host.Registry {
	t.Helper()
	r, err := host.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func customRoot(t testing.TB, target Target, dir string) Root {
	t.Helper()
	r, err := CustomRoot(target, dir)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// snapshot is a folder's content: name -> mode and data, and inode+mtime
// to tell whether a file was touched.
type fileState struct {
	mode  fs.FileMode
	data  string
	ino   uint64
	mtime time.Time
}

func snapshot(t testing.TB, dir string) map[string]fileState {
	t.Helper()
	out := map[string]fileState{}
	des, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range des {
		p := filepath.Join(dir, d.Name())
		fi, err := os.Lstat(p)
		if err != nil {
			t.Fatal(err)
		}
		st := fileState{mode: fi.Mode(), mtime: fi.ModTime()}
		if s, ok := fi.Sys().(*syscall.Stat_t); ok {
			st.ino = s.Ino
		}
		if fi.Mode().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			st.data = string(b)
		}
		out[d.Name()] = st
	}
	return out
}

func names(s map[string]fileState) string {
	var out []string
	for n := range s {
		out = append(out, n)
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

func TestInstallOracles(t *testing.T) {
	p := newPKI(t)
	reg := startRegistry(t, p)
	p.issueClient(t, reg.Name.String(), "alice")
	p.issueClient(t, reg.Name.String(), "bob")
	if err := reg.refusesBareClient(p); err != nil {
		t.Fatal(err)
	}
	for _, target := range []Target{Docker, Containerd} {
		t.Run(string(target), func(t *testing.T) {
			root := filepath.Join(t.TempDir(), "certs.d")
			res, err := Install(Options{Home: p.home, Registries: []host.Registry{reg.Name}, Roots: []Root{customRoot(t, target, root)}})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Folders) != 1 || !res.Folders[0].Changed || res.Folders[0].Existed {
				t.Fatalf("result %+v", res.Folders)
			}
			dir := filepath.Join(root, reg.Name.String())
			want := "ca.crt alice.cert alice.key bob.cert bob.key .certkit-manifest.json"
			if target == Containerd {
				want += " hosts.toml"
			}
			s := snapshot(t, dir)
			if got := names(s); got != names(setOf(want)) {
				t.Errorf("folder holds %s, want %s", got, names(setOf(want)))
			}
			for n, st := range s {
				if got, want := st.mode.Perm(), modeFor(n); got != want {
					t.Errorf("%s has mode %04o, want %04o", n, got, want)
				}
			}
			for _, d := range []string{root, dir} {
				if fi, err := os.Stat(d); err != nil || fi.Mode().Perm() != DirMode {
					t.Errorf("%s: %v mode %v, want %04o", d, err, fi.Mode().Perm(), DirMode)
				}
			}
			if s["ca.crt"].data != string(p.ca.CertPEM) {
				t.Error("ca.crt is not the certkit CA certificate")
			}
			f, err := ReadFolder(dir)
			if err != nil {
				t.Fatal(err)
			}
			if len(f.Problems) != 0 {
				t.Errorf("ReadFolder finds problems in what install wrote: %v", f.Problems)
			}
			if f.Manifest == nil || len(f.Manifest.Files) != len(setOf(want))-1 {
				t.Errorf("manifest %+v", f.Manifest)
			}
			bothOracles(t, reg, root)

			// What verify builds from the folder reaches the registry too.
			cfg, err := f.ClientConfig(x509.NewCertPool())
			if err != nil {
				t.Fatal(err)
			}
			tr := &http.Transport{TLSClientConfig: cfg, DialContext: reg.dial}
			defer tr.CloseIdleConnections()
			if err := reg.get(&http.Client{Transport: tr}, "https://"+reg.Name.String()+"/v2/"); err != nil {
				t.Errorf("Folder.ClientConfig: %v", err)
			}
		})
	}
}

func setOf(s string) map[string]fileState {
	out := map[string]fileState{}
	for _, n := range strings.Fields(s) {
		out[n] = fileState{}
	}
	return out
}

func TestInstallIsIdempotent(t *testing.T) {
	p := newPKI(t)
	r := mustParse(t, "reg.example.com:5000")
	p.issueClient(t, r.String(), "client")
	for _, target := range []Target{Docker, Containerd} {
		t.Run(string(target), func(t *testing.T) {
			root := t.TempDir()
			opt := Options{Home: p.home, Roots: []Root{customRoot(t, target, root)}}
			if _, err := Install(opt); err != nil {
				t.Fatal(err)
			}
			dir := filepath.Join(root, r.String())
			before := snapshot(t, dir)
			rootBefore := snapshot(t, root)
			res, err := Install(opt)
			if err != nil {
				t.Fatal(err)
			}
			if res.Changed() {
				t.Errorf("second install changed something: %+v", res.Folders)
			}
			for _, f := range res.Folders[0].Files {
				if f.Action != Unchanged {
					t.Errorf("%s: %s, want unchanged", f.Name, f.Action)
				}
			}
			if after := snapshot(t, dir); !equalStates(before, after) {
				t.Errorf("second install touched the folder:\nbefore %v\nafter  %v", before, after)
			}
			if after := snapshot(t, root); !equalStates(rootBefore, after) {
				t.Errorf("second install touched the certs root:\nbefore %v\nafter  %v", rootBefore, after)
			}
		})
	}
}

func equalStates(a, b map[string]fileState) bool {
	if len(a) != len(b) {
		return false
	}
	for n, x := range a {
		y, ok := b[n]
		if !ok || x.data != y.data || x.mode != y.mode || x.ino != y.ino || !x.mtime.Equal(y.mtime) {
			return false
		}
	}
	return true
}

func TestInstallKeepsForeignFilesAndUninstallLeavesThem(t *testing.T) {
	p := newPKI(t)
	other := newPKI(t)
	reg := startRegistry(t, p)
	p.issueClient(t, reg.Name.String(), "client")
	root := t.TempDir()
	dir := filepath.Join(root, reg.Name.String())
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	testenv.WriteFile(t, filepath.Join(dir, "README"), []byte("ours, not certkit's\n"), 0o600)
	testenv.WriteFile(t, filepath.Join(dir, "other-ca.crt"), other.ca.CertPEM, 0o644)
	foreign := snapshot(t, dir)

	opt := Options{Home: p.home, Roots: []Root{customRoot(t, Docker, root)}}
	res, err := Install(opt)
	if err != nil {
		t.Fatal(err)
	}
	fr := res.Folders[0]
	if !fr.Existed || !fr.Changed {
		t.Errorf("result %+v", fr)
	}
	checkProblems(t, fr.Problems, nil)
	after := snapshot(t, dir)
	for n, st := range foreign {
		if a := after[n]; a.data != st.data || a.mode != st.mode || a.ino != st.ino || !a.mtime.Equal(st.mtime) {
			t.Errorf("%s was touched: %+v, was %+v", n, a, st)
		}
	}
	if fi, _ := os.Stat(dir); fi.Mode().Perm() != DirMode {
		t.Errorf("folder mode %04o, want %04o", fi.Mode().Perm(), DirMode)
	}
	bothOracles(t, reg, root)

	u, err := Uninstall(UninstallOptions{Registries: []host.Registry{reg.Name}, Roots: opt.Roots})
	if err != nil {
		t.Fatal(err)
	}
	if u.Folders[0].Removed || !u.Folders[0].Changed {
		t.Errorf("uninstall result %+v", u.Folders[0])
	}
	left := snapshot(t, dir)
	if names(left) != names(foreign) {
		t.Errorf("after uninstall the folder holds %s, want %s", names(left), names(foreign))
	}
	for n, st := range foreign {
		if a := left[n]; a.data != st.data || a.ino != st.ino {
			t.Errorf("uninstall touched %s", n)
		}
	}
	// A second uninstall has nothing to do.
	if u, err := Uninstall(UninstallOptions{Registries: []host.Registry{reg.Name}, Roots: opt.Roots}); err != nil || u.Changed() {
		t.Errorf("second uninstall: %v, changed %v", err, u.Changed())
	}
}

func TestUninstallRemovesEmptyFolder(t *testing.T) {
	p := newPKI(t)
	r := mustParse(t, "reg.example.com")
	p.issueClient(t, r.String(), "client")
	for _, target := range []Target{Docker, Containerd} {
		t.Run(string(target), func(t *testing.T) {
			root := t.TempDir()
			roots := []Root{customRoot(t, target, root)}
			if _, err := Install(Options{Home: p.home, Roots: roots}); err != nil {
				t.Fatal(err)
			}
			dry, err := Uninstall(UninstallOptions{Registries: []host.Registry{r}, Roots: roots, DryRun: true})
			if err != nil || !dry.Folders[0].Removed {
				t.Fatalf("dry run: %v %+v", err, dry)
			}
			if snapshot(t, filepath.Join(root, r.String())) == nil {
				t.Fatal("the dry run removed the folder")
			}
			res, err := Uninstall(UninstallOptions{Registries: []host.Registry{r}, Roots: roots})
			if err != nil {
				t.Fatal(err)
			}
			if !res.Folders[0].Removed {
				t.Errorf("result %+v", res.Folders[0])
			}
			if s := snapshot(t, root); len(s) != 0 {
				t.Errorf("certs root still holds %s", names(s))
			}
		})
	}
}

func TestUninstallKeepsChangedFiles(t *testing.T) {
	p := newPKI(t)
	r := mustParse(t, "reg.example.com")
	p.issueClient(t, r.String(), "client")
	root := t.TempDir()
	roots := []Root{customRoot(t, Docker, root)}
	if _, err := Install(Options{Home: p.home, Roots: roots}); err != nil {
		t.Fatal(err)
	}
	// The user put their own pair in place of certkit's.
	dir := filepath.Join(root, r.String())
	c, k := p.client(t, "theirs", nil)
	testenv.WriteFile(t, filepath.Join(dir, "client.cert"), c, 0o644)
	testenv.WriteFile(t, filepath.Join(dir, "client.key"), k, 0o600)
	res, err := Uninstall(UninstallOptions{Registries: []host.Registry{r}, Roots: roots})
	if err != nil {
		t.Fatal(err)
	}
	if got := names(snapshot(t, dir)); got != ".certkit-manifest.json client.cert client.key" {
		t.Errorf("folder holds %s", got)
	}
	f, err := ReadFolder(dir)
	if err != nil || f.Manifest == nil || len(f.Manifest.Files) != 2 || f.LoaderError() != nil {
		t.Errorf("after uninstall: %v, manifest %+v, loader %v", err, f.Manifest, f.LoaderError())
	}
	for _, fc := range res.Folders[0].Files {
		if fc.Name == "client.cert" && (fc.Action != Keep || !fc.Certkit) {
			t.Errorf("client.cert: %+v", fc)
		}
	}
	// Only one half changed: the other half stays too, never half a pair.
	p2 := newPKI(t)
	p2.issueClient(t, r.String(), "client")
	root2 := t.TempDir()
	roots2 := []Root{customRoot(t, Docker, root2)}
	if _, err := Install(Options{Home: p2.home, Roots: roots2}); err != nil {
		t.Fatal(err)
	}
	dir2 := filepath.Join(root2, r.String())
	// Re-encode the key (same key, other bytes): changed since install.
	keyPEM, err := os.ReadFile(filepath.Join(dir2, "client.key"))
	if err != nil {
		t.Fatal(err)
	}
	key, err := ca.ParseKey(keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalECPrivateKey(key.(*ecdsa.PrivateKey))
	if err != nil {
		t.Fatal(err)
	}
	testenv.WriteFile(t, filepath.Join(dir2, "client.key"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), 0o600)
	if _, err := Uninstall(UninstallOptions{Registries: []host.Registry{r}, Roots: roots2}); err != nil {
		t.Fatal(err)
	}
	if got := names(snapshot(t, dir2)); got != ".certkit-manifest.json client.cert client.key" {
		t.Errorf("after uninstall with a changed key the folder holds %s, want the whole pair kept", got)
	}
}

// TestInstallThroughSymlinkedFolder: a registry folder that is a symbolic
// link (to a folder kept elsewhere) stays a link; the swap happens where
// the folder really is.
func TestInstallThroughSymlinkedFolder(t *testing.T) {
	p := newPKI(t)
	reg := startRegistry(t, p)
	p.issueClient(t, reg.Name.String(), "client")
	root := t.TempDir()
	real := filepath.Join(t.TempDir(), "shared", "reg")
	if err := os.MkdirAll(real, 0o755); err != nil {
		t.Fatal(err)
	}
	testenv.WriteFile(t, filepath.Join(real, "NOTES"), []byte("x"), 0o644)
	link := filepath.Join(root, reg.Name.String())
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	res, err := Install(Options{Home: p.home, Roots: []Root{customRoot(t, Docker, root)}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Folders[0].Dir != real {
		t.Errorf("installed into %s, want %s", res.Folders[0].Dir, real)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("the link was replaced: %v", err)
	}
	if got := names(snapshot(t, real)); got != ".certkit-manifest.json NOTES ca.crt client.cert client.key" {
		t.Errorf("the real folder holds %s", got)
	}
	bothOracles(t, reg, root)

	// Uninstall keeps the real folder (and the link) with the user's file.
	os.Remove(filepath.Join(real, "NOTES"))
	if _, err := Uninstall(UninstallOptions{Registries: []host.Registry{reg.Name}, Roots: []Root{customRoot(t, Docker, root)}}); err != nil {
		t.Fatal(err)
	}
	if s := snapshot(t, real); s == nil || len(s) != 0 {
		t.Errorf("after uninstall the real folder holds %v, want it empty and present", names(s))
	}
}

// TestInstallOldCertkitPairExpired: a pair certkit installed earlier and
// the home no longer has is certkit's to remove: the error says --force.
func TestInstallOldCertkitPairExpired(t *testing.T) {
	p := newPKI(t)
	r := mustParse(t, "reg.example.com")
	p.issueClient(t, r.String(), "client")
	root := t.TempDir()
	roots := []Root{customRoot(t, Docker, root)}
	// "old" expires in an hour; install it, then drop it from the home.
	c, k := p.client(t, "old", func(c *x509.Certificate) { c.NotAfter = time.Now().Add(time.Hour) })
	hd := filepath.Join(p.home, "hosts", r.String())
	testenv.WriteFile(t, filepath.Join(hd, "old.cert"), c, 0o644)
	testenv.WriteFile(t, filepath.Join(hd, "old.key"), k, 0o600)
	if _, err := Install(Options{Home: p.home, Roots: roots}); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(hd, "old.cert"))
	os.Remove(filepath.Join(hd, "old.key"))
	later := func() time.Time { return time.Now().Add(2 * time.Hour) }
	_, err := Install(Options{Home: p.home, Roots: roots, Now: later})
	var be *BrokenFolderError
	if !errors.As(err, &be) || !strings.Contains(be.Hint(), "--force") {
		t.Fatalf("got %v (hint %q), want a broken folder error pointing at --force", err, errs.HintOf(err))
	}
	if _, err := Install(Options{Home: p.home, Roots: roots, Now: later, Force: true}); err != nil {
		t.Fatal(err)
	}
	if got := names(snapshot(t, filepath.Join(root, r.String()))); got != ".certkit-manifest.json ca.crt client.cert client.key" {
		t.Errorf("folder holds %s", got)
	}
}

// TestInstallNeverCopiesPrivateKeysOfCAOrServer: with the server's material
// and the CA key in the home beside the client pair, only ca.crt and the
// client pair land in certs.d, for every layout.
func TestInstallNeverCopiesPrivateKeysOfCAOrServer(t *testing.T) {
	p := newPKI(t)
	r := mustParse(t, "reg.example.com:5000")
	p.issueServer(t, r.String(), "reg.example.com")
	_, clientKey := p.issueClient(t, r.String(), "client")
	caKey, err := os.ReadFile(filepath.Join(home.CADir(p.home), "ca.key"))
	if err != nil {
		t.Fatal(err)
	}
	serverKey, err := os.ReadFile(filepath.Join(home.HostDir(p.home, r.String()), home.ServerKey))
	if err != nil {
		t.Fatal(err)
	}
	for _, target := range []Target{Docker, Containerd} {
		t.Run(string(target), func(t *testing.T) {
			root := t.TempDir()
			if _, err := Install(Options{Home: p.home, Roots: []Root{customRoot(t, target, root)}}); err != nil {
				t.Fatal(err)
			}
			dir := filepath.Join(root, r.String())
			entries, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, e := range entries {
				names = append(names, e.Name())
				data, err := os.ReadFile(filepath.Join(dir, e.Name()))
				if err != nil {
					t.Fatal(err)
				}
				if bytes.Contains(data, bytes.TrimSpace(caKey)) || bytes.Contains(data, bytes.TrimSpace(serverKey)) {
					t.Errorf("%s holds the CA or the server key", e.Name())
				}
				if strings.HasPrefix(e.Name(), "server") {
					t.Errorf("%s: server material in certs.d", e.Name())
				}
			}
			want := ".certkit-manifest.json ca.crt client.cert client.key"
			if target == Containerd {
				want = ".certkit-manifest.json ca.crt client.cert client.key hosts.toml"
			}
			if got := strings.Join(names, " "); got != want {
				t.Errorf("certs.d holds %s, want %s", got, want)
			}
			if got, _ := os.ReadFile(filepath.Join(dir, "client.key")); !bytes.Equal(got, clientKey) {
				t.Error("client.key is not the client's key")
			}
		})
	}
}

// TestUninstallRefusalListsEachFileOnce: a hosts.toml of the user's that
// names certkit's files in its [host] entry and at the top keeps uninstall
// from taking them away; each file it names is one problem, not two.
func TestUninstallRefusalListsEachFileOnce(t *testing.T) {
	p := newPKI(t)
	r := mustParse(t, "reg.example.com:5000")
	p.issueClient(t, r.String(), "client")
	root := filepath.Join(t.TempDir(), "certs.d")
	dir := filepath.Join(root, r.String())
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	u := "https://" + r.String()
	testenv.WriteFile(t, filepath.Join(dir, HostsFile), []byte("server = \""+u+"\"\nca = \"ca.crt\"\nclient = [[\"client.cert\", \"client.key\"]]\n\n[host.\""+u+"\"]\n  capabilities = [\"pull\", \"resolve\"]\n  ca = \"ca.crt\"\n  client = [[\"client.cert\", \"client.key\"]]\n"), 0o644)
	roots := []Root{customRoot(t, Containerd, root)}
	if _, err := Install(Options{Home: p.home, Roots: roots}); err != nil {
		t.Fatal(err)
	}
	_, err := Uninstall(UninstallOptions{Registries: []host.Registry{r}, Roots: roots})
	var be *BrokenFolderError
	if !errors.As(err, &be) {
		t.Fatalf("got %v, want a BrokenFolderError", err)
	}
	seen := map[string]bool{}
	for _, pr := range be.Problems {
		if seen[pr.Path] {
			t.Errorf("%s is listed twice: %v", pr.Path, be.Problems)
		}
		seen[pr.Path] = true
	}
	if len(seen) != 2 {
		t.Errorf("problems %v, want one for ca.crt and one for the client pair", be.Problems)
	}
}

// TestUninstallLeavesNoFolderForContainerd: containerd stops its search
// at the first registry folder it finds, empty or not (certsd.md §2), so
// uninstall leaves no empty registry folder in a containerd root: not even
// through a symbolic link (the link goes); and when files of the user's
// stay, it warns that containerd reads them, with a fix that works.
func TestUninstallLeavesNoFolderForContainerd(t *testing.T) {
	p := newPKI(t)
	r := mustParse(t, "reg.example.com:5000")
	p.issueClient(t, r.String(), "client")
	uninstall := func(t *testing.T, roots []Root) *Result {
		t.Helper()
		res, err := Uninstall(UninstallOptions{Registries: []host.Registry{r}, Roots: roots})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}

	t.Run("only certkit's files", func(t *testing.T) {
		root := filepath.Join(t.TempDir(), "certs.d")
		roots := []Root{customRoot(t, Containerd, root)}
		if _, err := Install(Options{Home: p.home, Roots: roots}); err != nil {
			t.Fatal(err)
		}
		uninstall(t, roots)
		if exists(filepath.Join(root, r.String())) {
			t.Error("the registry folder is still in the certs root")
		}
	})

	// containerd's root links the registry folder to Docker's, which
	// containerd searches after its own: install --target containerd
	// writes into Docker's folder; uninstall --target containerd takes the
	// link and the folder it emptied (the dry run says so), and a later
	// uninstall of every target has nothing left to remove.
	t.Run("through a link", func(t *testing.T) {
		base, ctrRoot, dkrRoot, real, link := linkedRegistryFolder(t, r)
		ctr := customRoot(t, Containerd, ctrRoot)
		dkr := customRoot(t, Docker, dkrRoot)
		dkr.ContainerdFirst = []string{ctrRoot}
		if _, err := Install(Options{Home: p.home, Roots: []Root{ctr}}); err != nil {
			t.Fatal(err)
		}
		before := tree(t, base)
		dry, err := Uninstall(UninstallOptions{Registries: []host.Registry{r}, Roots: []Root{ctr}, DryRun: true})
		if err != nil {
			t.Fatal(err)
		}
		if f := dry.Folders[0]; !f.Removed || !strings.Contains(f.Note, "the link "+link+" to it goes too") {
			t.Errorf("dry run: removed %v, note %q; want the folder and the link %s said to go", f.Removed, f.Note, link)
		}
		sameTree(t, "the dry run", before, tree(t, base))
		res := uninstall(t, []Root{ctr})
		if _, err := os.Lstat(link); err == nil {
			t.Error("the link to the empty folder is still in the certs root, where containerd stops at it")
		}
		if !strings.Contains(res.Folders[0].Note, link) || !res.Folders[0].Removed {
			t.Errorf("removed %v, note %q: want the folder and the link said to be gone", res.Folders[0].Removed, res.Folders[0].Note)
		}
		if exists(real) {
			t.Error("the folder the link led to, emptied by certkit, is still in Docker's certs root")
		}
		if res := uninstall(t, []Root{ctr, dkr}); res.Changed() {
			t.Errorf("uninstall of every target after it changed %+v", res.Folders)
		}
	})

	// Both roots in one run: the folder is one, taken away once, and the
	// link goes with it.
	t.Run("through a link, every target", func(t *testing.T) {
		_, ctrRoot, dkrRoot, real, link := linkedRegistryFolder(t, r)
		ctr := customRoot(t, Containerd, ctrRoot)
		if _, err := Install(Options{Home: p.home, Roots: []Root{ctr}}); err != nil {
			t.Fatal(err)
		}
		dkr := customRoot(t, Docker, dkrRoot)
		dkr.ContainerdFirst = []string{ctrRoot}
		uninstall(t, []Root{dkr, ctr})
		if _, err := os.Lstat(link); err == nil {
			t.Error("the link is still in containerd's certs root")
		}
		if exists(real) {
			t.Error("the emptied folder is still in Docker's certs root")
		}
	})

	t.Run("files of the user's stay", func(t *testing.T) {
		testenv.NeedTools(t, "sh")
		base := t.TempDir()
		root := filepath.Join(base, "certs.d")
		dir := filepath.Join(root, r.String())
		roots := []Root{customRoot(t, Containerd, root)}
		if _, err := Install(Options{Home: p.home, Roots: roots}); err != nil {
			t.Fatal(err)
		}
		testenv.WriteFile(t, filepath.Join(dir, "notes.txt"), []byte("notes"), 0o644)
		res := uninstall(t, roots)
		ws := problemsOf(res.Folders[0].Problems, KindLeftForContainerd)
		if len(ws) != 1 || !strings.Contains(ws[0].Message, "notes.txt") {
			t.Fatalf("problems %v, want one %s warning naming notes.txt", res.Folders[0].Problems, KindLeftForContainerd)
		}
		runShell(t, mvCommand(t, ws[0].Fix))
		if exists(dir) {
			t.Errorf("the fix %q left the folder in the certs root", ws[0].Fix)
		}
		if !exists(filepath.Join(base, r.String()+shadowSuffix, "notes.txt")) {
			t.Errorf("the fix %q did not keep the user's file", ws[0].Fix)
		}
	})
}

// linkedRegistryFolder makes containerd's and Docker's certs roots under a
// new base folder, with reg's folder in Docker's root and a link to it in
// containerd's.
func linkedRegistryFolder(t *testing.T, reg host.Registry) (base, ctrRoot, dkrRoot, real, link string) {
	t.Helper()
	base = t.TempDir()
	ctrRoot = filepath.Join(base, "containerd", "certs.d")
	dkrRoot = filepath.Join(base, "docker", "certs.d")
	real = filepath.Join(dkrRoot, reg.String())
	for _, d := range []string{ctrRoot, real} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	link = filepath.Join(ctrRoot, reg.String())
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	return base, ctrRoot, dkrRoot, real, link
}
