package main

import (
	"os"
	"path/filepath"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/certkit/certkit/ca"
	"github.com/certkit/certkit/internal/errs"
	"github.com/certkit/certkit/internal/safefs"
	"github.com/certkit/certkit/issue"
)

func initCACommand(e *env) *cli.Command {
	return &cli.Command{
		Name:      "init-ca",
		Usage:     "create the private CA that signs registry certificates",
		UsageText: "certkit init-ca [--cn NAME] [--org ORG] [--key-type TYPE] [--validity 10y] [--force] [--json]\ncertkit init-ca --import-cert ca.crt --import-key ca.key [--import-chain chain.pem]\ncertkit init-ca --remote https://HOST[:PORT] --auth-key-file FILE --ca-fingerprint SHA256 [--label L]",
		Description: `Creates ca.crt (0644) and ca.key (0600) in <home>/ca (0700), in pure Go.

Examples:
  certkit init-ca
  certkit init-ca --key-type rsa-4096 --validity 5y --cn "ACME registry CA"
  certkit init-ca --import-cert old/ca.crt --import-key old/ca.key
  certkit init-ca --import-cert sub.crt --import-key sub.key --import-chain root.crt
  certkit init-ca --remote https://ca.internal:8888 --auth-key-file auth.key --ca-fingerprint AB:CD:…

With --remote (on a client machine) the home keeps no CA key: it fetches the CA
certificate from a multirootca signer (certkit template multirootca on the CA machine),
checks it against --ca-fingerprint, and certkit issue then sends requests to the signer.`,
		Flags: append([]cli.Flag{
			homeFlag(),
			&cli.StringFlag{Name: "cn", Usage: "CA common name (default: certkit CA <machine> <random tag>, unique per CA)"},
			&cli.StringFlag{Name: "org", Usage: "CA organization", Value: "certkit"},
			&cli.StringFlag{Name: "key-type", Usage: "ecdsa-p256, ecdsa-p384, rsa-2048, rsa-3072, rsa-4096 or ed25519", Value: string(ca.ECDSAP256)},
			&cli.StringFlag{Name: "validity", Usage: "how long the CA is valid: days (3650d), years (10y) or hours (87600h)", Value: "10y"},
			perRegistryFlag(true),
			forceFlag("an existing CA"),
			jsonFlag(),
		}, append(importFlags("the CA instead of creating one"), remoteFlags()...)...),
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return usageError{errs.Input("init-ca takes no arguments, got "+c.Args().First(), "")}
			}
			h, err := e.home(c)
			if err != nil {
				return err
			}
			if c.IsSet("remote") {
				return initRemote(e, c, h)
			}
			if c.IsSet("import-cert") || c.IsSet("import-key") || c.IsSet("import-chain") {
				return importCA(e, c, h)
			}
			opt, done, err := newCAOptions(e, c, h)
			if err != nil {
				return err
			}
			opt.Force = c.Bool("force")
			res, err := ca.Create(opt)
			done()
			if err != nil {
				return err
			}
			return reportCA(e, c, "Created a new CA", res)
		},
	}
}

func importCA(e *env, c *cli.Context, h string) error {
	if !c.IsSet("import-cert") || !c.IsSet("import-key") {
		return errs.Input("--import-cert and --import-key go together", "certkit init-ca --import-cert ca.crt --import-key ca.key")
	}
	for _, f := range []string{"cn", "key-type", "validity"} {
		if c.IsSet(f) {
			return errs.Input("--"+f+" cannot be used with --import-cert", "an imported CA keeps its own name, key and validity")
		}
	}
	certPEM, keyPEM, chainPEM, err := readImportFiles(c)
	if err != nil {
		return err
	}
	res, err := ca.Import(certPEM, keyPEM, ca.ImportOptions{Home: h, Force: c.Bool("force"), Chain: chainPEM, LeafValidity: issue.DefaultValidity,
		PerRegistry: c.Bool("per-registry"), RequirePerRegistry: c.IsSet("per-registry") && c.Bool("per-registry")})
	if err != nil {
		return err
	}
	for _, w := range res.Warnings {
		e.ui.warnf("%s", w)
	}
	if !res.PerRegistry && c.Bool("per-registry") && !c.Bool("json") {
		e.ui.hintf("the imported CA's path length is 0: it signs every registry's certificates itself, so a client certificate of one registry opens the others (README: Per-registry access)")
	}
	return reportCA(e, c, "Imported the CA", res)
}

type caReport struct {
	CN       string    `json:"cn"`
	KeyType  string    `json:"key_type"`
	Cert     string    `json:"cert"`
	Key      string    `json:"key"`
	SHA256   string    `json:"sha256"`
	NotAfter time.Time `json:"not_after"`
	Backups  []string  `json:"backups,omitempty"`
	// PerRegistry: each registry gets its own issuing CA.
	PerRegistry bool `json:"per_registry"`
	// Root names the root of an imported intermediate CA (ca/chain.crt).
	Root     string   `json:"root,omitempty"`
	Warnings []string `json:"warnings,omitempty"`
}

