package status

import (
	"bytes"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/certkit/certkit/ca"
	"github.com/certkit/certkit/host"
	"github.com/certkit/certkit/install"
	"github.com/certkit/certkit/internal/home"
	"github.com/certkit/certkit/issue"
)

// TestParseCertFields: the fields status writes itself (the fingerprint,
// the issuer's name, kept by issuer) are what crypto/x509 and ca say, for
// leaves of two CAs.
func TestParseCertFields(t *testing.T) {
	reg, _ := host.Parse("reg.example.com:5000")
	for i := range 2 {
		h := t.TempDir()
		if _, err := ca.Create(ca.Options{Home: h, Machine: "t" + string(rune('a'+i)), Now: at(t0)}); err != nil {
			t.Fatal(err)
		}
		if _, err := issue.Issue(issue.Options{Home: h, Registry: reg, Kind: issue.Client, Names: []string{"a", "b"}, Now: at(t0)}); err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{filepath.Join(h, "ca", ca.CertFile), filepath.Join(h, "hosts", reg.String(), "a.cert"), filepath.Join(h, "hosts", reg.String(), "b.cert")} {
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			c, err := parseCert(data, p, Cert{})
			if err != nil {
				t.Fatal(err)
			}
			certs, err := ca.ParseCerts(data)
			if err != nil {
				t.Fatal(err)
			}
			x := certs[0]
			if c.SHA256 != ca.Fingerprint(x) || c.Issuer != x.Issuer.String() || c.Subject != x.Subject.String() {
				t.Errorf("%s: sha256 %s issuer %q subject %q; want %s %q %q", p, c.SHA256, c.Issuer, c.Subject, ca.Fingerprint(x), x.Issuer.String(), x.Subject.String())
			}
		}
	}
}

// TestPairNames: status's pair names are home.PairNamesOf's.
func TestPairNames(t *testing.T) {
	names := []string{"a.cert", "a.key", "a-b.cert", "a-b.key", "a.b.cert", "a.b.key", ".cert", ".key", "x.cert", "y.key",
		"z.cert.cert", "z.cert.key", "ca.crt", "server.cert", "server.key", "Z.cert", "Z.key", "é.cert", "é.key", "w.key.cert"}
	sorted := slices.Clone(names)
	slices.Sort(sorted)
	for _, in := range [][]string{names, sorted} {
		if got, want := pairNames(in), home.PairNamesOf(in); !slices.Equal(got, want) {
			t.Errorf("pairNames(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestCopiesOnBothCores: 100 copies, every one older than the home's
// (read on both cores, each through a shared buffer, and parsed), each
// read as the certificate in its own file.
func TestCopiesOnBothCores(t *testing.T) {
	h := t.TempDir()
	if _, err := ca.Create(ca.Options{Home: h, Machine: "t", Now: at(t0)}); err != nil {
		t.Fatal(err)
	}
	reg, _ := host.Parse("reg.example.com:5000")
	names := make([]string, 100)
	for i := range names {
		names[i] = fmt.Sprintf("runner-%03d", i)
	}
	root := issueInstalled(t, h, reg, names...)
	if _, err := issue.Issue(issue.Options{Home: h, Registry: reg, Kind: issue.Client, Names: names, Force: true, Now: at(t0.Add(time.Hour))}); err != nil {
		t.Fatal(err)
	}
	rep, err := Read(Options{Home: h, Roots: []install.Root{root}, Now: at(t0.Add(2 * time.Hour))})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, c := range rep.Certs {
		if c.Location != InCertsD || c.Kind != Client {
			continue
		}
		n++
		data, err := os.ReadFile(c.Path)
		if err != nil {
			t.Fatal(err)
		}
		certs, err := ca.ParseCerts(data)
		if err != nil {
			t.Fatal(err)
		}
		if c.Copy != Older || c.Serial != serialHex(certs[0].SerialNumber) || c.Subject != certs[0].Subject.String() || c.SHA256 != ca.Fingerprint(certs[0]) {
			t.Errorf("%s: %s %s %s, want older %s %s", c.Path, c.Copy, c.Serial, c.Subject, serialHex(certs[0].SerialNumber), certs[0].Subject)
		}
	}
	if n != len(names) {
		t.Errorf("%d copies, want %d", n, len(names))
	}
}

// TestFirstCert: a certificate file as certkit writes it is decoded
// without pem.Decode, to the same bytes; every other layout (and every
// error) is ca.ParseCerts's.
func TestFirstCert(t *testing.T) {
	h := t.TempDir()
	if _, err := ca.Create(ca.Options{Home: h, Machine: "t", Now: at(t0)}); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(h, "ca", ca.CertFile))
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(data)
	if der, ok := pemDER(data); !ok || !bytes.Equal(der, block.Bytes) {
		t.Fatalf("pemDER of certkit's own file: %v, or not pem.Decode's bytes", ok)
	}
	crlf := bytes.ReplaceAll(data, []byte("\n"), []byte("\r\n"))
	key := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte("key")})
	bad := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("not DER")})
	for name, tc := range map[string]struct {
		data []byte
		fast bool
	}{
		"as written":              {data, true},
		"crlf":                    {crlf, false},
		"no final newline":        {bytes.TrimSuffix(data, []byte("\n")), false},
		"text before":             {append([]byte("subject=CN x\n"), data...), false},
		"a key after":             {append(slices.Clone(data), key...), false},
		"a bad certificate after": {append(slices.Clone(data), bad...), false},
		"bad":                     {bad, true},
		"headers":                 {pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Headers: map[string]string{"A": "b"}, Bytes: block.Bytes}), false},
		"crlf inside":             {[]byte(pemBegin + strings.ReplaceAll(strings.TrimPrefix(strings.TrimSuffix(string(data), pemEnd), pemBegin), "\n", "\r\n") + pemEnd), true},
		"a space":                 {[]byte(pemBegin + " " + strings.TrimPrefix(string(data), pemBegin)), false},
		"a tab inside":            {[]byte(strings.Replace(string(data), "\n", "\n\t", 2)), false},
		"one long line":           {[]byte(pemBegin + base64.StdEncoding.EncodeToString(block.Bytes) + "\n" + pemEnd), true},
		"bad base64":              {[]byte(pemBegin + "AAA\n" + pemEnd), false},
		"empty":                   {[]byte(pemBegin + pemEnd), false},
	} {
		if _, ok := pemDER(tc.data); ok != tc.fast {
			t.Errorf("%s: pemDER ok %v, want %v", name, ok, tc.fast)
		}
		x, _, err := firstCert(tc.data)
		certs, werr := ca.ParseCerts(tc.data)
		switch {
		case (err == nil) != (werr == nil) || err != nil && err.Error() != werr.Error():
			t.Errorf("%s: error %v, ca.ParseCerts says %v", name, err, werr)
		case err == nil && !x.Equal(certs[0]):
			t.Errorf("%s: not ca.ParseCerts's first certificate", name)
		}
	}
}

