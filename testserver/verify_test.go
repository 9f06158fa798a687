package testserver

import (
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/certkit/certkit/ca"
	"github.com/certkit/certkit/host"
	"github.com/certkit/certkit/verify"
)

// TestVerifyAgainstTestserver: certkit verify, pointed at the test server,
// passes for a folder with a client pair of the certkit CA, and reports the
// 403 for a pair of another CA. This is what `certkit demo` relies on.
func TestVerifyAgainstTestserver(t *testing.T) {
	p := newPKI(t)
	reg, err := host.Parse("localhost")
	if err != nil {
		t.Fatal(err)
	}
	p.issueServer(t, reg)
	opt, err := Load(p.home, reg)
	if err != nil {
		t.Fatal(err)
	}
	srv := start(t, opt)

	folder := func(pair string, signer *pki) string {
		dir := filepath.Join(t.TempDir(), reg.String())
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		c := signer.client(t, pair)
		key, err := ca.MarshalKey(c.PrivateKey.(*ecdsa.PrivateKey))
		if err != nil {
			t.Fatal(err)
		}
		for name, data := range map[string][]byte{
			"ca.crt":       p.ca.CertPEM,
			pair + ".cert": ca.EncodeCert(c.Leaf),
			pair + ".key":  key,
		} {
			if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		return dir
	}

	rep := verify.Verify(context.Background(), verify.Options{Registry: reg, Dir: folder("ci", p), Addr: srv.addr})
	if rep.Failed() || len(rep.Accepted) != 1 || rep.Accepted[0] != "ci" {
		out, _ := json.MarshalIndent(rep, "", "  ")
		t.Errorf("verify with the certkit CA's pair:\n%s", out)
	}

	rep = verify.Verify(context.Background(), verify.Options{Registry: reg, Dir: folder("stranger", newPKI(t)), Addr: srv.addr})
	if !rep.Failed() || len(rep.Accepted) != 0 {
		out, _ := json.MarshalIndent(rep, "", "  ")
		t.Errorf("verify with another CA's pair passed:\n%s", out)
	}
	if len(rep.Pairs) != 1 || rep.Pairs[0].Name != "stranger" || rep.Pairs[0].HTTPStatus != 403 {
		t.Errorf("pairs tried: %+v, want the stranger's refused with the test server's 403", rep.Pairs)
	}
}
