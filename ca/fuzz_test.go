package ca

import (
	"testing"
)

// FuzzParsePEM feeds the PEM readers behind init-ca --import-cert and
// --import-key arbitrary input: they never panic, and what they accept is
// usable (a signer with a public key, certificates with a raw encoding).
func FuzzParsePEM(f *testing.F) {
	key, err := GenerateKey(ECDSAP256)
	if err != nil {
		f.Fatal(err)
	}
	keyPEM, _ := MarshalKey(key)
	res, err := Create(Options{Home: f.TempDir(), Machine: "fuzz"})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(keyPEM)
	f.Add(res.CA.CertPEM)
	f.Add(append(append([]byte{}, res.CA.CertPEM...), keyPEM...))
	f.Add([]byte("-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n"))
	f.Add([]byte("-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n\nAAAA\n-----END RSA PRIVATE KEY-----\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if k, err := ParseKey(data); err == nil && k.Public() == nil {
			t.Error("ParseKey accepted a key without a public half")
		}
		if certs, err := ParseCerts(data); err == nil {
			for _, c := range certs {
				if len(c.Raw) == 0 {
					t.Error("ParseCerts returned a certificate without its encoding")
				}
				_ = Fingerprint(c)
				_ = KeyTypeOf(c.PublicKey)
			}
		}
	})
}
