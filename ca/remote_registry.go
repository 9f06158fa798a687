package ca

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/certkit/certkit/internal/shellquote"
)

// A signer for a per-registry home (certkit template multirootca there)
// has one multirootca section per registry, for its issuing CA, under
// RegistryLabel; the CA's own section answers info, so that client
// machines can pin the CA, and signs nothing: its profiles need no auth
// key, and multirootca refuses such a profile every request
// ("authorisation required").

// errClosedLabel marks a signer's answer "authorisation required": the
// label of a per-registry signer's CA.
var errClosedLabel = errors.New("the label signs nothing")

// RegistryLabel is the multirootca section of a registry's issuing CA
// under a signer's label base (DefaultSignerLabel when empty): a
// section name (\w, at most 64) that names the registry without its
// characters.
func RegistryLabel(base, registry string) string {
	if base == "" {
		base = DefaultSignerLabel
	}
	sum := sha256.Sum256([]byte(registry))
	return base[:min(len(base), 55)] + "_" + hex.EncodeToString(sum[:4])
}

// DefaultSignerLabel is the label certkit's signer configuration gives
// the CA.
const DefaultSignerLabel = "certkit"

// RegistryIssuer asks a per-registry signer for the issuing CA of
// registry (info under its RegistryLabel) and checks it: a CA the home's
// CA signed, valid now, that may sign leaves.
func (cl *SignerClient) RegistryIssuer(registry string, now time.Time) (*CA, string, error) {
	label := RegistryLabel(cl.r.Label, registry)
	resp, err := cl.info(label)
	var se *SignerError
	if errors.As(err, &se) && se.Kind == SignerLabel {
		return nil, "", cl.r.fail(SignerLabel, fmt.Sprintf("has no issuing CA for %s (label %s)", registry, label),
			"on the CA machine: certkit template multirootca --registry "+shellquote.Quote(registry)+" --force (with the flags it was rendered with), then restart the signer", nil)
	}
	if err != nil {
		return nil, "", err
	}
	certs, err := ParseCerts([]byte(resp.Certificate))
	if err != nil {
		return nil, "", cl.r.fail(SignerAnswer, "answered info for "+registry+" without a CA certificate: "+err.Error(), "", nil)
	}
	c := certs[0]
	root := cl.r.CA.Cert
	switch {
	case !c.IsCA || !c.BasicConstraintsValid:
		return nil, "", cl.r.fail(SignerAnswer, fmt.Sprintf("serves %q for %s, which is not a CA certificate", c.Subject.CommonName, registry), "", nil)
	case c.CheckSignatureFrom(root) != nil:
		return nil, "", cl.r.fail(SignerAnswer, fmt.Sprintf("serves %q for %s, which the CA %q did not issue", c.Subject.CommonName, registry, root.Subject.CommonName),
			"the signer must serve the issuing CAs of the CA whose fingerprint this home pinned", nil)
	case now.After(c.NotAfter) || now.Before(c.NotBefore):
		return nil, "", cl.r.fail(SignerAnswer, fmt.Sprintf("serves %q for %s, which is not valid now", c.Subject.CommonName, registry), "", nil)
	}
	return &CA{Cert: c, CertPEM: EncodeCert(c), Dir: cl.r.CA.Dir, Chain: []*x509.Certificate{c}, Anchor: root}, label, nil
}
