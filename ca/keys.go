package ca

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"

	"github.com/cloudflare/cfssl/csr"

	"github.com/certkit/certkit/internal/errs"
)

// KeyType names a key algorithm and size as the user types it.
type KeyType string

// The key types certkit makes. ECDSA P-256 is the default: small, fast, and
// accepted by every registry client.
const (
	ECDSAP256 KeyType = "ecdsa-p256"
	ECDSAP384 KeyType = "ecdsa-p384"
	RSA2048   KeyType = "rsa-2048"
	RSA3072   KeyType = "rsa-3072"
	RSA4096   KeyType = "rsa-4096"
	Ed25519   KeyType = "ed25519"
)

// KeyTypes lists every supported key type, default first.
var KeyTypes = []KeyType{ECDSAP256, ECDSAP384, RSA2048, RSA3072, RSA4096, Ed25519}

// ParseKeyType validates a --key-type value.
func ParseKeyType(s string) (KeyType, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" {
		return ECDSAP256, nil
	}
	for _, k := range KeyTypes {
		if string(k) == s {
			return k, nil
		}
	}
	var bits int
	if _, err := fmt.Sscanf(s, "rsa-%d", &bits); err == nil && bits < 2048 {
		return "", errs.Input(fmt.Sprintf("key type %q refused: RSA keys below 2048 bits are broken", s),
			"use --key-type rsa-2048 or larger, or the default ecdsa-p256")
	}
	return "", errs.Input(fmt.Sprintf("unknown key type %q", s), "use one of: "+joinKeyTypes())
}

func joinKeyTypes() string {
	var names []string
	for _, k := range KeyTypes {
		names = append(names, string(k))
	}
	return strings.Join(names, ", ")
}

// Slow reports whether generating a key of this type takes long enough
// (seconds) to deserve a progress indicator.
func (k KeyType) Slow() bool { return k == RSA3072 || k == RSA4096 }

func (k KeyType) request() *csr.KeyRequest {
	switch k {
	case ECDSAP384:
		return &csr.KeyRequest{A: "ecdsa", S: 384}
	case RSA2048:
		return &csr.KeyRequest{A: "rsa", S: 2048}
	case RSA3072:
		return &csr.KeyRequest{A: "rsa", S: 3072}
	case RSA4096:
		return &csr.KeyRequest{A: "rsa", S: 4096}
	case Ed25519:
		return &csr.KeyRequest{A: "ed25519"}
	default:
		return &csr.KeyRequest{A: "ecdsa", S: 256}
	}
}

// GenerateKey makes a new private key of type k.
func GenerateKey(k KeyType) (crypto.Signer, error) {
	priv, err := k.request().Generate()
	if err != nil {
		return nil, fmt.Errorf("generating %s key: %w", k, err)
	}
	s, ok := priv.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("generating %s key: not a signer", k)
	}
	return s, nil
}

// KeyTypeOf names the type of a public key, or "" when certkit does not
// make keys of that type.
func KeyTypeOf(pub crypto.PublicKey) KeyType {
	switch p := pub.(type) {
	case *ecdsa.PublicKey:
		switch p.Curve {
		case elliptic.P256():
			return ECDSAP256
		case elliptic.P384():
			return ECDSAP384
		}
	case *rsa.PublicKey:
		switch p.N.BitLen() {
		case 2048:
			return RSA2048
		case 3072:
			return RSA3072
		case 4096:
			return RSA4096
		}
		return KeyType(fmt.Sprintf("rsa-%d", p.N.BitLen()))
	case ed25519.PublicKey:
		return Ed25519
	}
	return ""
}

// MarshalKey encodes a private key as PKCS #8 PEM ("PRIVATE KEY"), the one
// form that Go's loaders (Docker, podman, containerd, the registry), openssl,
// nginx and Apache all read.
func MarshalKey(k crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// ErrEncryptedKey reports a passphrase-protected key: none of the registry
// clients can read one.
var ErrEncryptedKey = errors.New("the private key is encrypted; Docker, podman and containerd cannot read encrypted keys")

// ParseKey reads the first private key in PEM data: PKCS #8, PKCS #1 (RSA)
// or SEC 1 (EC).
func ParseKey(data []byte) (crypto.Signer, error) {
	rest := data
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			return nil, errors.New("no PEM private key found")
		}
		if b.Type == "ENCRYPTED PRIVATE KEY" || b.Headers["Proc-Type"] != "" && strings.Contains(b.Headers["Proc-Type"], "ENCRYPTED") {
			return nil, ErrEncryptedKey
		}
		if !strings.HasSuffix(b.Type, "PRIVATE KEY") {
			continue
		}
		var key any
		var err error
		switch b.Type {
		case "RSA PRIVATE KEY":
			key, err = x509.ParsePKCS1PrivateKey(b.Bytes)
		case "EC PRIVATE KEY":
			key, err = x509.ParseECPrivateKey(b.Bytes)
		default:
			key, err = x509.ParsePKCS8PrivateKey(b.Bytes)
		}
		if err != nil {
			return nil, fmt.Errorf("bad %s: %v", b.Type, err)
		}
		s, ok := key.(crypto.Signer)
		if !ok {
			return nil, fmt.Errorf("unsupported private key type %T", key)
		}
		return s, nil
	}
}

// ParseCerts reads every CERTIFICATE block in PEM data.
func ParseCerts(data []byte) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	rest := data
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("bad certificate: %v", err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, errors.New("no PEM certificate found")
	}
	return certs, nil
}

// KeyMatches reports whether priv is the private half of pub.
func KeyMatches(pub crypto.PublicKey, priv crypto.Signer) bool {
	p, ok := priv.Public().(interface{ Equal(crypto.PublicKey) bool })
	return ok && p.Equal(pub)
}

// EncodeCert encodes one certificate as PEM.
func EncodeCert(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}

// EncodeCerts is certs as PEM, in order.
func EncodeCerts(certs []*x509.Certificate) []byte {
	var out []byte
	for _, c := range certs {
		out = append(out, EncodeCert(c)...)
	}
	return out
}

// Fingerprint is the SHA-256 fingerprint of a certificate, as openssl
// prints it (upper-case hex pairs joined by colons).
func Fingerprint(c *x509.Certificate) string { return FingerprintSum(sha256.Sum256(c.Raw)) }

// FingerprintSum writes a SHA-256 sum as Fingerprint does.
func FingerprintSum(sum [32]byte) string {
	var b bytes.Buffer
	for i, x := range sum {
		if i > 0 {
			b.WriteByte(':')
		}
		fmt.Fprintf(&b, "%02X", x)
	}
	return b.String()
}
