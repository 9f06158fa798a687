package ca

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"sort"
	"time"
)

// Profile is what certificates signed under it are for. certkit defines
// its few profiles in code (a CA; a registry server; a client) instead of
// in a cfssl signing policy: cfssl's config package links zlint and its
// public suffix list, whose package initialisation cost every certkit
// command several milliseconds of start-up, more than all of certkit's own
// work for `certkit --help`. Keys and certificate requests still come from
// cfssl's csr package.
type Profile struct {
	KeyUsage    x509.KeyUsage
	ExtKeyUsage []x509.ExtKeyUsage // at least one for a leaf, none for a CA
	// CA makes a CA certificate. Without a parent (NewSigner with a nil
	// cert) it signs itself: a new root. Under a parent it is an issuing
	// CA (a registry's, see Issuer), which the parent's path length must
	// allow.
	CA bool
	// PathLen is a CA's path length: 0 lets it sign leaves only; 1 lets a
	// root sign issuing CAs (a per-registry home).
	PathLen int
}

// Signer signs certificate requests made with cfssl's csr package under
// certkit's profiles. The request gives the subject and the public key,
// after its signature is checked; the profile gives the usages and basic
// constraints; the caller gives the names and the validity. Nothing else
// in the request reaches the certificate: a request asking for more names,
// or to be a CA, gets what its profile says.
//
// A Signer only reads its fields, so it is safe for concurrent use.
type Signer struct {
	cert     *x509.Certificate // nil: the certificate signs itself (a new CA)
	key      crypto.Signer
	sigAlgo  x509.SignatureAlgorithm
	profiles map[string]Profile
}

// NewSigner returns a Signer for the CA cert and its key, signing under
// profiles. A nil cert makes a Signer for one self-signed CA certificate,
// whose profiles must all be CA profiles; a Signer for an existing CA signs
// leaves, and issuing CAs when its path length allows them.
func NewSigner(key crypto.Signer, cert *x509.Certificate, profiles map[string]Profile) (*Signer, error) {
	if key == nil {
		return nil, errors.New("no signing key")
	}
	if len(profiles) == 0 {
		return nil, errors.New("no signing profiles")
	}
	for name, p := range profiles {
		if err := p.check(cert == nil); err != nil {
			return nil, fmt.Errorf("signing profile %q: %v", name, err)
		}
	}
	alg := signatureAlgorithm(key.Public())
	if alg == x509.UnknownSignatureAlgorithm {
		return nil, fmt.Errorf("a %T key cannot sign certificates", key.Public())
	}
	return &Signer{cert: cert, key: key, sigAlgo: alg, profiles: profiles}, nil
}

func (p Profile) check(selfSigned bool) error {
	switch {
	case p.KeyUsage == 0:
		return errors.New("no key usage")
	case p.PathLen < 0 || !p.CA && p.PathLen != 0:
		return errors.New("a path length belongs to a CA profile, and is at least 0")
	case !p.CA && selfSigned:
		return errors.New("only a CA certificate may sign itself")
	case p.CA && (p.KeyUsage&x509.KeyUsageCertSign == 0 || len(p.ExtKeyUsage) > 0):
		return errors.New("a CA profile needs cert sign and no extended key usage")
	case !p.CA && (p.KeyUsage&(x509.KeyUsageCertSign|x509.KeyUsageCRLSign) != 0 || len(p.ExtKeyUsage) == 0):
		return errors.New("a leaf profile needs an extended key usage and may not sign certificates or CRLs")
	}
	return nil
}

// signatureAlgorithm is the algorithm a CA key signs with: SHA-2 sized to
// the key, as cfssl's signers choose it.
func signatureAlgorithm(pub crypto.PublicKey) x509.SignatureAlgorithm {
	switch pub := pub.(type) {
	case *rsa.PublicKey:
		switch n := pub.N.BitLen(); {
		case n >= 4096:
			return x509.SHA512WithRSA
		case n >= 3072:
			return x509.SHA384WithRSA
		case n >= 2048:
			return x509.SHA256WithRSA
		}
	case *ecdsa.PublicKey:
		switch pub.Curve {
		case elliptic.P256():
			return x509.ECDSAWithSHA256
		case elliptic.P384():
			return x509.ECDSAWithSHA384
		case elliptic.P521():
			return x509.ECDSAWithSHA512
		}
	case ed25519.PublicKey:
		return x509.PureEd25519
	}
	return x509.UnknownSignatureAlgorithm
}

// SignRequest is one certificate to sign.
type SignRequest struct {
	// CSR is the PEM certificate request, from cfssl's csr.Generate.
	CSR []byte
	// Profile names the profile. A name the Signer does not define,
	// including the empty name, is refused: there is no default profile to
	// fall back to.
	Profile string
	// DNSNames and IPs are the subject alternative names. Only these reach
	// the certificate, never names inside the request. A CA has none.
	DNSNames []string
	IPs      []net.IP
	// NotBefore and NotAfter are the validity; both are required.
	NotBefore, NotAfter time.Time
	// Key, when set, is the public key of the key the caller made the
	// request with, in this process: a request for that key need not have
	// its signature checked again (a request for any other key is
	// refused).
	Key crypto.PublicKey
}

