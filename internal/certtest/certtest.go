// Package certtest holds the certificate assertions shared by certkit's
// tests: zlint over the RFC sources, and field checks that the testscript
// commands and the unit tests both use. Only tests import it.
package certtest

import (
	"crypto/x509"
	"fmt"
	"sort"
	"strings"

	zx509 "github.com/zmap/zcrypto/x509"
	"github.com/zmap/zlint/v3"
	"github.com/zmap/zlint/v3/lint"
)

// LintSources are the zlint sources every certkit certificate must pass.
var LintSources = lint.SourceList{lint.RFC5280, lint.RFC5480, lint.RFC8813}

// Lint runs zlint's RFC 5280, 5480 and 8813 lints and returns every
// warning, error or fatal result as "status lint-name: details".
func Lint(der []byte) ([]string, error) {
	c, err := zx509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("zcrypto cannot parse the certificate: %v", err)
	}
	reg, err := lint.GlobalRegistry().Filter(lint.FilterOptions{IncludeSources: LintSources})
	if err != nil {
		return nil, err
	}
	return problems(zlint.LintCertificateEx(c, reg)), nil
}

// problems lists a lint run's warnings, errors and fatal results as
// "status lint-name: details", sorted.
func problems(rs *zlint.ResultSet) []string {
	var out []string
	for name, r := range rs.Results {
		if r.Status >= lint.Warn {
			out = append(out, fmt.Sprintf("%s %s: %s", r.Status, name, r.Details))
		}
	}
	sort.Strings(out)
	return out
}

// KeyUsageNames lists a key usage as short names (digitalsignature,
// keyencipherment, certsign, crlsign, …), sorted.
func KeyUsageNames(ku x509.KeyUsage) []string {
	names := map[x509.KeyUsage]string{
		x509.KeyUsageDigitalSignature:  "digitalsignature",
		x509.KeyUsageContentCommitment: "contentcommitment",
		x509.KeyUsageKeyEncipherment:   "keyencipherment",
		x509.KeyUsageDataEncipherment:  "dataencipherment",
		x509.KeyUsageKeyAgreement:      "keyagreement",
		x509.KeyUsageCertSign:          "certsign",
		x509.KeyUsageCRLSign:           "crlsign",
		x509.KeyUsageEncipherOnly:      "encipheronly",
		x509.KeyUsageDecipherOnly:      "decipheronly",
	}
	var out []string
	for bit, n := range names {
		if ku&bit != 0 {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// ExtKeyUsageNames lists extended key usages (serverauth, clientauth, …).
func ExtKeyUsageNames(eku []x509.ExtKeyUsage) []string {
	var out []string
	for _, u := range eku {
		switch u {
		case x509.ExtKeyUsageServerAuth:
			out = append(out, "serverauth")
		case x509.ExtKeyUsageClientAuth:
			out = append(out, "clientauth")
		default:
			out = append(out, fmt.Sprintf("eku%d", u))
		}
	}
	sort.Strings(out)
	return out
}

// SANs lists the DNS and IP subject alternative names, sorted.
func SANs(c *x509.Certificate) []string {
	out := append([]string{}, c.DNSNames...)
	for _, ip := range c.IPAddresses {
		out = append(out, ip.String())
	}
	sort.Strings(out)
	return out
}

// Join is strings.Join with "," and "-" for an empty list.
func Join(s []string) string {
	if len(s) == 0 {
		return "-"
	}
	return strings.Join(s, ",")
}

// LintCRL runs the same zlint sources over a DER CRL.
func LintCRL(der []byte) ([]string, error) {
	l, err := zx509.ParseRevocationList(der)
	if err != nil {
		return nil, fmt.Errorf("zcrypto cannot parse the CRL: %v", err)
	}
	reg, err := lint.GlobalRegistry().Filter(lint.FilterOptions{IncludeSources: LintSources})
	if err != nil {
		return nil, err
	}
	return problems(zlint.LintRevocationListEx(l, reg)), nil
}
