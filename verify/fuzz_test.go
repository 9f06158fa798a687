package verify

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/certkit/certkit/ca"
	"github.com/certkit/certkit/host"
)

// FuzzVerifyOffline writes random files (names and contents) into a
// registry folder and verifies it offline, through install.ReadFolder: it
// never panics, and always reports the folder first, then well-formed
// checks.
//
//	go test -run '^$' -fuzz FuzzVerifyOffline -fuzztime 30s -fuzzminimizetime 20x ./verify/
//
// (Minimizing a new input re-runs the target for up to a minute by
// default; 20 runs are plenty for six small arguments.)
func FuzzVerifyOffline(f *testing.F) {
	root := newCA(f, "certkit CA fuzz")
	other := newCA(f, "certkit CA other")
	c := root.issue(f, leafOpts{cn: "client"})
	s := other.issue(f, leafOpts{cn: "srv", server: true})
	caPEM := ca.EncodeCert(root.cert)
	rootKey, err := ca.MarshalKey(root.key)
	if err != nil {
		f.Fatal(err)
	}
	f.Add("ca.crt", caPEM, "client.cert", certPEM(c), "client.key", keyPEM(f, c), uint8(0))
	f.Add("ca.crt", caPEM, "client.cert", certPEM(c), "ca.key", rootKey, uint8(7))
	f.Add("a.crt", certPEM(s), "b.cert", append(certPEM(s), keyPEM(f, s)...), "b.key", keyPEM(f, c), uint8(3))
	f.Add("hosts.toml", []byte("server = \"https://reg.example.com:5000\"\n[host.\"https://reg.example.com:5000\"]\n  ca = \"ca.crt\"\n  client = [[\"client.cert\", \"client.key\"]]\n  skip_verify = true\n"),
		"ca.crt", caPEM, "client.cert", certPEM(c), uint8(1))
	f.Add("hosts.toml", []byte("[host.\"https://x\"]\nca = [\"a.crt\", 7]\nclient = \"c.cert\"\n"), "x.crt", []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), "y", []byte{0}, uint8(2))
	f.Add(".certkit-manifest.json", []byte(`{"files":{"ca.crt":"00"}}`), "ca.crt", caPEM, "z.key", []byte("-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n"), uint8(5))
	reg, err := host.Parse("reg.example.com:5000")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, n1 string, d1 []byte, n2 string, d2 []byte, n3 string, d3 []byte, modes uint8) {
		dir := filepath.Join(t.TempDir(), reg.String())
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for i, file := range []struct {
			name string
			data []byte
		}{{n1, d1}, {n2, d2}, {n3, d3}} {
			if !fileName(file.name) {
				continue
			}
			mode := os.FileMode(0o600)
			if modes&(1<<i) != 0 {
				mode = 0o644
			}
			if err := os.WriteFile(filepath.Join(dir, file.name), file.data, mode); err != nil {
				t.Fatal(err)
			}
		}
		rep := Verify(context.Background(), Options{Registry: reg, Dir: dir, Offline: true})
		if len(rep.Checks) == 0 || rep.Checks[0].ID != "folder" {
			t.Fatalf("the folder check is not first: %+v", rep.Checks)
		}
		for _, c := range rep.Checks {
			if c.ID == "" || c.Message == "" || (c.Status != OK && c.Status != Warning && c.Status != Error) {
				t.Fatalf("malformed check %+v", c)
			}
			if c.Status == Error && c.Fix == "" {
				t.Fatalf("an error without a fix: %+v", c)
			}
		}
	})
}

// fileName accepts what can be a file name inside the folder.
func fileName(s string) bool {
	return s != "" && s != "." && s != ".." && len(s) <= 200 && !strings.ContainsAny(s, "/\x00")
}
