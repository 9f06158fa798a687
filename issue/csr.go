package issue

import (
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/certkit/certkit/ca"
	"github.com/certkit/certkit/host"
	"github.com/certkit/certkit/internal/errs"
	"github.com/certkit/certkit/internal/home"
)

// CSRError reports a certificate request that certkit will not sign as it
// is: it asks for something certkit does not issue under the profile (to
// be a CA, other key usages, names a client certificate cannot carry), or
// it is not a request at all.
type CSRError struct {
	Reason string
	Fix    string
}

func (e *CSRError) Error() string { return "refusing the certificate request: " + e.Reason }

// Hint says what to do instead.
func (e *CSRError) Hint() string { return e.Fix }

// InputError marks e as bad input (exit 2).
func (e *CSRError) InputError() bool { return true }

// CSR is a certificate request read and checked against the profile it
// will be signed under (ReadCSR): what the certificate will say.
type CSR struct {
	Kind      Kind
	Subject   string // as openssl prints it, RFC 2253 order
	CN        string
	KeyType   ca.KeyType
	KeySHA256 string // KeyFingerprint of the request's key
	// SANs are the names the certificate will carry: none for a client;
	// for a server, the registry's and --san's (the request's own must be
	// among them).
	SANs     []SAN
	KeyUsage x509.KeyUsage
	ExtKey   []x509.ExtKeyUsage
	PEM      []byte

	req     *x509.CertificateRequest
	profile string
}

// Extensions a request may carry: what the profiles set (checked against
// the profile), the names, and a key identifier (certkit writes its own).
var (
	oidBasicConstraints = asn1.ObjectIdentifier{2, 5, 29, 19}
	oidKeyUsage         = asn1.ObjectIdentifier{2, 5, 29, 15}
	oidExtKeyUsage      = asn1.ObjectIdentifier{2, 5, 29, 37}
	oidSAN              = asn1.ObjectIdentifier{2, 5, 29, 17}
	oidSubjectKeyID     = asn1.ObjectIdentifier{2, 5, 29, 14}
)

var extKeyUsageOIDs = map[string]x509.ExtKeyUsage{
	"1.3.6.1.5.5.7.3.1": x509.ExtKeyUsageServerAuth,
	"1.3.6.1.5.5.7.3.2": x509.ExtKeyUsageClientAuth,
}

var extKeyUsageNames = map[string]string{
	"1.3.6.1.5.5.7.3.1": "serverAuth", "1.3.6.1.5.5.7.3.2": "clientAuth", "1.3.6.1.5.5.7.3.3": "codeSigning",
	"1.3.6.1.5.5.7.3.4": "emailProtection", "1.3.6.1.5.5.7.3.8": "timeStamping", "1.3.6.1.5.5.7.3.9": "OCSPSigning",
	"2.5.29.37.0": "anyExtendedKeyUsage",
}

var keyUsageNames = []string{"digitalSignature", "nonRepudiation", "keyEncipherment", "dataEncipherment",
	"keyAgreement", "keyCertSign", "cRLSign", "encipherOnly", "decipherOnly"}

// KeyUsageNames names the bits of a key usage, as RFC 5280 does.
func KeyUsageNames(ku x509.KeyUsage) []string {
	var out []string
	for i, n := range keyUsageNames {
		if ku&(1<<i) != 0 {
			out = append(out, n)
		}
	}
	return out
}

// ExtKeyUsageNames names extended key usages.
func ExtKeyUsageNames(ekus []x509.ExtKeyUsage) []string {
	var out []string
	for _, e := range ekus {
		switch e {
		case x509.ExtKeyUsageServerAuth:
			out = append(out, "serverAuth")
		case x509.ExtKeyUsageClientAuth:
			out = append(out, "clientAuth")
		default:
			out = append(out, fmt.Sprint(e))
		}
	}
	return out
}

