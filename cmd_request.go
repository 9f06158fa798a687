package main

import (
	"fmt"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/certkit/certkit/ca"
	"github.com/certkit/certkit/host"
	"github.com/certkit/certkit/internal/atomicfile"
	"github.com/certkit/certkit/internal/errs"
	"github.com/certkit/certkit/internal/shellquote"
	"github.com/certkit/certkit/issue"
)

func requestCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:      "request",
		Usage:     "make a client key and a certificate request here, for the CA machine to sign (the key never leaves)",
		UsageText: "certkit request --host HOST[:PORT] [--name NAME] [--key-type TYPE] [--out FILE.csr] [--force] [--json]",
		Description: `Makes the key of a client certificate and a certificate request (CSR) for it in the
certkit home of this machine, as a pending request: <home>/pending/<HOST[:PORT]>/NAME.key
(0600) and NAME.csr. Only the request goes to the CA machine, where certkit sign makes
the certificate; certkit install --cert takes it back next to the key and installs both.
This machine needs no CA.

Examples:
  certkit request --host reg.example.com:5000 --name laptop --out laptop.csr
  certkit sign --host reg.example.com:5000 laptop.csr   # on the CA machine
  sudo certkit install --cert laptop.cert      # back here`,
		Flags: []cli.Flag{
			homeFlag(),
			&cli.StringFlag{Name: "host", Usage: "the registry as in image references: HOST or HOST:PORT"},
			&cli.StringFlag{Name: "name", Usage: "client name: file stem (NAME.cert, NAME.key) and Common Name", Value: issue.DefaultClientName},
			&cli.StringFlag{Name: "key-type", Usage: "ecdsa-p256, ecdsa-p384, rsa-2048, rsa-3072, rsa-4096 or ed25519", Value: string(ca.ECDSAP256)},
			&cli.StringFlag{Name: "out", Usage: "also write the request to FILE, to carry to the CA machine"},
			forceFlag("a pending request of that name"),
			jsonFlag(),
		},
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return usageError{errs.Input("request takes no arguments, got "+c.Args().First(), "give the registry with --host and the client with --name")}
			}
			if !c.IsSet("host") {
				return usageError{errs.Input("--host is required", "name the registry as in image references: certkit request --host reg.example.com:5000 --name laptop")}
			}
			reg, err := host.Parse(c.String("host"))
			if err != nil {
				return hostHint(err, "certkit request")
			}
			kt, err := ca.ParseKeyType(c.String("key-type"))
			if err != nil {
				return err
			}
			h, err := e.home(c)
			if err != nil {
				return err
			}
			out := c.String("out")
			if out != "" && !c.Bool("force") && atomicfile.Exists(out) {
				return &atomicfile.ExistsError{Paths: []string{out}}
			}
			done := func() {}
			if kt.Slow() {
				done = e.ui.progress("making a " + string(kt) + " key")
			}
			res, err := issue.Request(issue.RequestOptions{Home: h, Registry: reg, Name: c.String("name"), KeyType: kt, Force: c.Bool("force")})
			done()
			if err != nil {
				return err
			}
			if out != "" {
				if _, err := atomicfile.WriteAll([]atomicfile.File{{Path: out, Data: res.CSR, Mode: 0o644}},
					atomicfile.Options{Force: c.Bool("force")}); err != nil {
					return fmt.Errorf("the request is in %s, but writing --out failed: %w", res.CSRPath, err)
				}
			}
			return reportRequest(e, c, res, out)
		},
	}
}

type requestReport struct {
	Host      string   `json:"host"`
	Name      string   `json:"name"`
	KeyType   string   `json:"key_type"`
	Key       string   `json:"key"`
	CSR       string   `json:"csr"`
	Out       string   `json:"out,omitempty"`
	KeySHA256 string   `json:"key_sha256"`
	Backups   []string `json:"backups,omitempty"`
}

func reportRequest(e *env, c *cli.Context, res *issue.RequestResult, out string) error {
	r := requestReport{Host: res.Registry.String(), Name: res.Name, KeyType: string(res.KeyType), Key: res.KeyPath,
		CSR: res.CSRPath, Out: out, KeySHA256: res.KeySHA256, Backups: res.Backups}
	if c.Bool("json") {
		return e.printJSON(r)
	}
	u := e.ui
	u.printf("Made a key and a certificate request for client %q of %s (%s).", r.Name, r.Host, r.KeyType)
	u.printf("  request      %s", r.CSR)
	if out != "" {
		u.printf("  copy         %s", out)
	}
	u.printf("  private key  %s (0600: it stays in this certkit home)", r.Key)
	u.printf("  key SHA-256  %s", r.KeySHA256)
	printBackups(u, r.Backups)
	carry := out
	if carry == "" {
		carry = r.CSR
	}
	certFile := res.Name + ".cert"
	u.printf("Next: copy %s to the CA machine and run there: certkit sign --host %s %s", carry, shellquote.Quote(res.Registry.String()), shellquote.Quote(filepath.Base(carry)))
	u.printf("Then, here: certkit install --cert %s", shellquote.Quote(certFile))
	return nil
}
