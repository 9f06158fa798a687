package main

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/certkit/certkit/ca"
	"github.com/certkit/certkit/internal/errs"
	"github.com/certkit/certkit/internal/home"
	"github.com/certkit/certkit/issue"
)

func rotateCACommand(e *env) *cli.Command {
	return &cli.Command{
		Name:      "rotate-ca",
		Usage:     "make a new CA and keep the previous one trusted beside it until --finish retires it",
		UsageText: "certkit rotate-ca [--cn NAME] [--org ORG] [--key-type TYPE] [--validity 10y] [--json]\ncertkit rotate-ca --import-cert ca.crt --import-key ca.key [--import-chain chain.pem]\ncertkit rotate-ca --finish",
		Description: `Makes a new CA, with the options of init-ca, and keeps the current one
with its key and CRL in <home>/ca/previous. From then on certkit issues
under the new CA; install puts both CA certificates into the certs.d
folders (ca.crt and ca-previous.crt, both named in hosts.toml); the server
templates trust both for clients (they name ca/client-cas.crt, which holds
both, and ca/client-cas.crl); status lists the certificates still under
the previous CA (state previous-ca), and renew issues them again under the
new one.

--finish retires the previous CA once the certkit home holds none of its
certificates: its certificate and CRL go to ca/retired/ for the record,
its key is deleted, the servers' files trust the new CA alone, and the
next install takes ca-previous.crt out of the certs.d folders. Restart the
registry (or reload nginx or Apache) after each step: they read the CA
files at start. One rotation at a time.

Examples:
  certkit rotate-ca
  certkit install                      # both CAs into certs.d
  certkit renew --install              # re-issue what the previous CA issued
  certkit rotate-ca --finish
  certkit install                      # takes the previous CA out
  certkit rotate-ca --import-cert new-ca.crt --import-key new-ca.key [--import-chain chain.pem]

--per-registry moves a home made with one CA for every registry to an issuing CA per
registry under the new CA (README: Per-registry access); the rotation's overlap keeps
the old certificates working until renew has replaced them.`,
		Flags: append([]cli.Flag{
			homeFlag(),
			&cli.StringFlag{Name: "cn", Usage: "the new CA's common name (default: certkit CA <machine> <random tag>, unique per CA)"},
			&cli.StringFlag{Name: "org", Usage: "the new CA's organization", Value: "certkit"},
			&cli.StringFlag{Name: "key-type", Usage: "ecdsa-p256, ecdsa-p384, rsa-2048, rsa-3072, rsa-4096 or ed25519", Value: string(ca.ECDSAP256)},
			&cli.StringFlag{Name: "validity", Usage: "how long the new CA is valid: days (3650d), years (10y) or hours (87600h)", Value: "10y"},
			&cli.BoolFlag{Name: "finish", Usage: "retire the previous CA (refused while the home holds certificates it issued)"},
			perRegistryFlag(false),
			jsonFlag(),
		}, importFlags("the new CA instead of creating one")...),
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return usageError{errs.Input("rotate-ca takes no arguments, got "+c.Args().First(), "certkit rotate-ca [--finish]")}
			}
			h, err := e.home(c)
			if err != nil {
				return err
			}
			if c.Bool("finish") {
				for _, f := range []string{"cn", "org", "key-type", "validity", "per-registry", "import-cert", "import-key", "import-chain"} {
					if c.IsSet(f) {
						return usageError{errs.Input("--"+f+" makes a new CA, and --finish makes none", "certkit rotate-ca --finish")}
					}
				}
				return finishRotation(e, c, h)
			}
			res, err := rotate(e, c, h)
			if err != nil {
				return err
			}
			next := []string{
				"certkit install" + runRootFlags(c) + "   # both CAs into the certs.d folders of this machine (sudo for /etc)",
				"restart the registry, or reload nginx or Apache in front of it: they read the client CAs at start",
				"certkit renew --install" + homeArg(c) + "   # issue again, under the new CA, what the previous one issued",
				"certkit rotate-ca --finish" + homeArg(c) + ", then certkit install and a restart again: the previous CA is no longer trusted",
			}
			if c.Bool("json") {
				return e.printJSON(map[string]any{
					"cn": res.CA.Cert.Subject.CommonName, "key_type": ca.KeyTypeOf(res.CA.Cert.PublicKey), "cert": res.CA.CertPath(),
					"sha256": ca.Fingerprint(res.CA.Cert), "not_after": res.CA.Cert.NotAfter.UTC(),
					"previous": res.Previous.Cert.Subject.CommonName, "previous_dir": res.Previous.Dir, "next": next,
				})
			}
			u := e.ui
			u.printf("Made a new CA %q (%s); certkit issues under it from now on.", res.CA.Cert.Subject.CommonName, ca.KeyTypeOf(res.CA.Cert.PublicKey))
			u.printf("  certificate  %s", res.CA.CertPath())
			u.printf("  private key  %s (0600)", res.CA.KeyPath())
			u.printf("  SHA-256      %s", ca.Fingerprint(res.CA.Cert))
			u.printf("  expires      %s", res.CA.Cert.NotAfter.UTC().Format(time.DateOnly))
			u.printf("The previous CA %q is kept in %s and trusted beside the new one until the rotation is finished.", res.Previous.Cert.Subject.CommonName, res.Previous.Dir)
			for i, n := range next {
				u.printf("Next (%d): %s", i+1, n)
			}
			return nil
		},
	}
}