// ReadCSR reads a PEM certificate request and checks it against what
// certkit issues for kind: a key type certkit makes, a Common Name, and
// nothing asked for beyond the profile (not a CA; no key usage or extended
// key usage the profile lacks; no names for a client; for a server, only
// the registry's names and extra). reg is the registry of a server
// certificate (its names); a client's is not needed.
func ReadCSR(data []byte, kind Kind, reg host.Registry, extra []SAN) (*CSR, error) {
	bad := func(reason, fix string) (*CSR, error) { return nil, &CSRError{Reason: reason, Fix: fix} }
	remake := "make the request with certkit request on the client machine, which asks for nothing else"
	block, rest := pem.Decode(data)
	if block == nil || (block.Type != "CERTIFICATE REQUEST" && block.Type != "NEW CERTIFICATE REQUEST") {
		return bad("the file is not a PEM CERTIFICATE REQUEST", "pass the .csr file certkit request wrote")
	}
	if len(strings.TrimSpace(string(rest))) > 0 {
		return bad("the file holds more than one PEM block", "pass the .csr file certkit request wrote, alone")
	}
	req, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil {
		return bad("cannot read it: "+err.Error(), "pass the .csr file certkit request wrote")
	}
	if err := req.CheckSignature(); err != nil {
		return bad("its signature does not verify: "+err.Error(), "make it again with certkit request")
	}
	kt := ca.KeyTypeOf(req.PublicKey)
	if _, err := ca.ParseKeyType(string(kt)); kt == "" || err != nil {
		return bad(fmt.Sprintf("its key (%T, %s) is not one certkit issues for", req.PublicKey, kt), remake)
	}
	if req.Subject.CommonName == "" {
		return bad("it has no Common Name", remake)
	}
	if err := checkSubject("the Common Name", req.Subject.CommonName); err != nil {
		return bad(err.Error(), remake)
	}
	profile, err := profileFor(kind, kt)
	if err != nil {
		return nil, err
	}
	want := profiles[profile]
	c := &CSR{Kind: kind, Subject: req.Subject.String(), CN: req.Subject.CommonName, KeyType: kt,
		KeyUsage: want.KeyUsage, ExtKey: want.ExtKeyUsage, PEM: pem.EncodeToMemory(block), req: req, profile: profile}
	if c.KeySHA256, err = KeyFingerprint(req.PublicKey); err != nil {
		return nil, err
	}
	if kind == Server {
		if reg.Name == "" {
			return nil, errs.Input("a server certificate needs its registry", "pass --host, e.g. --host reg.example.com:5000")
		}
		c.SANs = ServerSANs(reg, extra)
	}
	what := map[Kind]string{Client: "a client certificate", Server: "a server certificate"}[kind]
	for _, ext := range req.Extensions {
		switch {
		case ext.Id.Equal(oidBasicConstraints):
			var bc struct {
				IsCA       bool `asn1:"optional"`
				MaxPathLen int  `asn1:"optional,default:-1"`
			}
			if _, err := asn1.Unmarshal(ext.Value, &bc); err != nil {
				return bad("its basic constraints cannot be read: "+err.Error(), remake)
			}
			if bc.IsCA {
				return bad("it asks to be a CA (basicConstraints CA:TRUE); certkit signs leaves only", remake)
			}
		case ext.Id.Equal(oidKeyUsage):
			var bits asn1.BitString
			if _, err := asn1.Unmarshal(ext.Value, &bits); err != nil {
				return bad("its key usage cannot be read: "+err.Error(), remake)
			}
			var ku x509.KeyUsage
			for i := range 9 {
				if bits.At(i) != 0 {
					ku |= 1 << i
				}
			}
			if extra := ku &^ want.KeyUsage; extra != 0 {
				return bad(fmt.Sprintf("it asks for key usage %s, which %s does not carry (it has %s)",
					strings.Join(KeyUsageNames(extra), ", "), what, strings.Join(KeyUsageNames(want.KeyUsage), ", ")), remake)
			}
		case ext.Id.Equal(oidExtKeyUsage):
			var oids []asn1.ObjectIdentifier
			if _, err := asn1.Unmarshal(ext.Value, &oids); err != nil {
				return bad("its extended key usage cannot be read: "+err.Error(), remake)
			}
			for _, o := range oids {
				if e, ok := extKeyUsageOIDs[o.String()]; ok && slices.Contains(want.ExtKeyUsage, e) {
					continue
				}
				name := extKeyUsageNames[o.String()]
				if name == "" {
					name = o.String()
				}
				fix := remake
				if kind == Client && name == "serverAuth" {
					fix = "is it a server's request? sign it with --profile server --host HOST[:PORT]; else " + remake
				}
				if kind == Server && name == "clientAuth" {
					fix = "is it a client's request? sign it with --profile client (the default); else " + remake
				}
				return bad(fmt.Sprintf("it asks for extended key usage %s, which %s does not carry (it has %s only)",
					name, what, strings.Join(ExtKeyUsageNames(want.ExtKeyUsage), ", ")), fix)
			}
		case ext.Id.Equal(oidSAN):
			if kind == Client {
				return bad("it asks for subject alternative names ("+strings.Join(csrNames(req), ", ")+"); a client certificate carries none", remake)
			}
			if len(req.EmailAddresses) > 0 || len(req.URIs) > 0 {
				return bad("it asks for e-mail or URI names; a server certificate carries DNS names and IP addresses only", remake)
			}
			for _, n := range csrNames(req) {
				if !slices.ContainsFunc(c.SANs, func(s SAN) bool { return s.String() == n }) {
					return bad(fmt.Sprintf("it asks for the name %s, which is not among the registry's (%s)", n, sanList(c.SANs)),
						"if the registry is reached by that name too, sign with --san "+n)
				}
			}
		case ext.Id.Equal(oidSubjectKeyID):
			// certkit writes its own.
		default:
			return bad("it asks for an extension certkit does not issue ("+ext.Id.String()+")", remake)
		}
	}
	return c, nil
}

