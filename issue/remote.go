package issue

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/certkit/certkit/ca"
	"github.com/certkit/certkit/host"
)

// DefaultRemoteWorkers bounds the requests in flight to a remote signer
// when Options.Workers is not set: the work is the signer's and the
// network's, not this machine's cores.
const DefaultRemoteWorkers = 8

// remoteIssuer makes each key here and has the CSR signed by the home's
// remote signer (cfssl's multirootca, through ca.SignerClient); the
// certificate it answers is checked as a local one is, and against the CA,
// before anything is written. It is safe for concurrent use: each call
// takes a client of its own from the pool.
type remoteIssuer struct {
	r       *ca.Remote
	clients chan *ca.SignerClient
	// signer is the CA that signs: the home's, or for a per-registry
	// signer the registry's issuing CA, under label.
	signer *ca.CA
	label  string
}

func newRemoteIssuer(r *ca.Remote, n int, registry string, now time.Time) (*remoteIssuer, error) {
	ri := &remoteIssuer{r: r, clients: make(chan *ca.SignerClient, n), signer: r.CA}
	for range n {
		cl, err := r.NewClient()
		if err != nil {
			ri.close()
			return nil, err
		}
		ri.clients <- cl
	}
	if r.PerRegistry {
		cl := <-ri.clients
		var err error
		ri.signer, ri.label, err = cl.RegistryIssuer(registry, now)
		ri.clients <- cl
		if err != nil {
			ri.close()
			return nil, err
		}
	}
	return ri, nil
}

// close lets every client of the pool go, once no call is under way.
func (ri *remoteIssuer) close() {
	for {
		select {
		case cl := <-ri.clients:
			cl.Close()
		default:
			return
		}
	}
}

func (ri *remoteIssuer) issue(r leafRequest) (*leaf, error) {
	want, ok := profiles[r.profile]
	if !ok {
		return nil, &ca.ProfileError{Profile: r.profile}
	}
	key, csrPEM, err := keyAndCSR(r)
	if err != nil {
		return nil, err
	}
	dns, ips := splitSANs(r.sans)
	hosts := slices.Clone(dns)
	for _, ip := range ips {
		hosts = append(hosts, ip.String())
	}
	cl := <-ri.clients
	certPEM, err := cl.Sign(ca.RemoteSignRequest{CSR: csrPEM, Profile: r.profile, Label: ri.label, Hosts: hosts, NotBefore: r.notBefore, NotAfter: r.notAfter})
	ri.clients <- cl
	if err != nil {
		return nil, err
	}
	mismatch := func(why string) error {
		return &ca.SignerError{Kind: ca.SignerAnswer, URL: ri.r.URL,
			Msg: "answered with a certificate that does not match the request: " + why,
			Fix: "nothing was written; the signer's configuration must come from certkit template multirootca (check its signing.json profiles)"}
	}
	block, rest := pem.Decode(certPEM)
	if block == nil || block.Type != "CERTIFICATE" || len(bytes.TrimSpace(rest)) > 0 {
		return nil, mismatch("its answer is not one PEM certificate")
	}
	der := block.Bytes
	if err := check(der, key.Public(), r, want); err != nil {
		return nil, mismatch(strings.TrimPrefix(err.Error(), "the signed certificate "))
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, mismatch(err.Error())
	}
	if s := ri.signer.Cert; !bytes.Equal(c.RawIssuer, s.RawSubject) || c.CheckSignatureFrom(s) != nil {
		return nil, mismatch(fmt.Sprintf("it is not signed by the CA %q", s.Subject.CommonName))
	}
	if len(c.Extensions) != len(extensionsOf(r)) {
		return nil, mismatch(fmt.Sprintf("it carries %d extensions, certkit issues %d", len(c.Extensions), len(extensionsOf(r))))
	}
	keyPEM, err := ca.MarshalKey(key)
	if err != nil {
		return nil, err
	}
	return &leaf{certDER: der, certPEM: pem.EncodeToMemory(block), keyPEM: keyPEM, sha256: sha256.Sum256(der)}, nil
}

// extensionsOf lists the extensions a certkit leaf carries: key usage,
// extended key usage, basic constraints, the key identifiers, and the
// names when there are any.
func extensionsOf(r leafRequest) []string {
	ext := []string{"keyUsage", "extKeyUsage", "basicConstraints", "subjectKeyId", "authorityKeyId"}
	if len(r.sans) > 0 {
		ext = append(ext, "subjectAltName")
	}
	return ext
}

// cfssl's names of key usages and extended key usages, for its signing
// configuration.
var (
	cfsslKeyUsage = map[x509.KeyUsage]string{
		x509.KeyUsageDigitalSignature: "digital signature",
		x509.KeyUsageKeyEncipherment:  "key encipherment",
	}
	cfsslExtKeyUsage = map[x509.ExtKeyUsage]string{
		x509.ExtKeyUsageServerAuth: "server auth",
		x509.ExtKeyUsageClientAuth: "client auth",
	}
)

