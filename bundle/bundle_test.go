package bundle

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	cflog "github.com/cloudflare/cfssl/log"
	pkcs12 "software.sslmate.com/src/go-pkcs12"

	"github.com/certkit/certkit/ca"
	"github.com/certkit/certkit/host"
	"github.com/certkit/certkit/install"
	"github.com/certkit/certkit/issue"
)

func TestMain(m *testing.M) {
	cflog.Level = cflog.LevelFatal + 1 // as certkit's main does
	os.Exit(m.Run())
}

// newBundle issues a client pair in a fresh home (with one CA for every
// registry) and exports it.
func newBundle(t testing.TB) (*Bundle, []byte) { return newBundleOf(t, false) }

func newBundleOf(t testing.TB, perRegistry bool) (*Bundle, []byte) {
	t.Helper()
	h := t.TempDir()
	reg, err := host.Parse("[fd00::1]:5000")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ca.Create(ca.Options{Home: h, Machine: "test", PerRegistry: perRegistry}); err != nil {
		t.Fatal(err)
	}
	if _, err := issue.Issue(issue.Options{Home: h, Registry: reg, Kind: issue.Client, Names: []string{"laptop"}}); err != nil {
		t.Fatal(err)
	}
	m, err := install.ReadPair(h, reg, "", time.Now(), "")
	if err != nil {
		t.Fatal(err)
	}
	b := &Bundle{Registry: reg, Name: m.Pairs[0].Name, CA: m.CA, Cert: m.Pairs[0].Cert, Key: m.Pairs[0].Key}
	return b, b.Encode()
}

func TestRoundTrip(t *testing.T) {
	b, data := newBundle(t)
	got, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if got.Registry != b.Registry || got.Name != "laptop" ||
		!bytes.Equal(got.CA, b.CA) || !bytes.Equal(got.Cert, b.Cert) || !bytes.Equal(got.Key, b.Key) {
		t.Fatalf("Parse(Encode(b)) = %+v, want %+v", got, b)
	}
	if !bytes.HasPrefix(data, []byte("-----BEGIN CERTKIT BUNDLE-----\nVersion: 1\nRegistry: [fd00::1]:5000\nName: laptop\n\n-----END CERTKIT BUNDLE-----\n-----BEGIN CERTIFICATE-----\n")) {
		t.Errorf("the bundle does not start as documented:\n%s", data[:200])
	}
}

// TestRoundTripChain: in a per-registry home the client certificate is
// followed by its registry's issuing CA, in the file and in the bundle.
func TestRoundTripChain(t *testing.T) {
	b, data := newBundleOf(t, true)
	if n := bytes.Count(b.Cert, []byte("-----BEGIN CERTIFICATE-----")); n != 2 {
		t.Fatalf("the exported client certificate has %d certificates, want the leaf and its issuing CA", n)
	}
	got, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Cert, b.Cert) || !bytes.Equal(got.Key, b.Key) || !bytes.Equal(got.CA, b.CA) {
		t.Fatalf("Parse(Encode(b)): client certificate\n%s\nwant\n%s", got.Cert, b.Cert)
	}
	certs, err := ca.ParseCerts(got.Cert)
	if err != nil || len(certs) != 2 || !certs[1].IsCA {
		t.Fatalf("the parsed client certificate: %v, %d certificates", err, len(certs))
	}
	// The PKCS #12 file carries the issuing CA too, then the root.
	p12, err := got.P12("pw", false)
	if err != nil {
		t.Fatal(err)
	}
	_, leaf, chain, err := pkcs12.DecodeChain(p12, "pw")
	if err != nil {
		t.Fatal(err)
	}
	if !leaf.Equal(certs[0]) || len(chain) != 2 || !chain[0].Equal(certs[1]) || chain[1].Subject.CommonName != chain[1].Issuer.CommonName {
		t.Errorf("the PKCS #12 chain: %d certificates after the leaf, want the issuing CA and the root", len(chain))
	}
}

func TestParseRefuses(t *testing.T) {
	_, data := newBundle(t)
	s := string(data)
	header, rest, _ := strings.Cut(s, "-----END CERTKIT BUNDLE-----\n")
	header += "-----END CERTKIT BUNDLE-----\n"
	caBlock, rest, _ := strings.Cut(rest, "-----END CERTIFICATE-----\n")
	caBlock += "-----END CERTIFICATE-----\n"
	certBlock, keyBlock, _ := strings.Cut(rest, "-----END CERTIFICATE-----\n")
	certBlock += "-----END CERTIFICATE-----\n"
	for _, tc := range []struct {
		name, data, want string
	}{
		{"empty", "", "the bundle header is missing"},
		{"text", "hello\n", "text outside a PEM block after block 0"},
		{"truncated in the key", s[:len(s)-40], "block 4 is cut short or damaged"},
		{"no key", strings.Split(s, "-----BEGIN PRIVATE KEY-----")[0], "the private key is missing"},
		{"header only", header, "the CA certificate is missing"},
		{"no header", caBlock + rest, "block 1 is CERTIFICATE, want CERTKIT BUNDLE"},
		{"key before the certificate", header + caBlock + keyBlock + certBlock, "block 3 is PRIVATE KEY, want CERTIFICATE"},
		{"text between blocks", header + caBlock + "# the client\n" + certBlock + keyBlock, "text outside a PEM block after block 2"},
		{"a certificate after the key", s + caBlock, "block 5 is CERTIFICATE after the private key"},
		{"too many blocks", header + caBlock + strings.Repeat(certBlock, 6) + keyBlock, "more than 8 PEM blocks"},
		{"version", strings.Replace(s, "Version: 1", "Version: 2", 1), `format version "2"`},
		{"bad registry", strings.Replace(s, "Registry: [fd00::1]:5000", "Registry: https://reg", 1), "Registry: "},
		{"bad name", strings.Replace(s, "Name: laptop", "Name: ../x", 1), "Name: "},
		{"extra header", strings.Replace(s, "Name: laptop", "Name: laptop\nCA-Key: yes", 1), "holds more than Version, Registry and Name"},
		{"encrypted key", strings.Replace(strings.Replace(s, "BEGIN PRIVATE KEY", "BEGIN ENCRYPTED PRIVATE KEY", 1), "END PRIVATE KEY", "END ENCRYPTED PRIVATE KEY", 1), "want PRIVATE KEY"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.data))
			var fe *FormatError
			if !errors.As(err, &fe) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Parse: %v, want a FormatError saying %q", err, tc.want)
			}
		})
	}
}

func TestP12NeedsPassword(t *testing.T) {
	b, _ := newBundle(t)
	if _, err := b.P12("", false); err == nil {
		t.Fatal("P12 encoded without a password")
	}
}

// FuzzParse: Parse never panics, and what it accepts encodes back to a
// bundle it reads the same.
func FuzzParse(f *testing.F) {
	_, data := newBundle(f)
	f.Add(data)
	f.Add(data[:len(data)/2])
	f.Add([]byte("-----BEGIN CERTKIT BUNDLE-----\nVersion: 1\n\n-----END CERTKIT BUNDLE-----\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := Parse(data)
		if err != nil {
			return
		}
		again, err := Parse(b.Encode())
		if err != nil {
			t.Fatalf("a parsed bundle does not parse again once encoded: %v", err)
		}
		if again.Registry != b.Registry || again.Name != b.Name {
			t.Fatalf("round trip changed %v/%s to %v/%s", b.Registry, b.Name, again.Registry, again.Name)
		}
	})
}
