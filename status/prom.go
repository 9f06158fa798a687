package status

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
)

// WritePrometheus writes the report in the Prometheus text format, for
// node_exporter's textfile collector. The metric names are those of the
// x509 certificate exporter (x509_cert_not_after, x509_cert_not_before,
// x509_cert_expired), so that alerts written for it apply as they are;
// certkit adds its labels (registry, name, kind, location, root, copy),
// a state series and an attention series per certificate.
func (r *Report) WritePrometheus(w io.Writer) error {
	type metric struct {
		name, help string
		value      func(c *Cert) float64
	}
	metrics := []metric{
		{"x509_cert_not_after", "Certificate notAfter, in seconds since the epoch.", func(c *Cert) float64 { return float64(c.NotAfter.Unix()) }},
		{"x509_cert_not_before", "Certificate notBefore, in seconds since the epoch.", func(c *Cert) float64 { return float64(c.NotBefore.Unix()) }},
		{"x509_cert_expired", "1 when the certificate has expired.", func(c *Cert) float64 { return b2f(c.State == Expired) }},
		{"certkit_cert_renew_window_seconds", "The renewal window certkit applies to the certificate.", func(c *Cert) float64 { return c.WindowDays * 86400 }},
		{"certkit_cert_attention", "1 when certkit status says the certificate needs something done.", func(c *Cert) float64 { return b2f(c.Attention()) }},
	}
	var b strings.Builder
	for _, m := range metrics {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s gauge\n", m.name, m.help, m.name)
		for i := range r.Certs {
			c := &r.Certs[i]
			if c.Copy == Missing {
				continue // nothing is there to measure
			}
			fmt.Fprintf(&b, "%s{%s} %s\n", m.name, labels(c, nil), strconv.FormatFloat(m.value(c), 'f', -1, 64))
		}
	}
	b.WriteString("# HELP certkit_cert_state 1 for the state certkit status gives the certificate (ok, renew, expired, not-yet-valid, outlives-ca), and for a certs.d copy its relation to the home's (copy).\n# TYPE certkit_cert_state gauge\n")
	for i := range r.Certs {
		c := &r.Certs[i]
		fmt.Fprintf(&b, "certkit_cert_state{%s} 1\n", labels(c, map[string]string{"state": string(c.State)}))
	}
	if len(r.CRLs) > 0 {
		b.WriteString("# HELP certkit_crl_next_update_seconds The CRL's nextUpdate, in seconds since the epoch: past it nginx and Apache refuse every client.\n# TYPE certkit_crl_next_update_seconds gauge\n")
		for _, l := range r.CRLs {
			fmt.Fprintf(&b, "certkit_crl_next_update_seconds{filepath=\"%s\",issuer=\"%s\",state=\"%s\"} %d\n", escape(l.Path), escape(l.Issuer), l.State, l.NextUpdate.Unix())
		}
		b.WriteString("# HELP certkit_crl_revoked Certificates the CRL lists.\n# TYPE certkit_crl_revoked gauge\n")
		for _, l := range r.CRLs {
			fmt.Fprintf(&b, "certkit_crl_revoked{filepath=\"%s\",issuer=\"%s\"} %d\n", escape(l.Path), escape(l.Issuer), l.Revoked)
		}
	}
	fmt.Fprintf(&b, "# HELP certkit_status_attention Certificates and files certkit status says need something done.\n# TYPE certkit_status_attention gauge\ncertkit_status_attention %d\n", r.Attention())
	fmt.Fprintf(&b, "# HELP certkit_status_timestamp_seconds When certkit status wrote this file.\n# TYPE certkit_status_timestamp_seconds gauge\ncertkit_status_timestamp_seconds %d\n", r.Now.Unix())
	_, err := io.WriteString(w, b.String())
	return err
}

func b2f(v bool) float64 {
	if v {
		return 1
	}
	return 0
}

// labels writes a certificate's labels, sorted, escaped as the text
// format wants.
func labels(c *Cert, extra map[string]string) string {
	l := map[string]string{
		"filepath":      c.Path,
		"serial_number": c.Serial,
		"subject_CN":    c.subjectCN,
		"issuer_CN":     c.issuerCN,
		"registry":      c.Registry,
		"name":          c.Name,
		"kind":          string(c.Kind),
		"location":      string(c.Location),
		"root":          c.Root,
		"copy":          string(c.Copy),
	}
	for k, v := range extra {
		l[k] = v
	}
	keys := make([]string, 0, len(l))
	for k, v := range l {
		if v != "" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + `="` + escape(l[k]) + `"`
	}
	return strings.Join(parts, ",")
}

var labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

func escape(s string) string { return labelEscaper.Replace(s) }
