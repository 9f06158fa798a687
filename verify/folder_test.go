package verify

import (
	"context"
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/certkit/certkit/ca"
	"github.com/certkit/certkit/host"
	"github.com/certkit/certkit/install"
)

// writeFolder lays out a certs.d registry folder: files maps names to
// contents; keys get 0600, the rest 0644.
func writeFolder(t testing.TB, dir string, files map[string][]byte) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, data := range files {
		mode := os.FileMode(0o644)
		if strings.HasSuffix(name, ".key") {
			mode = 0o600
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, mode); err != nil {
			t.Fatal(err)
		}
	}
}

func certPEM(c tls.Certificate) []byte {
	var out []byte
	for _, der := range c.Certificate {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})...)
	}
	return out
}

func keyPEM(t testing.TB, c tls.Certificate) []byte {
	t.Helper()
	b, err := ca.MarshalKey(c.PrivateKey.(crypto.Signer))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Verify reads the folder with install's rules and probes with what it
// holds: the CA file as root, the pairs in filename order.
func TestVerifyFolderAndLive(t *testing.T) {
	t.Parallel()
	root := newCA(t, "certkit CA folder")
	addr := startTLS(t, serverConfig(root.server(t, regName), root), registryAnswer)
	reg := target(t, addr, regName, nil).Registry
	dir := filepath.Join(t.TempDir(), "certs.d", reg.String())
	alice := root.issue(t, leafOpts{cn: "alice"})
	writeFolder(t, dir, map[string][]byte{
		"ca.crt":     ca.EncodeCert(root.cert),
		"alice.cert": certPEM(alice),
		"alice.key":  keyPEM(t, alice),
	})
	opt := Options{Registry: reg, Dir: dir, Addr: addr, Live: LiveOptions{Roots: x509.NewCertPool()}}
	rep := Verify(context.Background(), opt)
	if rep.Failed() {
		t.Fatalf("failed:\n%s", dump(rep))
	}
	c := expect(t, rep, "folder", OK, "")
	contains(t, "folder", c.Message, `1 CA file (ca.crt: "certkit CA folder")`, "1 client pair (alice)")
	expect(t, rep, "pair:alice", OK, "")
	if rep.Dir != dir || rep.WillSend != "alice" {
		t.Fatalf("dir %q, will send %q", rep.Dir, rep.WillSend)
	}
	if rep.Checks[0].ID != "folder" {
		t.Fatalf("offline checks come first: %s", rep.Checks[0].ID)
	}

	// a stray CA key breaks Docker for the whole folder
	key, err := ca.MarshalKey(root.key)
	if err != nil {
		t.Fatal(err)
	}
	writeFolder(t, dir, map[string][]byte{"ca.key": key})
	opt.Offline = true
	rep = Verify(context.Background(), opt)
	c = expect(t, rep, "file:ca.key", Error, "ca-key")
	contains(t, "message", c.Message, "missing client certificate ca.cert for key ca.key", "private key of the CA")
	expectNo(t, rep, "connect")
}

func TestVerifyOfflineFolders(t *testing.T) {
	t.Parallel()
	root := newCA(t, "certkit CA offline")
	reg, _ := host.Parse("reg.example.com:5000")
	good := root.issue(t, leafOpts{cn: "good"})
	serverEKU := root.issue(t, leafOpts{cn: "srv", server: true})
	soon := root.issue(t, leafOpts{cn: "soon", notAfter: time.Now().Add(5 * 24 * time.Hour)})
	tests := []struct {
		name   string
		files  map[string][]byte
		id     string
		status Status
		kind   string
		msg    string
	}{
		{"good", map[string][]byte{"ca.crt": ca.EncodeCert(root.cert), "client.cert": certPEM(good), "client.key": keyPEM(t, good)},
			"folder", OK, "", "1 client pair (client)"},
		{"unpaired cert", map[string][]byte{"ca.crt": ca.EncodeCert(root.cert), "client.cert": certPEM(good)},
			"file:client.cert", Error, "unpaired-cert", "missing key client.key for client certificate client.cert"},
		{"server certificate as client", map[string][]byte{"ca.crt": ca.EncodeCert(root.cert), "srv.cert": certPEM(serverEKU), "srv.key": keyPEM(t, serverEKU)},
			"file:srv.cert", Error, "no-client-auth", "bad certificate"},
		{"expiring", map[string][]byte{"ca.crt": ca.EncodeCert(root.cert), "c.cert": certPEM(soon), "c.key": keyPEM(t, soon)},
			"file:c.cert", Warning, "expiring", "expires in"},
		// install decides how bad a non-PEM .crt is; verify reports it
		{"not PEM", map[string][]byte{"ca.crt": root.cert.Raw},
			"file:ca.crt", "", "not-pem", "not a PEM certificate"},
		{"empty", map[string][]byte{"README": []byte("hello")},
			"folder", Warning, "empty-folder", "no CA file and no client pair"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), reg.String())
			writeFolder(t, dir, tt.files)
			rep := Verify(context.Background(), Options{Registry: reg, Dir: dir, Offline: true})
			var c Check
			if tt.status == "" {
				var ok bool
				if c, ok = rep.Check(tt.id); !ok {
					t.Fatalf("no check %q:\n%s", tt.id, dump(rep))
				}
				if c.Kind != tt.kind {
					t.Fatalf("check %q has kind %q, want %q:\n%s", tt.id, c.Kind, tt.kind, dump(rep))
				}
			} else {
				c = expect(t, rep, tt.id, tt.status, tt.kind)
			}
			contains(t, "message", c.Message, tt.msg)
			expectNo(t, rep, "connect")
		})
	}

	rep := Verify(context.Background(), Options{Registry: reg, Dir: filepath.Join(t.TempDir(), "nope"), Offline: true})
	expect(t, rep, "folder", Error, "no-folder")
}