// SigningPolicy is the cfssl signing configuration (JSON) for a
// multirootca that signs what certkit issues locally: its profiles server,
// server-rsa and client, with their usages and extended key usages,
// CA:FALSE, DefaultValidity, and only the subject and the key taken from a
// request (the names come from the request's hosts, as issue sends them).
// Every profile takes only requests made with the auth key in
// authKeyFile. The default profile is the client's, the narrowest.
func SigningPolicy(authKeyFile string) ([]byte, error) { return signingPolicy(authKeyFile) }

// ClosedSigningPolicy is the signing configuration of a per-registry
// signer's CA label: certkit's profiles without an auth key, which
// multirootca refuses every request ("authorisation required"), so that
// the label answers info and signs nothing.
func ClosedSigningPolicy() ([]byte, error) { return signingPolicy("") }

func signingPolicy(authKeyFile string) ([]byte, error) {
	type whitelist struct {
		Subject, PublicKeyAlgorithm, PublicKey, SignatureAlgorithm bool
	}
	type profile struct {
		Usages       []string   `json:"usages"`
		Expiry       string     `json:"expiry"`
		AuthKey      string     `json:"auth_key,omitempty"`
		CSRWhitelist *whitelist `json:"CSRWhitelist"`
	}
	mk := func(p ca.Profile) (*profile, error) {
		out := &profile{Expiry: fmt.Sprintf("%dh", int(DefaultValidity/time.Hour)), AuthKey: authKeyName(authKeyFile),
			CSRWhitelist: &whitelist{Subject: true, PublicKeyAlgorithm: true, PublicKey: true, SignatureAlgorithm: true}}
		for bit := x509.KeyUsage(1); bit <= x509.KeyUsageDecipherOnly; bit <<= 1 {
			if p.KeyUsage&bit == 0 {
				continue
			}
			n, ok := cfsslKeyUsage[bit]
			if !ok {
				return nil, fmt.Errorf("no cfssl name for key usage %d", bit)
			}
			out.Usages = append(out.Usages, n)
		}
		for _, e := range p.ExtKeyUsage {
			n, ok := cfsslExtKeyUsage[e]
			if !ok {
				return nil, fmt.Errorf("no cfssl name for extended key usage %d", e)
			}
			out.Usages = append(out.Usages, n)
		}
		return out, nil
	}
	ps := map[string]*profile{}
	for name, p := range profiles {
		var err error
		if ps[name], err = mk(p); err != nil {
			return nil, err
		}
	}
	cfg := map[string]any{
		"signing": map[string]any{"default": ps[profileClient], "profiles": ps},
	}
	if authKeyFile != "" {
		cfg["auth_keys"] = map[string]any{
			"certkit": map[string]string{"type": "standard", "key": "file:" + authKeyFile},
		}
	}
	out, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}

// ServerPair is a server certificate made in memory (for the signer's own
// TLS), with its chain and key.
type ServerPair struct {
	CertPEM, ChainPEM, KeyPEM []byte
	SANs                      []SAN
	NotAfter                  time.Time
	SHA256                    string
}

// IssueServerPair signs a server certificate for reg with the home's CA
// (which must be local) under certkit's server profile, and returns it
// without writing anything: the caller writes it with the files it goes
// with.
func IssueServerPair(homeDir string, reg host.Registry, now time.Time) (*ServerPair, error) {
	c, err := ca.Load(homeDir)
	if err != nil {
		return nil, err
	}
	if !now.Before(c.Cert.NotAfter) {
		return nil, &CAExpiredError{NotAfter: c.Cert.NotAfter}
	}
	ls, err := newLeafSigner(c)
	if err != nil {
		return nil, err
	}
	sans := ServerSANs(reg, nil)
	cn := ""
	if len(reg.Hostname()) <= MaxNameLen {
		cn = reg.Hostname()
	}
	r := leafRequest{profile: profileServer, cn: cn, sans: sans, keyType: ca.ECDSAP256,
		notBefore: now.Add(-ca.Backdate).Truncate(time.Second), notAfter: now.Add(DefaultValidity).Truncate(time.Second)}
	if DefaultValidity >= c.Cert.NotAfter.Sub(now) {
		r.notAfter = c.Cert.NotAfter.Truncate(time.Second)
	}
	l, err := ls.issue(r)
	if err != nil {
		return nil, err
	}
	return &ServerPair{CertPEM: l.certPEM, ChainPEM: append(append([]byte{}, l.certPEM...), ca.EncodeCert(c.Cert)...),
		KeyPEM: l.keyPEM, SANs: sans, NotAfter: r.notAfter.UTC(), SHA256: ca.FingerprintSum(l.sha256)}, nil
}

// authKeyName is the name the profiles give the auth key; none without
// one.
func authKeyName(authKeyFile string) string {
	if authKeyFile == "" {
		return ""
	}
	return "certkit"
}
