package issue

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"strings"
	"testing"

	"github.com/certkit/certkit/host"
)

// csrWith makes a P-256 request for CN laptop with the given extensions.
func csrWith(t testing.TB, exts ...pkix.Extension) []byte {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: "laptop"}, ExtraExtensions: exts}, k)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
}

func ext(t testing.TB, id asn1.ObjectIdentifier, v any) pkix.Extension {
	t.Helper()
	b, err := asn1.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return pkix.Extension{Id: id, Value: b}
}

func TestReadCSR(t *testing.T) {
	reg, _ := host.Parse("reg.example.com:5000")
	serverAuth := asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 1}
	clientAuth := asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 2}
	type bc struct{ IsCA bool }
	for _, tc := range []struct {
		name string
		kind Kind
		data []byte
		want string // "" accepted
	}{
		{"plain client", Client, csrWith(t), ""},
		{"client asking for clientAuth", Client, csrWith(t, ext(t, oidExtKeyUsage, []asn1.ObjectIdentifier{clientAuth})), ""},
		{"CA:FALSE", Client, csrWith(t, ext(t, oidBasicConstraints, bc{false})), ""},
		{"a CA", Client, csrWith(t, ext(t, oidBasicConstraints, bc{true})), "asks to be a CA"},
		{"serverAuth only", Client, csrWith(t, ext(t, oidExtKeyUsage, []asn1.ObjectIdentifier{serverAuth})), "extended key usage serverAuth"},
		{"both usages", Client, csrWith(t, ext(t, oidExtKeyUsage, []asn1.ObjectIdentifier{clientAuth, serverAuth})), "extended key usage serverAuth"},
		{"cert sign", Client, csrWith(t, ext(t, oidKeyUsage, asn1.BitString{Bytes: []byte{0x84}, BitLength: 6})), "key usage keyCertSign"},
		{"client with names", Client, csrWith(t, ext(t, oidSAN, []asn1.RawValue{{Class: 2, Tag: 2, Bytes: []byte("x.example")}})), "a client certificate carries none"},
		{"server with its name", Server, csrWith(t, ext(t, oidSAN, []asn1.RawValue{{Class: 2, Tag: 2, Bytes: []byte("reg.example.com")}})), ""},
		{"server with another name", Server, csrWith(t, ext(t, oidSAN, []asn1.RawValue{{Class: 2, Tag: 2, Bytes: []byte("evil.example")}})), "the name evil.example"},
		{"unknown extension", Client, csrWith(t, ext(t, asn1.ObjectIdentifier{1, 2, 3, 4}, true)), "extension certkit does not issue (1.2.3.4)"},
		{"not PEM", Client, []byte("hello"), "not a PEM CERTIFICATE REQUEST"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ReadCSR(tc.data, tc.kind, reg, nil)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if c.CN != "laptop" || c.KeyType != "ecdsa-p256" {
					t.Errorf("read %+v", c)
				}
				return
			}
			var ce *CSRError
			if !errors.As(err, &ce) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("ReadCSR: %v, want a CSRError saying %q", err, tc.want)
			}
		})
	}
}

// FuzzReadCSR: ReadCSR never panics on any input.
func FuzzReadCSR(f *testing.F) {
	f.Add(csrWith(f))
	f.Add(csrWith(f, pkix.Extension{Id: oidBasicConstraints, Value: []byte{0x30, 0x03, 0x01, 0x01, 0xff}}))
	reg, _ := host.Parse("reg.example.com")
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, k := range []Kind{Client, Server} {
			ReadCSR(data, k, reg, nil)
		}
	})
}