// Every folder check carries install's diagnosis as its kind, in the
// report and in its JSON, so scripts need not read the messages.
func TestVerifyFolderKinds(t *testing.T) {
	t.Parallel()
	root := newCA(t, "certkit CA kinds")
	reg, _ := host.Parse("reg.example.com:5000")
	good := root.issue(t, leafOpts{cn: "good"})
	caKey, err := ca.MarshalKey(root.key)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), reg.String())
	writeFolder(t, dir, map[string][]byte{
		"ca.crt":      ca.EncodeCert(root.cert),
		"ca.key":      caKey,
		"old.crt":     root.cert.Raw,
		"laptop.cert": certPEM(good),
		"client.cert": certPEM(good),
		"client.key":  keyPEM(t, good),
	})
	if err := os.Chmod(filepath.Join(dir, "client.key"), 0o640); err != nil {
		t.Fatal(err)
	}
	rep := Verify(context.Background(), Options{Registry: reg, Dir: dir, Offline: true})
	want := map[string]string{
		"file:ca.key":      "ca-key",
		"file:old.crt":     "not-pem",
		"file:laptop.cert": "unpaired-cert",
		"file:client.key":  "key-readable",
	}
	for id, kind := range want {
		c, ok := rep.Check(id)
		if !ok {
			t.Fatalf("no check %q:\n%s", id, dump(rep))
		}
		if c.Kind != kind {
			t.Errorf("check %q has kind %q, want %q", id, c.Kind, kind)
		}
	}

	// The kinds are install's, one check per problem, in its order.
	f, err := install.ReadFolder(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range rep.Checks {
		if strings.HasPrefix(c.ID, "file:") {
			got = append(got, c.ID+" "+c.Kind)
		}
	}
	var fromInstall []string
	for _, p := range f.Problems {
		fromInstall = append(fromInstall, "file:"+p.File+" "+string(p.Kind))
	}
	if strings.Join(got, "\n") != strings.Join(fromInstall, "\n") {
		t.Errorf("folder checks:\n%s\nwant install's problems:\n%s", strings.Join(got, "\n"), strings.Join(fromInstall, "\n"))
	}
	if len(got) != len(want) {
		t.Errorf("%d folder checks, want %d:\n%s", len(got), len(want), dump(rep))
	}

	// And in the JSON that verify --json prints.
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var decoded struct {
		Checks []struct {
			ID   string `json:"id"`
			Kind string `json:"kind"`
		} `json:"checks"`
	}
	if err := json.Unmarshal(b, &decoded); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, c := range decoded.Checks {
		if c.ID == "file:laptop.cert" {
			found = true
			if c.Kind != "unpaired-cert" {
				t.Errorf("JSON kind of file:laptop.cert is %q, want unpaired-cert", c.Kind)
			}
		}
	}
	if !found {
		t.Errorf("no file:laptop.cert in the JSON:\n%s", b)
	}
}
