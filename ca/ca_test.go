package ca

import (
	"bytes"
	"crypto/x509"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	cflog "github.com/cloudflare/cfssl/log"

	"github.com/certkit/certkit/internal/atomicfile"
	"github.com/certkit/certkit/internal/certtest"
	"github.com/certkit/certkit/internal/errs"
)

func TestMain(m *testing.M) {
	cflog.Level = cflog.LevelFatal
	os.Exit(m.Run())
}

var fixedNow = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)

func clock() time.Time { return fixedNow }

func TestCreateEveryKeyType(t *testing.T) {
	for _, kt := range KeyTypes {
		t.Run(string(kt), func(t *testing.T) {
			if testing.Short() && kt.Slow() {
				t.Skip("slow key type")
			}
			h := t.TempDir()
			res, err := Create(Options{Home: h, KeyType: kt, Machine: "box", Now: clock})
			if err != nil {
				t.Fatal(err)
			}
			c := res.CA.Cert
			if !c.IsCA || !c.BasicConstraintsValid || c.MaxPathLen != 0 || !c.MaxPathLenZero {
				t.Errorf("basic constraints: IsCA=%v valid=%v pathlen=%d zero=%v", c.IsCA, c.BasicConstraintsValid, c.MaxPathLen, c.MaxPathLenZero)
			}
			if want := x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature; c.KeyUsage != want {
				t.Errorf("key usage = %v, want %v", certtest.KeyUsageNames(c.KeyUsage), certtest.KeyUsageNames(want))
			}
			if got := KeyTypeOf(c.PublicKey); got != kt {
				t.Errorf("key type = %s", got)
			}
			if len(c.SubjectKeyId) == 0 {
				t.Error("no subject key identifier")
			}
			if c.SerialNumber.BitLen() < 64 {
				t.Errorf("serial has %d bits", c.SerialNumber.BitLen())
			}
			if !c.NotBefore.Equal(fixedNow.Add(-Backdate)) || !c.NotAfter.Equal(fixedNow.Add(DefaultValidity)) {
				t.Errorf("validity %s .. %s", c.NotBefore, c.NotAfter)
			}
			if c.Subject.Organization[0] != "certkit" {
				t.Errorf("org = %v", c.Subject.Organization)
			}
			problems, err := certtest.Lint(c.Raw)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range problems {
				t.Errorf("zlint: %s", p)
			}
			for path, want := range map[string]os.FileMode{
				filepath.Join(h, "ca"):           0o700,
				filepath.Join(h, "ca", "ca.crt"): 0o644,
				filepath.Join(h, "ca", "ca.key"): 0o600,
			} {
				fi, err := os.Stat(path)
				if err != nil {
					t.Fatal(err)
				}
				if fi.Mode().Perm() != want {
					t.Errorf("%s mode %o, want %o", path, fi.Mode().Perm(), want)
				}
			}
			loaded, err := Load(h)
			if err != nil {
				t.Fatal(err)
			}
			if !loaded.Cert.Equal(c) {
				t.Error("Load returned another certificate")
			}
		})
	}
}

func TestDefaultSubjectsDiffer(t *testing.T) {
	a, err := Create(Options{Home: t.TempDir(), Machine: "box"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Create(Options{Home: t.TempDir(), Machine: "box"})
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(a.CA.Cert.RawSubject, b.CA.Cert.RawSubject) {
		t.Errorf("two default CAs share the subject %q", a.CA.Cert.Subject)
	}
}

func TestCreateRefusesExistingAndForceBacksUp(t *testing.T) {
	h := t.TempDir()
	if _, err := Create(Options{Home: h}); err != nil {
		t.Fatal(err)
	}
	crt, _ := os.ReadFile(filepath.Join(h, "ca", "ca.crt"))
	key, _ := os.ReadFile(filepath.Join(h, "ca", "ca.key"))
	_, err := Create(Options{Home: h})
	var ee *ExistsError
	if !errors.As(err, &ee) {
		t.Fatalf("second Create: %v, want ExistsError", err)
	}
	if errs.HintOf(err) == "" {
		t.Error("no hint on the refusal")
	}
	if c2, _ := os.ReadFile(filepath.Join(h, "ca", "ca.crt")); !bytes.Equal(c2, crt) {
		t.Error("ca.crt changed")
	}
	res, err := Create(Options{Home: h, Force: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Backups) != 2 {
		t.Fatalf("backups = %v", res.Backups)
	}
	for _, b := range res.Backups {
		data, _ := os.ReadFile(b)
		if !bytes.Equal(data, crt) && !bytes.Equal(data, key) {
			t.Errorf("backup %s does not hold the old file", b)
		}
	}
}

func TestImport(t *testing.T) {
	src, err := Create(Options{Home: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	keyPEM, _ := MarshalKey(src.CA.Key)
	other, _ := GenerateKey(ECDSAP256)
	otherPEM, _ := MarshalKey(other)

	h := t.TempDir()
	if _, err := Import(src.CA.CertPEM, keyPEM, ImportOptions{Home: h}); err != nil {
		t.Fatal(err)
	}
	if c, err := Load(h); err != nil || !c.Cert.Equal(src.CA.Cert) {
		t.Fatalf("Load after Import: %v", err)
	}

	bad := []struct {
		name      string
		cert, key []byte
		now       time.Time
	}{
		{"mismatched key", src.CA.CertPEM, otherPEM, time.Now()},
		{"garbage cert", []byte("hello"), keyPEM, time.Now()},
		{"garbage key", src.CA.CertPEM, []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"), time.Now()},
		{"encrypted key", src.CA.CertPEM, []byte("-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n"), time.Now()},
		{"expired", src.CA.CertPEM, keyPEM, time.Now().Add(20 * 365 * 24 * time.Hour)},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			h := t.TempDir()
			_, err := Import(tt.cert, tt.key, ImportOptions{Home: h, Now: func() time.Time { return tt.now }})
			if !errs.IsInput(err) {
				t.Fatalf("err = %v, want an input error", err)
			}
			if atomicfile.Exists(filepath.Join(h, "ca")) {
				t.Error("a refused import wrote files")
			}
		})
	}
}

func TestParseValidity(t *testing.T) {
	good := map[string]time.Duration{
		"90d": 90 * 24 * time.Hour, "2y": 2 * 365 * 24 * time.Hour, "8760h": 8760 * time.Hour, "36h30m": 36*time.Hour + 30*time.Minute,
	}
	for in, want := range good {
		if got, err := ParseValidity(in); err != nil || got != want {
			t.Errorf("ParseValidity(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "0d", "-1y", "0", "-5h", "abc", "8000y", "50539024859478224y", "9223372036854775807d", "1s", "59m", "1.5y", "y", "99999999999y"} {
		if _, err := ParseValidity(in); !errs.IsInput(err) {
			t.Errorf("ParseValidity(%q) err = %v, want an input error", in, err)
		}
	}
	late := time.Date(9990, 1, 1, 0, 0, 0, 0, time.UTC)
	if _, err := CheckNotAfter(late, 20*365*24*time.Hour); !errs.IsInput(err) {
		t.Errorf("past 9999: err = %v, want an input error", err)
	}
}

func TestParseKeyType(t *testing.T) {
	for _, in := range []string{"rsa-1024", "rsa-512", "dsa", "ecdsa-p521x"} {
		if _, err := ParseKeyType(in); !errs.IsInput(err) {
			t.Errorf("ParseKeyType(%q) err = %v", in, err)
		}
	}
	if k, err := ParseKeyType(""); err != nil || k != ECDSAP256 {
		t.Errorf("default key type = %s, %v", k, err)
	}
}
