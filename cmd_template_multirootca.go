package main

import (
	"path/filepath"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/certkit/certkit/ca"
	"github.com/certkit/certkit/host"
	"github.com/certkit/certkit/internal/atomicfile"
	"github.com/certkit/certkit/internal/errs"
	"github.com/certkit/certkit/internal/home"
	"github.com/certkit/certkit/internal/shellquote"
	"github.com/certkit/certkit/issue"
	"github.com/certkit/certkit/templates"
)

// templateMultirootcaCommand renders a remote signer: cfssl's multirootca
// with the home's CA key, for client machines that use init-ca --remote.
func templateMultirootcaCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:      string(templates.Multirootca),
		Usage:     "a remote signer on the CA machine: cfssl's multirootca roots file, signing profiles, auth key and TLS pair",
		UsageText: "certkit template multirootca --host HOST[:PORT] [--listen ADDRESS:PORT] [--label certkit] [--allow CIDR]... [--out-dir DIR] [--force]",
		Description: `Writes, into --out-dir (default <home>/signer), everything cfssl's multirootca needs to
sign for client machines with this home's CA: the roots file (multirootca.ini), the cfssl
signing configuration whose profiles server, server-rsa and client give exactly what
certkit issues locally (signing.json), a new auth key (auth.key, 0600), and the signer's
own TLS certificate from the CA for HOST (tls-chain.crt, tls.key). It prints the command
that starts the signer; on each client machine, certkit init-ca --remote then records it.
multirootca serves only authsign, info and /metrics; never expose cfssl serve, whose
newcert and revoke answer without authentication.

In a per-registry home (init-ca's default) the CA's section signs nothing: each registry
with an issuing CA gets a section of its own, and client machines ask the one of the
registry they issue for. --registry HOST[:PORT] (repeatable) makes a registry's issuing CA
first; a registry added later needs this command again (--force) and a signer restart.

Examples:
  certkit template multirootca --host ca.internal:8888
  certkit template multirootca --host ca.internal:8888 --listen 10.0.0.2:8888 --allow 10.0.0.0/8
  certkit template multirootca --host ca.internal:8888 --registry reg.example.com:5000
  go install github.com/cloudflare/cfssl/cmd/multirootca@v1.6.5   # builds the signer`,
		Flags: []cli.Flag{
			homeFlag(),
			&cli.StringFlag{Name: "host", Usage: "the name client machines reach the signer by: HOST[:PORT] (port 8888 when none)"},
			&cli.StringFlag{Name: "listen", Usage: "where multirootca listens: ADDRESS:PORT (default: every address, the --host port)"},
			&cli.StringFlag{Name: "label", Usage: "the roots file section, which clients name with init-ca --label", Value: templates.DefaultLabel},
			&cli.StringSliceFlag{Name: "allow", Usage: "a network (CIDR) that may ask for certificates (repeatable; default: any, with the auth key)"},
			&cli.StringFlag{Name: "out-dir", Usage: "the folder for the signer's files (default <home>/signer)"},
			&cli.StringSliceFlag{Name: "registry", Usage: "a per-registry home: sign for this registry too, making its issuing CA if it has none (repeatable)"},
			forceFlag("existing signer files"),
		},
		OnUsageError: func(_ *cli.Context, err error, _ bool) error { return usageError{err} },
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return usageError{errs.Input("certkit template multirootca takes no arguments, got "+c.Args().First(), "")}
			}
			if c.String("host") == "" {
				return usageError{errs.Input("--host is required", "name the signer as client machines reach it: certkit template multirootca --host ca.internal:8888")}
			}
			reg, err := host.Parse(c.String("host"))
			if err != nil {
				return err
			}
			h, err := e.home(c)
			if err != nil {
				return err
			}
			dir := c.String("out-dir")
			if dir == "" {
				dir = filepath.Join(h, "signer")
			}
			if dir, err = filepath.Abs(dir); err != nil {
				return err
			}
			if err := makeIssuers(h, c.StringSlice("registry")); err != nil {
				return err
			}
			cfg, err := templates.RenderSigner(templates.SignerOptions{
				Home: h, Signer: reg, Dir: dir, Label: c.String("label"),
				Listen: c.String("listen"), Nets: c.StringSlice("allow"),
			})
			if err != nil {
				return err
			}
			policy, err := issue.SigningPolicy(filepath.Join(dir, templates.SignerAuthKey))
			if err != nil {
				return err
			}
			key, err := ca.NewAuthKey()
			if err != nil {
				return err
			}
			// The signer's TLS name is the one clients reach it by; its
			// port is not part of a certificate.
			tlsName := reg
			tlsName.Port = 0
			pair, err := issue.IssueServerPair(h, tlsName, time.Now())
			if err != nil {
				return err
			}
			caCert, err := ca.Load(h)
			if err != nil {
				return err
			}
			files := []atomicfile.File{
				{Path: filepath.Join(dir, templates.SignerINI), Data: cfg.INI, Mode: 0o644},
				{Path: filepath.Join(dir, templates.SignerPolicy), Data: policy, Mode: 0o644},
				{Path: filepath.Join(dir, templates.SignerAuthKey), Data: []byte(key + "\n"), Mode: 0o600},
				{Path: filepath.Join(dir, templates.SignerTLSCert), Data: pair.ChainPEM, Mode: 0o644},
				{Path: filepath.Join(dir, templates.SignerTLSKey), Data: pair.KeyPEM, Mode: 0o600},
			}
			perRegistry := ca.PerRegistry(h)
			if perRegistry {
				closed, err := issue.ClosedSigningPolicy()
				if err != nil {
					return err
				}
				files = append(files, atomicfile.File{Path: filepath.Join(dir, templates.SignerClosedPolicy), Data: closed, Mode: 0o644})
			}
			res, err := atomicfile.WriteAll(files, atomicfile.Options{Force: c.Bool("force"), DirMode: 0o700})
			if err != nil {
				return err
			}
			quoted := make([]string, len(cfg.Command))
			for i, a := range cfg.Command {
				quoted[i] = shellquote.Quote(a)
			}
			if _, err := e.stdout.Write([]byte(strings.Join(quoted, " ") + "\n")); err != nil {
				return err
			}
			u := e.ui
			u.printf("Wrote the multirootca signer for %s to %s:", cfg.URL, dir)
			if perRegistry {
				u.printf("  %s  roots file: label %s serves the CA and signs nothing (%s); one label per registry:", templates.SignerINI, cfg.Label, templates.SignerClosedPolicy)
				for _, r := range cfg.Registries {
					u.printf("      %s  %s", ca.RegistryLabel(cfg.Label, r), r)
				}
				if len(cfg.Registries) == 0 {
					u.warnf("no registry has an issuing CA yet, so the signer signs for none: add --registry HOST[:PORT]")
				}
			} else {
				u.printf("  %s  roots file: label %s, the CA key %s", templates.SignerINI, cfg.Label, filepath.Join(home.CADir(h), ca.KeyFile))
			}
			u.printf("  %s     certkit's profiles server, server-rsa and client, each requiring the auth key", templates.SignerPolicy)
			u.printf("  %s         the auth key (0600): give it to each client machine over a channel you trust", templates.SignerAuthKey)
			u.printf("  %s + %s  the signer's TLS pair, for %s, valid until %s", templates.SignerTLSCert, templates.SignerTLSKey,
				sanText(pair.SANs), expiryText(pair.NotAfter, time.Now()))
			for _, b := range res.Backups {
				u.printf("  backup  %s", b)
			}
			u.printf("Start it with the command above (go install github.com/cloudflare/cfssl/cmd/multirootca@v1.6.5 builds it); it logs every signature.")
			u.printf("Next, on each client machine: certkit init-ca --remote %s --auth-key-file auth.key --label %s --ca-fingerprint %s",
				cfg.URL, cfg.Label, ca.Fingerprint(caCert.Cert))
			return nil
		},
	}
}

func sanText(sans []issue.SAN) string {
	var out []string
	for _, s := range sans {
		out = append(out, s.String())
	}
	return strings.Join(out, ", ")
}

// makeIssuers makes the issuing CA of each registry that has none, in a
// per-registry home (template multirootca --registry).
func makeIssuers(h string, registries []string) error {
	if len(registries) == 0 {
		return nil
	}
	if !ca.PerRegistry(h) {
		return usageError{errs.Input("--registry names a registry of a per-registry home, and this home has one CA for every registry", "drop --registry: the signer signs for every registry with the CA")}
	}
	root, err := ca.Load(h)
	if err != nil {
		return err
	}
	release, err := home.Lock(h, false)
	if err != nil {
		return err
	}
	defer release(false)
	for _, r := range registries {
		reg, err := host.Parse(r)
		if err != nil {
			return hostHint(err, "certkit template multirootca --registry")
		}
		if _, _, err := ca.Issuer(h, root, reg.String(), time.Now()); err != nil {
			return err
		}
	}
	return nil
}
