package install

import (
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/certkit/certkit/host"
	"github.com/certkit/certkit/internal/errs"
	"github.com/certkit/certkit/internal/home"
	"github.com/certkit/certkit/internal/testenv"
)

// TestMaterialEncryptedKeyFix: a client key in the certkit home that is
// encrypted is refused, and the fix decrypts it into a new file before
// replacing the key: openssl truncates its -out file before it reads -in,
// so `-in K -out K` would destroy the key.
func TestMaterialEncryptedKeyFix(t *testing.T) {
	p := newPKI(t)
	const name = "reg.example.com:5000"
	_, keyPEM := p.issueClient(t, name, "client")
	b, _ := pem.Decode(keyPEM)
	//lint:ignore SA1019 an old-style encrypted key is exactly what users bring
	enc, err := x509.EncryptPEMBlock(rand.Reader, b.Type, b.Bytes, []byte("pw"), x509.PEMCipherAES256)
	if err != nil {
		t.Fatal(err)
	}
	key := filepath.Join(home.HostDir(p.home, name), "client.key")
	testenv.WriteFile(t, key, pem.EncodeToMemory(enc), 0o600)

	reg, err := host.Parse(name)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Install(Options{Home: p.home, Registries: []host.Registry{reg}, Roots: []Root{customRoot(t, Docker, t.TempDir())}})
	var me *MaterialError
	if !errors.As(err, &me) || !strings.Contains(me.Msg, "encrypted") {
		t.Fatalf("got %v, want a MaterialError about the encrypted key", err)
	}
	hint := errs.HintOf(err)
	if !strings.Contains(hint, "-out "+key+".new") || strings.Contains(hint, "-out "+key+" ") {
		t.Errorf("hint %q: the fix must write a new file, never the key it reads", hint)
	}
}

// TestMaterialFixesQuoteTheHost: the issue commands of the material's
// fixes quote the registry and the pair name for the shell: an IPv6
// registry's brackets are a glob, a name may hold a space.
func TestMaterialFixesQuoteTheHost(t *testing.T) {
	p := newPKI(t)
	const name = "[fd00::1]:5000"
	reg, err := host.Parse(name)
	if err != nil {
		t.Fatal(err)
	}
	install := func() string {
		_, err := Install(Options{Home: p.home, Registries: []host.Registry{reg}, Roots: []Root{customRoot(t, Docker, t.TempDir())}})
		var me *MaterialError
		if !errors.As(err, &me) {
			t.Fatalf("got %v, want a MaterialError", err)
		}
		return errs.HintOf(err)
	}
	if h := install(); !strings.HasSuffix(h, "certkit issue client --host '[fd00::1]:5000'") {
		t.Errorf("no client: hint %q, want the registry quoted", h)
	}
	certPEM, keyPEM := p.client(t, "ci 1", nil)
	dir := home.HostDir(p.home, name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	testenv.WriteFile(t, filepath.Join(dir, "ci 1.cert"), certPEM, 0o644)
	testenv.WriteFile(t, filepath.Join(dir, "ci 1.key"), keyPEM, 0o600)
	if h := install(); !strings.HasSuffix(h, "certkit issue client --force --host '[fd00::1]:5000' --name 'ci 1'") {
		t.Errorf("a name no certs.d file may have: hint %q, want the registry and the name quoted", h)
	}
}
