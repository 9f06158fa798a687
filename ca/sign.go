package ca

import (
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"time"

	"github.com/cloudflare/cfssl/config"
	"github.com/cloudflare/cfssl/signer"
)

// Signer signs certificate requests made with cfssl's csr package under a
// cfssl signing policy. cfssl reads the request (signer.ParseCertificateRequest,
// which checks its signature) and fills the certificate from the profile
// (signer.FillTemplate: key usages, validity, basic constraints, subject key
// ID); the signature itself is one call to crypto/x509.
//
// This is what cfssl's signer/local does for certkit's policies, minus what
// certkit never uses (certificate transparency submission, pre-issuance
// linting, a certificate database). Leaving signer/local out of the binary
// drops its CT client and protobuf dependencies and their start-up cost,
// which every certkit command pays.
//
// A Signer only reads its fields, so it is safe for concurrent use.
type Signer struct {
	cert    *x509.Certificate // nil: the certificate signs itself (a new CA)
	key     crypto.Signer
	sigAlgo x509.SignatureAlgorithm
	policy  *config.Signing
}

// NewSigner returns a Signer for the CA cert and its key under policy,
// which must pass cfssl's own validation. A nil cert makes a Signer for one
// self-signed CA certificate, whose request must ask for a CA.
func NewSigner(key crypto.Signer, cert *x509.Certificate, policy *config.Signing) (*Signer, error) {
	if policy == nil || !policy.Valid() {
		return nil, errors.New("the signing policy is not valid")
	}
	profiles := map[string]*config.SigningProfile{"default": policy.Default}
	for name, p := range policy.Profiles {
		profiles[name] = p
	}
	for name, p := range profiles {
		// What signer/local would do with these, this Signer does not.
		if p.NameWhitelist != nil || len(p.CTLogServers) > 0 || p.LintErrLevel > 0 ||
			p.ClientProvidesSerialNumbers || len(p.ExtensionWhitelist) > 0 {
			return nil, fmt.Errorf("signing profile %q uses a cfssl feature certkit does not sign with (name whitelist, CT, linting, client serials or extensions)", name)
		}
	}
	return &Signer{cert: cert, key: key, sigAlgo: signer.DefaultSigAlgo(key), policy: policy}, nil
}

// SignRequest is one certificate to sign.
type SignRequest struct {
	// CSR is the PEM certificate request, from cfssl's csr.Generate.
	CSR []byte
	// Profile names the policy profile; an empty name means the policy's
	// default profile. A name the policy does not define is refused, never
	// replaced by the default.
	Profile string
	// DNSNames and IPs are the subject alternative names. Only these reach
	// the certificate: names inside the request are ignored when the
	// profile has a CSR whitelist, as certkit's leaf profiles do.
	DNSNames []string
	IPs      []net.IP
	// NotBefore and NotAfter are the validity.
	NotBefore, NotAfter time.Time
}

// ProfileError reports a profile name the policy does not define.
type ProfileError struct{ Profile string }

func (e *ProfileError) Error() string {
	return fmt.Sprintf("signing profile %q is not defined by the policy", e.Profile)
}

// Sign signs the request and returns the certificate as DER and as PEM.
func (s *Signer) Sign(req SignRequest) (der, pemBytes []byte, err error) {
	profile := s.policy.Default
	if req.Profile != "" {
		if profile = s.policy.Profiles[req.Profile]; profile == nil {
			return nil, nil, &ProfileError{Profile: req.Profile}
		}
	}
	block, _ := pem.Decode(req.CSR)
	if block == nil || (block.Type != "CERTIFICATE REQUEST" && block.Type != "NEW CERTIFICATE REQUEST") {
		return nil, nil, errors.New("the certificate request is not a PEM CERTIFICATE REQUEST")
	}
	csrTemplate, err := signer.ParseCertificateRequest(sigAlgo{alg: s.sigAlgo}, profile, block.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("reading the certificate request: %s", cfsslMessage(err))
	}

	// Only the parts of the request the profile lets through.
	var t x509.Certificate
	if w := profile.CSRWhitelist; w == nil {
		t = *csrTemplate
	} else {
		if w.Subject {
			t.Subject = csrTemplate.Subject
		}
		if w.PublicKeyAlgorithm {
			t.PublicKeyAlgorithm = csrTemplate.PublicKeyAlgorithm
		}
		if w.PublicKey {
			t.PublicKey = csrTemplate.PublicKey
		}
		if w.SignatureAlgorithm {
			t.SignatureAlgorithm = csrTemplate.SignatureAlgorithm
		}
		if w.DNSNames {
			t.DNSNames = csrTemplate.DNSNames
		}
		if w.IPAddresses {
			t.IPAddresses = csrTemplate.IPAddresses
		}
		if w.EmailAddresses {
			t.EmailAddresses = csrTemplate.EmailAddresses
		}
		if w.URIs {
			t.URIs = csrTemplate.URIs
		}
	}
	if t.IsCA {
		switch {
		case !profile.CAConstraint.IsCA:
			return nil, nil, errors.New("the signing profile may not issue a CA certificate")
		case s.cert != nil && s.cert.MaxPathLen > 0 && t.MaxPathLen >= s.cert.MaxPathLen:
			return nil, nil, errors.New("the CA's path length does not allow this CA certificate")
		case s.cert != nil && s.cert.MaxPathLen == 0 && s.cert.MaxPathLenZero:
			return nil, nil, errors.New("the CA may not issue CA certificates (path length 0)")
		}
	}
	if req.DNSNames != nil || req.IPs != nil {
		t.DNSNames, t.IPAddresses, t.EmailAddresses, t.URIs = req.DNSNames, req.IPs, nil, nil
	}
	if t.SerialNumber, err = serialNumber(rand.Reader); err != nil {
		return nil, nil, err
	}
	if err := signer.FillTemplate(&t, s.policy.Default, profile, req.NotBefore, req.NotAfter); err != nil {
		return nil, nil, fmt.Errorf("filling the certificate from the profile: %s", cfsslMessage(err))
	}

	parent := s.cert
	if parent == nil {
		if !t.IsCA {
			return nil, nil, errors.New("only a CA certificate may sign itself")
		}
		t.DNSNames, t.EmailAddresses, t.URIs = nil, nil, nil
		parent = &t
	}
	der, err = x509.CreateCertificate(rand.Reader, &t, parent, t.PublicKey, s.key)
	if err != nil {
		return nil, nil, fmt.Errorf("signing the certificate: %v", err)
	}
	return der, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), nil
}

// serialNumber is a random positive serial of 20 bytes, the most RFC 5280
// allows, as cfssl makes them: 159 random bits.
func serialNumber(r io.Reader) (*big.Int, error) {
	b := make([]byte, 20)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, fmt.Errorf("making a serial number: %v", err)
	}
	b[0] &= 0x7f
	return new(big.Int).SetBytes(b), nil
}

// sigAlgo is the one part of cfssl's signer.Signer interface that
// signer.ParseCertificateRequest uses: the signature algorithm it writes
// into the template. The embedded interface is nil, so any other method
// would panic; cfssl calls none of them (the tests sign through it).
type sigAlgo struct {
	signer.Signer
	alg x509.SignatureAlgorithm
}

func (a sigAlgo) SigAlgo() x509.SignatureAlgorithm { return a.alg }