func finishRotation(e *env, c *cli.Context, h string) error {
	res, err := ca.FinishRotation(ca.FinishOptions{Home: h})
	if err != nil {
		return err
	}
	next := []string{
		"certkit install" + runRootFlags(c) + "   # takes ca-previous.crt out of the certs.d folders of this machine",
		"restart the registry, or reload nginx or Apache in front of it: until then they still accept the previous CA's clients",
	}
	if c.Bool("json") {
		return e.printJSON(map[string]any{"retired": res.Retired.Subject.CommonName, "record": res.Record, "ca": res.CA.Cert.Subject.CommonName, "next": next})
	}
	u := e.ui
	u.printf("Retired the previous CA %q; only %q is trusted now.", res.Retired.Subject.CommonName, res.CA.Cert.Subject.CommonName)
	u.printf("  record       %s (its key is deleted)", res.Record)
	u.printf("  servers      %s", filepath.Join(home.CADir(h), ca.ClientCAsFile))
	for _, n := range next {
		u.printf("Next: %s", n)
	}
	return nil
}

// rotationLine says, for status, where a rotation stands.
func rotationLine(leaves int, previous string) string {
	if leaves == 0 {
		return fmt.Sprintf("CA rotation: the previous CA %s issued nothing the home still holds: certkit rotate-ca --finish", previous)
	}
	return fmt.Sprintf("CA rotation: %s still under the previous CA %s (state previous-ca): certkit renew --install, then certkit rotate-ca --finish", plural(leaves, "certificate"), previous)
}

// rotate makes the new CA, or takes the one of --import-cert, and starts
// the rotation.
func rotate(e *env, c *cli.Context, h string) (*ca.RotateResult, error) {
	if !c.IsSet("import-cert") && !c.IsSet("import-key") && !c.IsSet("import-chain") {
		opt, done, err := newCAOptions(e, c, h)
		if err != nil {
			return nil, err
		}
		defer done()
		return ca.Rotate(opt)
	}
	if !c.IsSet("import-cert") || !c.IsSet("import-key") {
		return nil, usageError{errs.Input("--import-cert and --import-key go together", "certkit rotate-ca --import-cert new-ca.crt --import-key new-ca.key")}
	}
	for _, f := range []string{"cn", "org", "key-type", "validity"} {
		if c.IsSet(f) {
			return nil, usageError{errs.Input("--"+f+" cannot be used with --import-cert", "an imported CA keeps its own name, key and validity")}
		}
	}
	certPEM, keyPEM, chainPEM, err := readImportFiles(c)
	if err != nil {
		return nil, err
	}
	perRegistry := ca.PerRegistry(h)
	if c.IsSet("per-registry") {
		perRegistry = c.Bool("per-registry")
	}
	res, warnings, err := ca.RotateImport(certPEM, keyPEM, ca.ImportOptions{Home: h, Chain: chainPEM, LeafValidity: issue.DefaultValidity,
		PerRegistry: perRegistry, RequirePerRegistry: perRegistry})
	for _, w := range warnings {
		e.ui.warnf("%s", w)
	}
	return res, err
}
