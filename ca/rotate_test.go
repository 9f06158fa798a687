package ca

import (
	"bytes"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestRotate: the new CA takes ca/, the previous one moves to
// ca/previous with its key and CRL, and the servers' files hold both CAs
// and both lists until FinishRotation retires the previous one.
func TestRotate(t *testing.T) {
	h := t.TempDir()
	first, err := Create(Options{Home: h, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	res, err := Rotate(Options{Home: h, KeyType: ECDSAP384, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Previous.Cert.Equal(first.CA.Cert) || res.CA.Cert.Equal(first.CA.Cert) {
		t.Fatal("the rotation did not keep the first CA as the previous one")
	}
	cur, err := Load(h)
	if err != nil || !cur.Cert.Equal(res.CA.Cert) || KeyTypeOf(cur.Cert.PublicKey) != ECDSAP384 {
		t.Fatalf("Load after the rotation: %v", err)
	}
	if prev := Rotating(h); prev == nil || !prev.Equal(first.CA.Cert) {
		t.Fatal("Rotating does not name the first CA")
	}
	for _, p := range []string{filepath.Join(h, "ca", PreviousDir, KeyFile), filepath.Join(h, "ca", PreviousDir, CertFile), filepath.Join(h, "ca", PreviousDir, CRLFile)} {
		if _, err := os.Stat(p); err != nil {
			t.Error(err)
		}
	}
	if fi, err := os.Stat(filepath.Join(h, "ca", PreviousDir)); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("ca/previous: %v %v", fi, err)
	}
	if fi, _ := os.Stat(filepath.Join(h, "ca", PreviousDir, KeyFile)); fi.Mode().Perm() != 0o600 {
		t.Errorf("previous key mode %v", fi.Mode())
	}
	if m, _ := filepath.Glob(filepath.Join(h, "ca", "*.bak-*")); len(m) != 0 {
		t.Errorf("backups beside the new CA: %v", m)
	}
	cas, _ := os.ReadFile(filepath.Join(h, "ca", ClientCAsFile))
	if certs, err := ParseCerts(cas); err != nil || len(certs) != 2 || !certs[0].Equal(res.CA.Cert) || !certs[1].Equal(first.CA.Cert) {
		t.Errorf("%s does not hold the new and the previous CA", ClientCAsFile)
	}
	crls, _ := os.ReadFile(filepath.Join(h, "ca", ClientCRLsFile))
	n := 0
	for rest := crls; ; n++ {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		issuer := []*CA{res.CA, first.CA}[min(n, 1)]
		if _, err := ParseCRL(pem.EncodeToMemory(b), "crl", issuer.Cert); err != nil {
			t.Errorf("CRL %d: %v", n, err)
		}
	}
	if n != 2 {
		t.Errorf("%s holds %d CRLs, want 2", ClientCRLsFile, n)
	}

	// One rotation at a time; no new CA by init-ca --force meanwhile.
	var rot *RotatingError
	if _, err := Rotate(Options{Home: h, Now: clock}); !errors.As(err, &rot) {
		t.Errorf("a second rotation: %v", err)
	}
	if _, err := Create(Options{Home: h, Force: true, Now: clock}); !errors.As(err, &rot) {
		t.Errorf("init-ca --force during a rotation: %v", err)
	}

	// A leaf of the previous CA in the home holds the finish back.
	dir := filepath.Join(h, "hosts", "reg.example.com:5000")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	leaf := signLeaf(t, first.CA)
	os.WriteFile(filepath.Join(dir, "old.cert"), EncodeCert(leaf), 0o644)
	os.WriteFile(filepath.Join(dir, "old.key"), []byte("x"), 0o600)
	var still *StillIssuedError
	if _, err := FinishRotation(FinishOptions{Home: h}); !errors.As(err, &still) || len(still.Leaves) != 1 || still.Leaves[0] != "reg.example.com:5000 old" {
		t.Fatalf("finish with a leaf of the previous CA: %v", err)
	}
	os.Remove(filepath.Join(dir, "old.cert"))
	os.Remove(filepath.Join(dir, "old.key"))

	fin, err := FinishRotation(FinishOptions{Home: h, Now: func() time.Time { return fixedNow.Add(time.Hour) }})
	if err != nil {
		t.Fatal(err)
	}
	if Rotating(h) != nil {
		t.Error("still rotating after the finish")
	}
	if _, err := os.Stat(filepath.Join(h, "ca", PreviousDir)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("ca/previous is still there: %v", err)
	}
	if rec, _ := os.ReadFile(filepath.Join(fin.Record, CertFile)); !bytes.Equal(rec, first.CA.CertPEM) {
		t.Error("the retired CA's record is not its certificate")
	}
	if m, _ := filepath.Glob(filepath.Join(fin.Record, "*.key")); len(m) != 0 {
		t.Errorf("the retired CA's key is kept: %v", m)
	}
	cas, _ = os.ReadFile(filepath.Join(h, "ca", ClientCAsFile))
	if !bytes.Equal(cas, res.CA.CertPEM) {
		t.Errorf("%s after the finish is not the new CA alone", ClientCAsFile)
	}
	var none *NotRotatingError
	if _, err := FinishRotation(FinishOptions{Home: h}); !errors.As(err, &none) {
		t.Errorf("finish with no rotation: %v", err)
	}
}