// ProfileError reports a profile name the Signer does not define.
type ProfileError struct {
	Profile string
	Defined []string
}

func (e *ProfileError) Error() string {
	return fmt.Sprintf("signing profile %q is not defined (defined: %v)", e.Profile, e.Defined)
}

// Sign signs the request and returns the certificate as DER and as PEM.
func (s *Signer) Sign(req SignRequest) (der, pemBytes []byte, err error) {
	profile, ok := s.profiles[req.Profile]
	if !ok {
		names := make([]string, 0, len(s.profiles))
		for n := range s.profiles {
			names = append(names, n)
		}
		sort.Strings(names)
		return nil, nil, &ProfileError{Profile: req.Profile, Defined: names}
	}
	block, _ := pem.Decode(req.CSR)
	if block == nil || (block.Type != "CERTIFICATE REQUEST" && block.Type != "NEW CERTIFICATE REQUEST") {
		return nil, nil, errors.New("the certificate request is not a PEM CERTIFICATE REQUEST")
	}
	csr, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("reading the certificate request: %v", err)
	}
	if req.Key != nil {
		if !sameKey(csr.PublicKey, req.Key) {
			return nil, nil, errors.New("the certificate request is not for the key it was made with")
		}
	} else if err := csr.CheckSignature(); err != nil {
		return nil, nil, fmt.Errorf("the certificate request's signature does not verify: %v", err)
	}
	if req.NotBefore.IsZero() || !req.NotAfter.After(req.NotBefore) {
		return nil, nil, fmt.Errorf("no valid validity period (%s to %s)", req.NotBefore, req.NotAfter)
	}
	ski, err := subjectKeyID(csr.PublicKey)
	if err != nil {
		return nil, nil, err
	}
	serial, err := serialNumber(rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	t := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               csr.Subject,
		SignatureAlgorithm:    s.sigAlgo,
		NotBefore:             req.NotBefore.UTC(),
		NotAfter:              req.NotAfter.UTC(),
		KeyUsage:              profile.KeyUsage,
		ExtKeyUsage:           profile.ExtKeyUsage,
		BasicConstraintsValid: true,
		IsCA:                  profile.CA,
		MaxPathLen:            profile.PathLen,
		MaxPathLenZero:        profile.CA && profile.PathLen == 0,
		SubjectKeyId:          ski,
	}
	parent := s.cert
	if profile.CA && parent != nil {
		// An issuing CA: its parent's path length must leave room for it.
		if !CanIssueCAs(parent) || parent.MaxPathLen > 0 && profile.PathLen >= parent.MaxPathLen {
			return nil, nil, fmt.Errorf("the CA %q may not sign CA certificates (its path length is %d)", parent.Subject.CommonName, parent.MaxPathLen)
		}
	} else if profile.CA {
		// NewSigner allows CA profiles only without a parent: the
		// certificate signs itself, so the request must be for the
		// signer's own key.
		if !sameKey(csr.PublicKey, s.key.Public()) {
			return nil, nil, errors.New("a self-signed CA certificate must be for the signing key, and the request is for another key")
		}
		parent = t
	} else {
		t.DNSNames, t.IPAddresses = req.DNSNames, req.IPs
	}
	der, err = x509.CreateCertificate(rand.Reader, t, parent, csr.PublicKey, s.key)
	if err != nil {
		return nil, nil, fmt.Errorf("signing the certificate: %v", err)
	}
	// CreateCertificate checked the signature it made: a later check of
	// these bytes against the parent (install's) need not do it again.
	if s.cert != nil {
		noteSigned(der, s.cert.Raw)
	}
	return der, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), nil
}

// sameKey reports whether a and b are one public key.
func sameKey(a, b crypto.PublicKey) bool {
	k, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && k.Equal(b)
}

// subjectKeyID is the SHA-1 hash of the subject public key bits, the key
// identifier of RFC 5280 section 4.2.1.2 (1) that cfssl writes too.
func subjectKeyID(pub crypto.PublicKey) ([]byte, error) {
	spki, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("reading the request's public key: %v", err)
	}
	var info struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(spki, &info); err != nil {
		return nil, fmt.Errorf("reading the request's public key: %v", err)
	}
	sum := sha1.Sum(info.PublicKey.Bytes)
	return sum[:], nil
}

// serialNumber is a random positive serial of 20 bytes, the most RFC 5280
// allows: 159 random bits.
func serialNumber(r io.Reader) (*big.Int, error) {
	b := make([]byte, 20)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, fmt.Errorf("making a serial number: %v", err)
	}
	b[0] &= 0x7f
	return new(big.Int).SetBytes(b), nil
}
