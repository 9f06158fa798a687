// Package verify checks a registry's certs.d folder the way Docker and
// podman read it, then probes the live registry the way a modern Docker/Go
// client talks to it: connect, TLS handshake against the system roots plus
// the folder's CA files, the server's CertificateRequest, a real GET /v2/
// with each client pair on its own connection, and one without any.
//
// It is the only certkit package that opens outgoing network connections.
// Every network step has its own deadline inside the probe's timeout, and
// every read from the server is bounded in size.
//
// Like every certkit domain package it never prints: it returns a Report
// made of Checks, each with a status, a machine-readable kind, a message and
// the fix.
package verify

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/json"
	"strconv"
	"time"

	"github.com/certkit/certkit/ca"
)

// Status is the outcome of one check.
type Status string

// The three outcomes. Only Error makes a report fail.
const (
	OK      Status = "ok"
	Warning Status = "warning"
	Error   Status = "error"
)

// Check is one line of a report.
type Check struct {
	// ID names the check, stable for scripts: "resolve", "connect", "tls",
	// "client-cert-request", "pair:NAME", "no-client-cert", "api-version",
	// "loopback", and the offline checks' own IDs.
	ID     string `json:"id"`
	Status Status `json:"status"`
	// Kind is the diagnosis in one word, stable for scripts and tests:
	// "refused", "unknown-authority", "hostname", "expired", …; for a
	// finding in the folder, install's Problem.Kind ("unpaired-cert",
	// "stray-key", "ca-key", …). Empty when there is nothing to diagnose.
	Kind    string `json:"kind,omitempty"`
	Message string `json:"message"`
	Fix     string `json:"fix,omitempty"`
	// Elapsed is the time the check's network step took (0 offline).
	Elapsed Millis `json:"elapsed_ms"`
	// Summary marks a check that sums up the checks after it (the folder
	// line over the folder's files): its status is the worst of theirs,
	// and the report's totals do not count it again.
	Summary bool `json:"summary,omitempty"`
}

// Millis is a duration that reads as milliseconds in JSON.
type Millis time.Duration

// MarshalJSON writes the duration in milliseconds, to the microsecond.
func (m Millis) MarshalJSON() ([]byte, error) {
	return []byte(strconv.FormatFloat(float64(m)/float64(time.Millisecond), 'f', 3, 64)), nil
}

// UnmarshalJSON reads what MarshalJSON writes.
func (m *Millis) UnmarshalJSON(b []byte) error {
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	*m = Millis(f * float64(time.Millisecond))
	return nil
}

// Report is everything verify found out about one registry.
type Report struct {
	Registry string `json:"registry"`      // the certs.d folder name, host[:port]
	Dir      string `json:"dir,omitempty"` // the folder that was read: the one the consumer reads
	// InstallDir is the folder certkit installs for the target, when the
	// consumer reads another one (Options.Search): one that comes first
	// and hides it, or one it falls back to.
	InstallDir string `json:"install_dir,omitempty"`
	// Target is the --target whose certs root the report is for.
	Target string `json:"target,omitempty"`
	// CoveredBy is set when the folder read is read by the same rules for
	// an earlier report, that of this --target: that report holds the
	// folder's findings and the live checks, and this one only its
	// lookup, so nothing is checked or counted twice.
	CoveredBy string  `json:"covered_by,omitempty"`
	Addr      string  `json:"addr,omitempty"` // the address connected to
	Checks    []Check `json:"checks"`
	// Errors and Warnings count the checks, summaries left out.
	Errors   int `json:"errors"`
	Warnings int `json:"warnings"`
	// Server is what the handshake showed; nil when no handshake got as
	// far as the server's certificate.
	Server *ServerInfo `json:"server,omitempty"`
	// Pairs are the client pairs tried live, in filename order.
	Pairs []PairResult `json:"pairs,omitempty"`
	// WillSend is the pair a modern Docker/podman client sends to this
	// registry ("" when the server does not ask, or when no pair fits).
	WillSend string `json:"will_send,omitempty"`
	// Accepted lists the pairs the registry accepted.
	Accepted []string `json:"accepted"`
	Elapsed  Millis   `json:"elapsed_ms"`
}

