package status

// Reading a certificate file: certkit's own PEM layout decoded without
// pem.Decode's copy, a leaf's issuing CA parsed once, fingerprints and
// issuer names made once.

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"math/big"
	"sync"
	"sync/atomic"

	"github.com/certkit/certkit/ca"
	"github.com/certkit/certkit/internal/safefs"
)

// readCert reads the first certificate of a PEM file of r into c.
func readCert(r *safefs.Root, name string, c Cert) (Cert, error) {
	data, err := r.ReadFile(name, 0)
	if err != nil {
		c.Path = r.Join(name)
		return c, err
	}
	return parseCert(data, r.Join(name), c)
}

// parseCert reads the first certificate of the PEM data of the file at
// path into c.
func parseCert(data []byte, path string, c Cert) (Cert, error) {
	c.Path, c.pemSum = path, sha256.Sum256(data)
	x, issuing, err := firstCert(data)
	if err != nil {
		return c, fmt.Errorf("%s: %v", c.Path, err)
	}
	if issuing != nil && issuing.IsCA && !x.IsCA {
		c.issuing = issuing
	}
	c.der, c.serial, c.subjectCN, c.issuerCN = x.Raw, x.SerialNumber, x.Subject.CommonName, x.Issuer.CommonName
	if c.Kind == CA {
		c.cert = x
	}
	c.KeyType = string(ca.KeyTypeOf(x.PublicKey))
	c.Serial = serialHex(x.SerialNumber)
	c.SHA256 = fingerprint(x.Raw)
	c.Subject, c.Issuer = x.Subject.String(), issuerName(x)
	c.NotBefore, c.NotAfter = x.NotBefore.UTC(), x.NotAfter.UTC()
	return c, nil
}

func serialHex(n *big.Int) string { return hex.EncodeToString(n.Bytes()) }

// firstCert is the first certificate of ca.ParseCerts(data), which also
// fails on a later block that is not a certificate. A file that is one
// certificate as certkit (pem.Encode) writes it is decoded here (pemDER)
// without pem.Decode's copy of the text: 6 % of status over 10,000 pairs.
//
// It also returns the certificate after it, if any: a leaf's issuing CA,
// which every leaf of a registry carries, so it is parsed once (parsed).
func firstCert(data []byte) (*x509.Certificate, *x509.Certificate, error) {
	if der, ok := pemDER(data); ok {
		if x, err := x509.ParseCertificate(der); err == nil {
			return x, nil, nil
		}
	}
	// A leaf and its issuing CA, both as certkit writes them.
	if i := bytes.Index(data, []byte("\n"+pemEnd)); i >= 0 {
		first, second := data[:i+1+len(pemEnd)], data[i+1+len(pemEnd):]
		if der, ok := pemDER(first); ok {
			x, err := x509.ParseCertificate(der)
			if iss := parsed(second); err == nil && iss != nil {
				return x, iss, nil
			}
		}
	}
	certs, err := ca.ParseCerts(data) // the error, or any other layout
	if err != nil {
		return nil, nil, err
	}
	if len(certs) > 1 {
		return certs[0], certs[1], nil
	}
	return certs[0], nil, nil
}

// parsedCerts holds the issuing CAs parsed, by their PEM text.
var (
	parsedMu    sync.Mutex
	parsedCerts = map[string]*x509.Certificate{}
)

// parsed is the certificate of block, one CERTIFICATE block as certkit
// writes it (pemDER), parsed once for each text; nil when it is not one.
func parsed(block []byte) *x509.Certificate {
	parsedMu.Lock()
	x, ok := parsedCerts[string(block)]
	parsedMu.Unlock()
	if ok {
		return x
	}
	if der, ok := pemDER(block); ok {
		x, _ = x509.ParseCertificate(der)
	}
	if x != nil {
		parsedMu.Lock()
		parsedCerts[string(block)] = x
		parsedMu.Unlock()
	}
	return x
}

const (
	pemBegin = "-----BEGIN CERTIFICATE-----\n"
	pemEnd   = "-----END CERTIFICATE-----\n"
)

// pemDER decodes data when it is exactly one CERTIFICATE block in
// pem.Encode's layout: the BEGIN line, lines of base64 (no headers, no
// spaces), the END line, and nothing else. For such data pem.Decode gives
// the same bytes, and nothing after them; for any other, ok is false.
func pemDER(data []byte) (der []byte, ok bool) {
	body, ok := bytes.CutPrefix(data, []byte(pemBegin))
	if !ok {
		return nil, false
	}
	body, ok = bytes.CutSuffix(body, []byte(pemEnd))
	if !ok || len(body) == 0 || body[len(body)-1] != '\n' {
		return nil, false
	}
	// base64 refuses any byte but its alphabet, '=', '\r' and '\n', the
	// last two skipped as pem.Decode's base64 skips them; pem.Decode
	// also drops spaces and tabs, which base64 refuses here: such a
	// file, as one with a '-' or a ':' in it, takes ca.ParseCerts.
	der = make([]byte, base64.StdEncoding.DecodedLen(len(body)))
	n, err := base64.StdEncoding.Decode(der, body)
	if err != nil {
		return nil, false
	}
	return der[:n], true
}

// fingerprint is ca.Fingerprint of the DER der (the SHA-256 as openssl
// prints it, AA:BB:…), written without fmt: 32 Fprintf calls a
// certificate were 4 % of status over 10,000 pairs.
func fingerprint(der []byte) string {
	const digits = "0123456789ABCDEF"
	sum := sha256.Sum256(der)
	b := make([]byte, 0, 3*len(sum)-1)
	for i, x := range sum {
		if i > 0 {
			b = append(b, ':')
		}
		b = append(b, digits[x>>4], digits[x&15])
	}
	return string(b)
}

// issuerNames holds issuers' names as strings, by the issuer's DER name:
// the leaves of a home share a few issuers, and Name.String is costly.
// At most maxIssuerNames are kept.
var (
	issuerNames     sync.Map
	issuerNameCount atomic.Int32
)

const maxIssuerNames = 256

// issuerName is x.Issuer.String(), written once for each issuer.
func issuerName(x *x509.Certificate) string {
	if s, ok := issuerNames.Load(string(x.RawIssuer)); ok {
		return s.(string)
	}
	s := x.Issuer.String()
	if issuerNameCount.Load() < maxIssuerNames {
		if _, loaded := issuerNames.LoadOrStore(string(x.RawIssuer), s); !loaded {
			issuerNameCount.Add(1)
		}
	}
	return s
}

func bytesEqual(a, b []byte) bool { return string(a) == string(b) }
