package issue

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/certkit/certkit/ca"
	"github.com/certkit/certkit/host"
	"github.com/certkit/certkit/internal/errs"
	"github.com/certkit/certkit/internal/home"
)

func TestRevoke(t *testing.T) {
	h, c := testCA(t, ca.ECDSAP256, 0)
	reg, _ := host.Parse("reg.example.com:5000")
	if _, err := Issue(Options{Home: h, Registry: reg, Kind: Client, Names: []string{"a", "b"}, CA: c}); err != nil {
		t.Fatal(err)
	}
	certPEM, err := os.ReadFile(filepath.Join(home.HostDir(h, reg.String()), "a.cert"))
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := ca.ParseCerts(certPEM)
	now := time.Now().Truncate(time.Second)
	rev, err := Revoke(RevokeOptions{Home: h, Registry: reg, Name: "a", Reason: ca.Superseded, CRLValidity: 48 * time.Hour, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	if rev.Serial != serialHex(leaf[0]) || rev.Reason != "superseded" || rev.CRLNumber != "2" || len(rev.Remaining) != 1 || rev.Remaining[0] != "b" ||
		!rev.NextUpdate.Equal(now.Add(48*time.Hour).UTC()) || rev.Issuer != "ca" {
		t.Errorf("revocation %+v", rev)
	}
	if got, err := os.ReadFile(rev.Record); err != nil || string(got) != string(certPEM) {
		t.Errorf("record %s: %v", rev.Record, err)
	}
	for _, p := range []string{rev.KeyDeleted, filepath.Join(home.HostDir(h, reg.String()), "a.cert")} {
		if _, err := os.Lstat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s: %v, want it gone", p, err)
		}
	}
	lists, err := ca.ReadLists(h)
	if err != nil {
		t.Fatal(err)
	}
	if at, ok := ca.RevokedAt(lists, leaf[0]); !ok || !at.Equal(now) {
		t.Errorf("the CRL lists a: %v at %s", ok, at)
	}

	// Twice: the record is named, nothing changes.
	crlBefore, _ := os.ReadFile(filepath.Join(h, "ca", ca.CRLFile))
	_, err = Revoke(RevokeOptions{Home: h, Registry: reg, Name: "a"})
	var already *AlreadyRevokedError
	if !errors.As(err, &already) || already.Record != rev.Record || !already.At.Equal(now) || !errs.IsInput(err) {
		t.Errorf("revoking twice: %v", err)
	}
	// Unknown: the known names are listed.
	_, err = Revoke(RevokeOptions{Home: h, Registry: reg, Name: "zz"})
	var unknown *UnknownNameError
	if !errors.As(err, &unknown) || len(unknown.Known) != 1 || unknown.Known[0] != "b" || !errs.IsInput(err) {
		t.Errorf("unknown name: %v", err)
	}
	if crlAfter, _ := os.ReadFile(filepath.Join(h, "ca", ca.CRLFile)); string(crlAfter) != string(crlBefore) {
		t.Error("a refused revoke changed the CRL")
	}
	// A name that is not a file stem is refused before anything is read.
	if _, err := Revoke(RevokeOptions{Home: h, Registry: reg, Name: "../a"}); !errs.IsInput(err) {
		t.Errorf("name ../a: %v", err)
	}
}