// Failed reports whether any check is an error.
func (r *Report) Failed() bool {
	for _, c := range r.Checks {
		if c.Status == Error {
			return true
		}
	}
	return false
}

// count sets Errors and Warnings.
func (r *Report) count() { r.Errors, r.Warnings = tally(r.Checks) }

// tally counts the errors and warnings among checks, summaries left out.
func tally(checks []Check) (errors, warnings int) {
	for _, c := range checks {
		switch {
		case c.Summary:
		case c.Status == Error:
			errors++
		case c.Status == Warning:
			warnings++
		}
	}
	return errors, warnings
}

// Check returns the first check with the given ID.
func (r *Report) Check(id string) (Check, bool) {
	for _, c := range r.Checks {
		if c.ID == id {
			return c, true
		}
	}
	return Check{}, false
}

// ServerInfo is what the TLS handshake showed of the server.
type ServerInfo struct {
	TLSVersion string     `json:"tls_version,omitempty"`
	Chain      []CertInfo `json:"chain"` // as the server sent it, leaf first
	// RequestsClientCert is set when the server sent a CertificateRequest.
	RequestsClientCert bool `json:"requests_client_cert"`
	// AcceptableCAs are the issuer names the server accepts for client
	// certificates; empty when it names none (any issuer may be sent).
	AcceptableCAs []string `json:"acceptable_cas,omitempty"`
}

// PairResult is one client pair tried against the live registry.
type PairResult struct {
	Name    string `json:"name"`
	Subject string `json:"subject,omitempty"`
	Issuer  string `json:"issuer,omitempty"`
	// Sent is set for the one pair a modern Docker/podman client sends.
	Sent     bool `json:"sent_by_docker"`
	Accepted bool `json:"accepted"`
	// HTTPStatus is the answer to GET /v2/, 0 when none came.
	HTTPStatus int `json:"http_status,omitempty"`
	// Alert names the TLS alert the server rejected the pair with.
	Alert string `json:"alert,omitempty"`
}

// CertInfo summarises one certificate.
type CertInfo struct {
	Subject   string    `json:"subject"`
	Issuer    string    `json:"issuer"`
	SANs      []string  `json:"sans,omitempty"`
	NotBefore time.Time `json:"not_before"`
	NotAfter  time.Time `json:"not_after"`
	IsCA      bool      `json:"is_ca"`
	SHA256    string    `json:"sha256"`
}

func certInfo(c *x509.Certificate) CertInfo {
	return CertInfo{
		Subject:   c.Subject.String(),
		Issuer:    c.Issuer.String(),
		SANs:      sans(c),
		NotBefore: c.NotBefore.UTC(),
		NotAfter:  c.NotAfter.UTC(),
		IsCA:      c.BasicConstraintsValid && c.IsCA,
		SHA256:    ca.Fingerprint(c),
	}
}

// sans lists a certificate's DNS and IP names as "DNS:x" and "IP:y".
func sans(c *x509.Certificate) []string {
	var out []string
	for _, d := range c.DNSNames {
		out = append(out, "DNS:"+d)
	}
	for _, ip := range c.IPAddresses {
		out = append(out, "IP:"+ip.String())
	}
	return out
}

// nameOf is the short form of a distinguished name for messages: its
// common name, quoted, or the whole name when it has none.
func nameOf(n pkix.Name) string {
	if n.CommonName != "" {
		return strconv.Quote(n.CommonName)
	}
	if s := n.String(); s != "" {
		return strconv.Quote(s)
	}
	return "(empty name)"
}

// rawName decodes a DER distinguished name, as a CertificateRequest lists
// them.
func rawName(der []byte) (pkix.Name, bool) {
	var seq pkix.RDNSequence
	rest, err := asn1.Unmarshal(der, &seq)
	if err != nil || len(rest) > 0 {
		return pkix.Name{}, false
	}
	var n pkix.Name
	n.FillFromRDNSequence(&seq)
	return n, true
}

// day formats a time as a UTC date.
func day(t time.Time) string { return t.UTC().Format(time.DateOnly) }
