package install

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/certkit/certkit/internal/testenv"
)

// A client pair that the folder's CA did not sign: read offline, either
// side may be the wrong one, and the fix names both. In the folder
// certkit installed, with its ca.crt replaced by another CA's (README's
// failure example), both install commands take --force (they replace
// certkit's own files) and name the certs root; the CA side, followed,
// clears the warning.
func TestUntrustedClientFixNamesBothSides(t *testing.T) {
	p := newPKI(t)
	other := newPKI(t)
	reg := mustParse(t, "reg.example.com:5000")
	p.issueClient(t, reg.String(), "client")
	p.issueClient(t, reg.String(), "laptop")
	root := filepath.Join(t.TempDir(), "certs.d")
	roots := []Root{customRoot(t, Docker, root)}
	if _, err := Install(Options{Home: p.home, Roots: roots}); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, reg.String())
	testenv.WriteFile(t, filepath.Join(dir, CAFileName), other.ca.CertPEM, 0o644)

	f, err := ReadFolderWith(dir, ReadOptions{Flags: " --certs-dir " + root})
	if err != nil {
		t.Fatal(err)
	}
	ws := problemsOf(f.Problems, KindUntrustedClient)
	if len(ws) != 2 {
		t.Fatalf("problems %v, want an untrusted-client warning for each pair", f.Problems)
	}
	for _, w := range ws {
		inst := "certkit install --force --host reg.example.com:5000 --certs-dir " + root
		want := "reinstall the CA that issued it: " + inst + "; or, if ca.crt is the registry's CA, issue " + w.File + " again from the home that holds it"
		if w.Fix != want {
			t.Errorf("%s: fix\n got %s\nwant %s", w.File, w.Fix, want)
		}
	}

	// the CA side, followed: install --force puts the home's CA back
	if _, err := Install(Options{Home: p.home, Roots: roots, Force: true}); err != nil {
		t.Fatal(err)
	}
	f, err = ReadFolder(dir)
	if err != nil {
		t.Fatal(err)
	}
	checkProblems(t, f.Problems, nil)
	if data, _ := os.ReadFile(filepath.Join(dir, CAFileName)); string(data) != string(p.ca.CertPEM) {
		t.Error("ca.crt is not the home's CA after install --force")
	}
}

// A pair of the user's from another CA beside certkit's intact files: the
// CA side's install needs no --force (ca.crt is as certkit installed it),
// the pair side moves the user's pair out first, since install never
// replaces it; followed, the pair side clears the warning.
func TestUntrustedClientFixForeignPair(t *testing.T) {
	p := newPKI(t)
	other := newPKI(t)
	reg := mustParse(t, "reg.example.com:5000")
	p.issueClient(t, reg.String(), "client")
	root := filepath.Join(t.TempDir(), "certs.d")
	roots := []Root{customRoot(t, Docker, root)}
	if _, err := Install(Options{Home: p.home, Roots: roots}); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, reg.String())
	cert, key := other.client(t, "a", nil)
	testenv.WriteFile(t, filepath.Join(dir, "a.cert"), cert, 0o644)
	testenv.WriteFile(t, filepath.Join(dir, "a.key"), key, 0o600)

	f, err := ReadFolderWith(dir, ReadOptions{Flags: " --certs-dir " + root})
	if err != nil {
		t.Fatal(err)
	}
	ws := problemsOf(f.Problems, KindUntrustedClient)
	if len(ws) != 1 || ws[0].File != "a.cert" {
		t.Fatalf("problems %v, want one untrusted-client warning, for a.cert", f.Problems)
	}
	inst := "certkit install --host reg.example.com:5000 --certs-dir " + root
	want := "reinstall the CA that issued it: " + inst + "; or, if ca.crt is the registry's CA, move " +
		filepath.Join(dir, "a.cert") + " and " + filepath.Join(dir, "a.key") + " aside and issue a.cert again from the home that holds it"
	if ws[0].Fix != want {
		t.Errorf("fix\n got %s\nwant %s", ws[0].Fix, want)
	}

	// the pair side, followed
	out := t.TempDir()
	for _, n := range []string{"a.cert", "a.key"} {
		if err := os.Rename(filepath.Join(dir, n), filepath.Join(out, n)); err != nil {
			t.Fatal(err)
		}
	}
	p.issueClient(t, reg.String(), "a")
	if _, err := Install(Options{Home: p.home, Roots: roots}); err != nil {
		t.Fatal(err)
	}
	f, err = ReadFolder(dir)
	if err != nil {
		t.Fatal(err)
	}
	checkProblems(t, f.Problems, nil)
	if len(f.Pairs) != 2 {
		t.Errorf("pairs %v, want a and client", f.Pairs)
	}
}