// TestRootsListedAhead: the certs roots, listed while the home is read,
// give what reading them in turn gave: a root that is not there is
// skipped, an empty registry folder has the home's pairs missing, a
// registry the home does not know has its copies unknown.
func TestRootsListedAhead(t *testing.T) {
	h := t.TempDir()
	if _, err := ca.Create(ca.Options{Home: h, Machine: "t", Now: at(t0)}); err != nil {
		t.Fatal(err)
	}
	reg, _ := host.Parse("reg.example.com:5000")
	other, _ := host.Parse("other.example.com")
	full := issueInstalled(t, h, reg, "a", "b")
	empty, err := install.CustomRoot(install.Podman, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{empty.Folder(reg), full.Folder(other)} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"a.cert", "a.key"} {
		data, err := os.ReadFile(filepath.Join(full.Folder(reg), f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(full.Folder(other), f), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	gone, err := install.CustomRoot(install.Containerd, filepath.Join(t.TempDir(), "gone"))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Read(Options{Home: h, Roots: []install.Root{gone, empty, full}, Now: at(t0)})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Copy{}
	for _, c := range rep.Certs {
		if c.Location == InCertsD && c.Kind == Client {
			got[string(c.Target)+" "+c.Registry+" "+c.Name] = c.Copy
		}
	}
	want := map[string]Copy{
		"podman reg.example.com:5000 a": Missing, "podman reg.example.com:5000 b": Missing,
		"docker reg.example.com:5000 a": Same, "docker reg.example.com:5000 b": Same,
		"docker other.example.com a": Unknown,
	}
	if fmt.Sprint(got) != fmt.Sprint(want) || len(rep.Problems) != 0 {
		t.Errorf("copies %v, problems %v; want %v", got, rep.Problems, want)
	}
}
