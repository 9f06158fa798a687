package issue

import (
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/cloudflare/cfssl/csr"

	"github.com/certkit/certkit/ca"
)

// The signing profiles of leaf certificates. They are certkit's own (see
// ca.Profile), and a name outside them is refused, never replaced by a
// default: a typo must not issue a certificate with other usages.
const (
	profileServer    = "server"     // ECDSA and Ed25519 server keys
	profileServerRSA = "server-rsa" // RSA server keys, which may also encrypt (TLS 1.2 RSA key exchange)
	profileClient    = "client"
)

// profiles are the leaf profiles certkit signs under.
var profiles = map[string]ca.Profile{
	// RFC 8813 forbids keyEncipherment on ECDSA keys (zlint checks it);
	// only RSA keys can be used for key transport.
	profileServer:    {KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}},
	profileServerRSA: {KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}},
	profileClient:    {KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}},
}

// profileFor names the profile for a kind of certificate and key.
func profileFor(k Kind, kt ca.KeyType) (string, error) {
	switch k {
	case Server:
		if strings.HasPrefix(string(kt), "rsa-") {
			return profileServerRSA, nil
		}
		return profileServer, nil
	case Client:
		return profileClient, nil
	}
	return "", fmt.Errorf("unknown certificate kind %q", k)
}

// leafSigner signs leaf certificates with one CA under certkit's leaf
// profiles (ca.Signer). It is safe for concurrent use: the signer only
// reads its CA and profiles, and crypto.Signer keys sign concurrently.
type leafSigner struct {
	s *ca.Signer
}

func newLeafSigner(c *ca.CA) (*leafSigner, error) {
	s, err := ca.NewSigner(c.Key, c.Cert, profiles)
	if err != nil {
		return nil, fmt.Errorf("setting up the CA signer: %v", err)
	}
	return &leafSigner{s: s}, nil
}

// leafRequest is one certificate to make.
type leafRequest struct {
	profile   string
	cn, org   string
	sans      []SAN
	keyType   ca.KeyType
	notBefore time.Time
	notAfter  time.Time
	// key is the key to certify (renew --reuse-key); nil makes a new one
	// of keyType.
	key crypto.Signer
	// registry is the registry folder the leaf is for (renew's routing).
	registry string
}

// leaf is one signed certificate and its new key.
type leaf struct {
	certDER []byte
	certPEM []byte
	keyPEM  []byte
	sha256  [32]byte
}

// issue makes a key, a CSR for it (cfssl csr), and signs the CSR with the
// profile asked for (ca.Signer).
func (ls *leafSigner) issue(r leafRequest) (*leaf, error) {
	// Refused before a key is made (RSA keys take a while); the signer
	// would refuse it too.
	want, ok := profiles[r.profile]
	if !ok {
		return nil, &ca.ProfileError{Profile: r.profile}
	}
	key, csrPEM, err := keyAndCSR(r)
	if err != nil {
		return nil, err
	}
	dns, ips := splitSANs(r.sans)
	der, certPEM, err := ls.s.Sign(ca.SignRequest{
		CSR:       csrPEM,
		Profile:   r.profile,
		DNSNames:  dns,
		IPs:       ips,
		NotBefore: r.notBefore,
		NotAfter:  r.notAfter,
		Key:       key.Public(), // the request was made here, with key
	})
	if err != nil {
		return nil, fmt.Errorf("signing the certificate: %v", err)
	}
	if err := check(der, key.Public(), r, want); err != nil {
		return nil, err
	}
	keyPEM, err := ca.MarshalKey(key)
	if err != nil {
		return nil, err
	}
	return &leaf{certDER: der, certPEM: certPEM, keyPEM: keyPEM, sha256: sha256.Sum256(der)}, nil
}

// keyAndCSR makes the request's key (or takes the one it carries) and a
// certificate request for it with cfssl's csr package.
func keyAndCSR(r leafRequest) (crypto.Signer, []byte, error) {
	key := r.key
	if key == nil {
		var err error
		if key, err = ca.GenerateKey(r.keyType); err != nil {
			return nil, nil, err
		}
	}
	creq := &csr.CertificateRequest{CN: r.cn}
	if r.org != "" {
		creq.Names = []csr.Name{{O: r.org}}
	}
	csrPEM, err := csr.Generate(key, creq)
	if err != nil {
		return nil, nil, fmt.Errorf("making the certificate request: %s", ca.CfsslMessage(err))
	}
	return key, csrPEM, nil
}

// check re-reads the signed certificate and confirms that it is what was
// asked for: a profile mistake must stop here, not reach a registry.
func check(der []byte, pub crypto.PublicKey, r leafRequest, want ca.Profile) error {
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return fmt.Errorf("reading the signed certificate: %v", err)
	}
	bad := func(what string, got, want any) error {
		return fmt.Errorf("the signed certificate has %s %v, want %v", what, got, want)
	}
	dns, ips := splitSANs(r.sans)
	switch {
	case c.KeyUsage != want.KeyUsage:
		return bad("key usage", c.KeyUsage, want.KeyUsage)
	case !slices.Equal(c.ExtKeyUsage, want.ExtKeyUsage) || len(c.UnknownExtKeyUsage) > 0:
		return bad("extended key usage", c.ExtKeyUsage, want.ExtKeyUsage)
	case c.IsCA || !c.BasicConstraintsValid:
		return fmt.Errorf("the signed certificate is not marked as a leaf (CA:FALSE)")
	case !c.NotAfter.Equal(r.notAfter) || !c.NotBefore.Equal(r.notBefore):
		return bad("validity", [2]time.Time{c.NotBefore, c.NotAfter}, [2]time.Time{r.notBefore, r.notAfter})
	case !slices.Equal(c.DNSNames, dns):
		return bad("DNS names", c.DNSNames, dns)
	case !slices.EqualFunc(c.IPAddresses, ips, net.IP.Equal):
		return bad("IP addresses", c.IPAddresses, ips)
	case c.Subject.CommonName != r.cn:
		return bad("common name", c.Subject.CommonName, r.cn)
	}
	if p, ok := pub.(interface{ Equal(crypto.PublicKey) bool }); !ok || !p.Equal(c.PublicKey) {
		return fmt.Errorf("the signed certificate does not carry the new key")
	}
	return nil
}

// splitSANs splits subject alternative names into DNS names and IP
// addresses, in order.
func splitSANs(sans []SAN) (dns []string, ips []net.IP) {
	for _, s := range sans {
		if s.IP.IsValid() {
			ips = append(ips, net.IP(s.IP.AsSlice()))
		} else {
			dns = append(dns, s.DNS)
		}
	}
	return dns, ips
}