func reportCA(e *env, c *cli.Context, verb string, res *ca.Result) error {
	cert := res.CA.Cert
	r := caReport{
		CN: cert.Subject.CommonName, KeyType: string(ca.KeyTypeOf(cert.PublicKey)),
		Cert: res.CA.CertPath(), Key: res.CA.KeyPath(), SHA256: ca.Fingerprint(cert),
		NotAfter: cert.NotAfter.UTC(), Backups: res.Backups, PerRegistry: res.PerRegistry, Warnings: res.Warnings,
	}
	if res.CA.Anchor != nil {
		r.Root = res.CA.Anchor.Subject.CommonName
	}
	if c.Bool("json") {
		return e.printJSON(r)
	}
	u := e.ui
	u.printf("%s %q (%s).", verb, r.CN, r.KeyType)
	u.printf("  certificate  %s", r.Cert)
	u.printf("  private key  %s (0600: keep it secret, never copy it into certs.d)", r.Key)
	u.printf("  SHA-256      %s", r.SHA256)
	u.printf("  expires      %s", expiryText(r.NotAfter, time.Now()))
	if r.Root != "" {
		u.printf("  chain        %s (up to the root %q, which the certs.d folders trust)", filepath.Join(res.CA.Dir, ca.ChainFile), r.Root)
	}
	if res.PerRegistry {
		u.printf("  registries   each gets its own issuing CA under this one, on its first certificate (%s)", filepath.Join(res.CA.Dir, ca.RegistriesDir))
	}
	for _, b := range r.Backups {
		u.printf("  backup       %s", b)
	}
	u.printf("Next: certkit issue server --host reg.example.com:5000%s", homeArg(c))
	return nil
}

// newCAOptions turns the flags init-ca and rotate-ca share (--cn, --org,
// --key-type, --validity) into the options of a new CA, and starts the
// progress line of a slow key; done ends it.
func newCAOptions(e *env, c *cli.Context, h string) (opt ca.Options, done func(), err error) {
	kt, err := ca.ParseKeyType(c.String("key-type"))
	if err != nil {
		return opt, nil, err
	}
	validity, err := ca.ParseValidity(c.String("validity"))
	if err != nil {
		return opt, nil, err
	}
	machine, _ := os.Hostname()
	done = func() {}
	if kt.Slow() {
		done = e.ui.progress("generating a " + string(kt) + " key")
	}
	perRegistry := c.Bool("per-registry")
	if c.Command.Name == "rotate-ca" && !c.IsSet("per-registry") {
		perRegistry = ca.PerRegistry(h) // a rotation keeps the home's way
	}
	return ca.Options{Home: h, CN: c.String("cn"), Org: c.String("org"), KeyType: kt, Validity: validity, Machine: machine, PerRegistry: perRegistry}, done, nil
}

// perRegistryFlag is --per-registry of init-ca (on by default) and
// rotate-ca (the home's way by default).
func perRegistryFlag(on bool) cli.Flag {
	usage := "give each registry its own issuing CA under this one (=false: this CA signs for every registry)"
	if !on {
		usage = "move the home to an issuing CA per registry (default: keep the home's way)"
	}
	return &cli.BoolFlag{Name: "per-registry", Usage: usage, Value: on}
}

// readImportFiles reads --import-cert, --import-key and --import-chain
// (init-ca and rotate-ca), bounded.
func readImportFiles(c *cli.Context) (certPEM, keyPEM, chainPEM []byte, err error) {
	if certPEM, err = safefs.ReadFile(c.String("import-cert"), 0); err != nil {
		return nil, nil, nil, errs.Input("cannot read --import-cert: "+err.Error(), "")
	}
	if keyPEM, err = safefs.ReadFile(c.String("import-key"), 0); err != nil {
		return nil, nil, nil, errs.Input("cannot read --import-key: "+err.Error(), "")
	}
	if c.IsSet("import-chain") {
		if chainPEM, err = safefs.ReadFile(c.String("import-chain"), 0); err != nil {
			return nil, nil, nil, errs.Input("cannot read --import-chain: "+err.Error(), "")
		}
	}
	return certPEM, keyPEM, chainPEM, nil
}

// importFlags are init-ca's and rotate-ca's flags for an existing CA.
func importFlags(what string) []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "import-cert", Usage: "adopt this existing CA certificate (PEM) as " + what},
		&cli.StringFlag{Name: "import-key", Usage: "the private key of --import-cert (PEM, not encrypted)"},
		&cli.StringFlag{Name: "import-chain", Usage: "for an intermediate --import-cert: the CA certificates above it, the root included (PEM)"},
	}
}
