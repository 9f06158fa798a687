package main

import (
	"time"

	"github.com/urfave/cli/v2"

	"github.com/certkit/certkit/ca"
	"github.com/certkit/certkit/internal/errs"
	"github.com/certkit/certkit/internal/safefs"
	"github.com/certkit/certkit/templates"
)

// remoteFlags are init-ca's flags for a home whose CA signs elsewhere.
func remoteFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "remote", Usage: "use the multirootca signer at https://HOST[:PORT] instead of a CA key here"},
		&cli.StringFlag{Name: "auth-key-file", Usage: "with --remote: the signer's auth key (auth.key from certkit template multirootca)"},
		&cli.StringFlag{Name: "ca-fingerprint", Usage: "with --remote: the CA certificate's SHA-256, as init-ca printed it on the CA machine (required)"},
		&cli.StringFlag{Name: "label", Usage: "with --remote: the signer's CA label (default: the signer's default, -l)"},
		&cli.StringFlag{Name: "timeout", Usage: "with --remote: how long one call to the signer may take", Value: ca.DefaultSignerTimeout.String()},
	}
}

// maxAuthKeyFile bounds --auth-key-file.
const maxAuthKeyFile = 4 << 10

func initRemote(e *env, c *cli.Context, h string) error {
	for _, f := range []string{"cn", "org", "key-type", "validity", "import-cert", "import-key"} {
		if c.IsSet(f) {
			return usageError{errs.Input("--"+f+" cannot be used with --remote", "the remote CA keeps its own name, key and validity")}
		}
	}
	u, err := ca.ParseSignerURL(c.String("remote"))
	if err != nil {
		return usageError{err}
	}
	if !c.IsSet("ca-fingerprint") {
		return usageError{errs.Input("--remote needs --ca-fingerprint: trusting whatever CA the signer serves is not enough for a CA",
			"ask the CA's admin for the SHA-256 that certkit init-ca (or certkit template multirootca) printed, and pass it with --ca-fingerprint")}
	}
	fp, err := ca.ParseFingerprint(c.String("ca-fingerprint"))
	if err != nil {
		return usageError{err}
	}
	if !c.IsSet("auth-key-file") {
		return usageError{errs.Input("--remote needs --auth-key-file", "pass the auth.key that certkit template multirootca wrote on the CA machine")}
	}
	label := c.String("label")
	if label != "" {
		if err := templates.CheckLabel(label); err != nil {
			return usageError{err}
		}
	}
	timeout, err := time.ParseDuration(c.String("timeout"))
	if err != nil || timeout <= 0 || timeout > 10*time.Minute {
		return usageError{errs.Input("--timeout "+c.String("timeout")+" is not a duration between 0 and 10m", "e.g. --timeout 10s")}
	}
	data, err := safefs.ReadFile(c.String("auth-key-file"), maxAuthKeyFile)
	if err != nil {
		return errs.Input("cannot read --auth-key-file: "+err.Error(), "")
	}
	key, err := ca.ParseAuthKey(data)
	if err != nil {
		return err
	}
	r, backups, err := ca.InitRemote(ca.RemoteOptions{
		Home: h, URL: u, Label: label, Fingerprint: fp, AuthKey: key,
		Timeout: timeout, Force: c.Bool("force"),
	})
	if err != nil {
		return err
	}
	if c.Bool("json") {
		return e.printJSON(struct {
			caReport
			Remote string `json:"remote"`
			Label  string `json:"label,omitempty"`
		}{caReport{
			CN: r.CA.Cert.Subject.CommonName, KeyType: string(ca.KeyTypeOf(r.CA.Cert.PublicKey)), Cert: r.CA.CertPath(),
			SHA256: ca.Fingerprint(r.CA.Cert), NotAfter: r.CA.Cert.NotAfter.UTC(), Backups: backups,
		}, r.URL, r.Label})
	}
	ui := e.ui
	ui.printf("Recorded the remote signer %s for the CA %q: this home has no CA key.", r.URL, r.CA.Cert.Subject.CommonName)
	ui.printf("  certificate  %s", r.CA.CertPath())
	ui.printf("  signer       %s (label %s, deadline %s), auth key in %s (0600)", r.URL, labelText(r.Label), r.Timeout, r.CA.Dir)
	ui.printf("  SHA-256      %s (matches --ca-fingerprint)", ca.Fingerprint(r.CA.Cert))
	ui.printf("  expires      %s", expiryText(r.CA.Cert.NotAfter, time.Now()))
	for _, b := range backups {
		ui.printf("  backup       %s", b)
	}
	ui.printf("Next: certkit issue client --host reg.example.com:5000 (the key is made here; only its request goes to the signer)")
	return nil
}

func labelText(l string) string {
	if l == "" {
		return "the signer's default"
	}
	return l
}
