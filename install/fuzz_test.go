package install

import (
	"crypto/tls"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.podman.io/image/v5/pkg/tlsclientconfig"
)

// FuzzParseHostsTOML: any bytes parse without a panic, and every path a
// parsed file names is made absolute against the folder, as containerd does.
func FuzzParseHostsTOML(f *testing.F) {
	f.Add([]byte(renderHostsTOML("reg.example.com:5000", []string{"ca.crt", "corp.crt"}, []string{"client", "ci"})))
	f.Add([]byte("server = \"https://reg\"\nca = [\"/abs/a.crt\", \"b.crt\"]\nclient = \"combined.pem\"\n"))
	f.Add([]byte("[host.\"https://m\"]\n  client = [[\"a.cert\", \"a.key\"], \"b.pem\"]\n[host.\"https://m\".header]\n  x = [\"1\"]\n"))
	f.Add([]byte("[host.\"x\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		h := parseHostsTOML("/certs.d/reg", data)
		if h.Err != nil {
			return
		}
		for _, p := range h.Uses() {
			if !filepath.IsAbs(p) {
				t.Fatalf("%q is not absolute", p)
			}
		}
	})
}

// FuzzReadFolder: a folder holding fuzzed files under the names the loaders
// care about is read without a panic, and ReadFolder says Docker and podman
// refuse the folder exactly when podman's own loader does.
func FuzzReadFolder(f *testing.F) {
	p := newPKI(f)
	cert, key := p.client(f, "client", nil)
	f.Add(p.ca.CertPEM, cert, key, []byte{}, "client")
	f.Add(p.ca.Cert.Raw, cert, []byte{}, []byte("[host.\"https://r\"]\nca = \"ca.crt\"\n"), "client")
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), key, cert, []byte("x"), "a.b")
	f.Fuzz(func(t *testing.T, crt, certPEM, keyPEM, toml []byte, stem string) {
		if stem == "" || strings.ContainsAny(stem, "/\x00") || stem == "." || stem == ".." || len(stem) > 100 {
			return
		}
		dir := filepath.Join(t.TempDir(), "reg.example.com")
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		put := func(name string, data []byte, mode os.FileMode) {
			if err := os.WriteFile(filepath.Join(dir, name), data, mode); err != nil {
				t.Fatal(err)
			}
		}
		put("ca.crt", crt, 0o644)
		if len(certPEM) > 0 {
			put(stem+CertExt, certPEM, 0o644)
		}
		if len(keyPEM) > 0 {
			put(stem+KeyExt, keyPEM, 0o600)
		}
		if len(toml) > 0 {
			put(HostsFile, toml, 0o644)
		}
		folder, err := ReadFolder(dir)
		if err != nil {
			t.Fatal(err)
		}
		podman := tlsclientconfig.SetupCertificates(dir, &tls.Config{})
		if (folder.LoaderError() == nil) != (podman == nil) {
			t.Fatalf("ReadFolder says the loaders fail with %v, podman says %v", folder.LoaderError(), podman)
		}
		ctr := containerdLoad(filepath.Dir(dir), filepath.Base(dir))
		if (folder.ContainerdError() == nil) != (ctr == nil) {
			t.Fatalf("ReadFolder says containerd fails with %v, containerd says %v", folder.ContainerdError(), ctr)
		}
	})
}
