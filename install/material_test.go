package install

import (
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
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