func csrNames(req *x509.CertificateRequest) []string {
	var out []string
	out = append(out, req.DNSNames...)
	for _, ip := range req.IPAddresses {
		if a, ok := netip.AddrFromSlice(ip); ok {
			out = append(out, a.Unmap().String())
		}
	}
	out = append(out, req.EmailAddresses...)
	for _, u := range req.URIs {
		out = append(out, u.String())
	}
	return out
}

func sanList(sans []SAN) string {
	var out []string
	for _, s := range sans {
		out = append(out, s.String())
	}
	return strings.Join(out, ", ")
}

// SignOptions describe a request to sign with the home's CA.
type SignOptions struct {
	Home     string
	CSR      *CSR          // from ReadCSR
	Validity time.Duration // default DefaultValidity; clamped to the CA's expiry
	CA       *ca.CA        // nil: ca.Load(Home)
	Now      func() time.Time
	// Registry is the registry folder the certificate is for: in a
	// per-registry home its issuing CA signs, so it is required there.
	Registry string
}

// Signed is a certificate SignCSR made.
type Signed struct {
	Cert    *x509.Certificate
	CertPEM []byte
	CA      *x509.Certificate
	CAPEM   []byte
	// ChainPEM is the issuing CA between the certificate and CA (a
	// per-registry home), PEM; empty when CA signed it.
	ChainPEM   []byte
	SHA256     string
	NotAfter   time.Time
	Clamped    bool
	CANotAfter time.Time
}

// SignCSR signs a request checked by ReadCSR under its profile. It writes
// nothing: the caller writes the certificate where the user asked.
func SignCSR(opt SignOptions) (*Signed, error) {
	now := time.Now
	if opt.Now != nil {
		now = opt.Now
	}
	if opt.Validity == 0 {
		opt.Validity = DefaultValidity
	}
	if opt.Validity < 0 {
		return nil, errs.Input("validity must be positive", "")
	}
	c := opt.CA
	if c == nil {
		var err error
		if c, err = ca.Load(opt.Home); err != nil {
			return nil, err
		}
	}
	t := now()
	if !t.Before(c.Cert.NotAfter) {
		return nil, &CAExpiredError{NotAfter: c.Cert.NotAfter}
	}
	r := leafRequest{profile: opt.CSR.profile, cn: opt.CSR.CN, sans: opt.CSR.SANs,
		notBefore: t.Add(-ca.Backdate).Truncate(time.Second), notAfter: t.Add(opt.Validity).Truncate(time.Second)}
	res := &Signed{CA: c.Cert, CAPEM: ca.EncodeCert(c.Cert), CANotAfter: c.Cert.NotAfter}
	if opt.Validity >= c.Cert.NotAfter.Sub(t) {
		r.notAfter = c.Cert.NotAfter.Truncate(time.Second)
		res.Clamped = true
	}
	if ca.PerRegistry(opt.Home) {
		if opt.Registry == "" {
			return nil, &RegistryNeededError{}
		}
		release, err := home.Lock(opt.Home, false)
		if err != nil {
			return nil, err
		}
		defer release(false)
		if c, _, err = signerFor(opt.Home, c, opt.Registry, t); err != nil {
			return nil, err
		}
		res.ChainPEM = c.ChainPEM()
	}
	ls, err := newLeafSigner(c)
	if err != nil {
		return nil, err
	}
	dns, ips := splitSANs(r.sans)
	der, certPEM, err := ls.s.Sign(ca.SignRequest{CSR: opt.CSR.PEM, Profile: r.profile, DNSNames: dns, IPs: ips,
		NotBefore: r.notBefore, NotAfter: r.notAfter})
	if err != nil {
		return nil, fmt.Errorf("signing the certificate: %v", err)
	}
	if err := check(der, opt.CSR.req.PublicKey, r, profiles[r.profile]); err != nil {
		return nil, err
	}
	if res.Cert, err = x509.ParseCertificate(der); err != nil {
		return nil, err
	}
	res.CertPEM = certPEM
	res.SHA256 = ca.Fingerprint(res.Cert)
	res.NotAfter = res.Cert.NotAfter
	return res, nil
}

// RegistryNeededError reports a client request to sign in a per-registry
// home without the registry it is for.
type RegistryNeededError struct{}

func (e *RegistryNeededError) Error() string {
	return "this certkit home gives each registry its own issuing CA, and no registry was named for the certificate"
}

// Hint names the flag.
func (e *RegistryNeededError) Hint() string {
	return "pass the registry it is for: certkit sign --host reg.example.com:5000 FILE.csr"
}

// InputError makes the CLI exit 2.
func (e *RegistryNeededError) InputError() bool { return true }
