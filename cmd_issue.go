package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/certkit/certkit/ca"
	"github.com/certkit/certkit/host"
	"github.com/certkit/certkit/internal/errs"
	"github.com/certkit/certkit/internal/safefs"
	"github.com/certkit/certkit/internal/shellquote"
	"github.com/certkit/certkit/issue"
)

func issueCommand(e *env) *cli.Command {
	usageErr := func(_ *cli.Context, err error, _ bool) error { return usageError{err} }
	return &cli.Command{
		Name:      "issue",
		Usage:     "issue a registry's server certificate or its client certificates",
		UsageText: "certkit issue server --host HOST[:PORT] [options]\ncertkit issue client --host HOST[:PORT] [options]",
		Description: `Signs certificates with the certkit CA (certkit init-ca) into <home>/hosts/<HOST[:PORT]>/.
HOST[:PORT] is the registry exactly as in image references: reg.example.com:5000 and
reg.example.com are different registries.

Examples:
  certkit issue server --host reg.example.com:5000
  certkit issue client --host reg.example.com:5000`,
		Flags:           []cli.Flag{homeFlag()},
		HideHelpCommand: true,
		Subcommands: []*cli.Command{
			issueServerCommand(e),
			issueClientCommand(e),
		},
		OnUsageError: usageErr,
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return usageError{errs.Input(fmt.Sprintf("unknown certificate kind %q", c.Args().First()), "use certkit issue server or certkit issue client")}
			}
			return usageError{errs.Input("name the certificate to issue: server or client", "certkit issue server|client --host HOST[:PORT]")}
		},
	}
}

// issueCommonFlags are the flags server and client share, built per use.
func issueCommonFlags(what string) []cli.Flag {
	return []cli.Flag{
		homeFlag(),
		&cli.StringFlag{Name: "host", Usage: "the registry as in image references: HOST or HOST:PORT (e.g. reg.example.com:5000, 10.0.0.5:5000, [fd00::1]:5000)"},
		&cli.StringFlag{Name: "key-type", Usage: "ecdsa-p256, ecdsa-p384, rsa-2048, rsa-3072, rsa-4096 or ed25519", Value: string(ca.ECDSAP256)},
		&cli.StringFlag{Name: "validity", Usage: "how long the certificate is valid: days (825d), years (2y) or hours; never past the CA's own expiry", Value: "825d"},
		forceFlag(what),
		jsonFlag(),
	}
}

func issueServerCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:      "server",
		Usage:     "issue the certificate the registry presents (server.crt, server-chain.crt, server.key)",
		UsageText: "certkit issue server --host HOST[:PORT] [--san NAME|IP]... [--cn NAME] [--key-type TYPE] [--validity 825d] [--force] [--json]",
		Description: `The certificate names the registry host (its DNS name or IP; localhost also gets
127.0.0.1 and ::1) plus every --san, and may only authenticate a server.
server-chain.crt (certificate + CA) is what the registry's tls.certificate wants.

Examples:
  certkit issue server --host reg.example.com:5000
  certkit issue server --host reg.example.com:5000 --san reg --san 10.0.0.5
  certkit issue server --host 10.0.0.5:5000 --key-type rsa-3072 --validity 1y
  certkit issue server --host reg.example.com:5000 --force`,
		Flags: append(issueCommonFlags("an existing server certificate"),
			&cli.StringSliceFlag{Name: "san", Usage: "one more DNS name or IP address the registry is reached by (repeatable)"},
			&cli.StringFlag{Name: "cn", Usage: "Common Name (default: the registry's host name; clients go by the SANs)"},
		),
		OnUsageError: func(_ *cli.Context, err error, _ bool) error { return usageError{err} },
		Action: func(c *cli.Context) error {
			opt, err := issueOptions(e, c, issue.Server)
			if err != nil {
				return err
			}
			for _, s := range c.StringSlice("san") {
				san, err := issue.ParseSAN(s)
				if err != nil {
					return err
				}
				opt.SANs = append(opt.SANs, san)
			}
			return runIssue(e, c, opt)
		},
	}
}

func issueClientCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:      "client",
		Usage:     "issue client certificates that Docker, podman and containerd send the registry (NAME.cert, NAME.key)",
		UsageText: "certkit issue client --host HOST[:PORT] [--name NAME]... [--names-file FILE] [--cn NAME] [--org ORG] [--key-type TYPE] [--validity 825d] [--force] [--json]",
		Description: `Each NAME gives NAME.cert and NAME.key (the file stem in certs.d, and the Common Name).
Several names are issued in one go, on every core, all or none: for fleets of CI runners.

Examples:
  certkit issue client --host reg.example.com:5000
  certkit issue client --host reg.example.com:5000 --name laptop --org "ACME dev"
  certkit issue client --host reg.example.com:5000 --name runner1 --name runner2
  certkit issue client --host reg.example.com:5000 --names-file runners.txt`,
		Flags: append(issueCommonFlags("existing client certificates"),
			&cli.StringSliceFlag{Name: "name", Usage: "client name: file stem and Common Name (repeatable; default client)"},
			&cli.StringFlag{Name: "names-file", Usage: "read client names from FILE, one per line (# comments; - for stdin)"},
			&cli.StringFlag{Name: "cn", Usage: "Common Name, for a single name (default: the name)"},
			&cli.StringFlag{Name: "org", Usage: "Organization (default: none)"},
		),
		OnUsageError: func(_ *cli.Context, err error, _ bool) error { return usageError{err} },
		Action: func(c *cli.Context) error {
			opt, err := issueOptions(e, c, issue.Client)
			if err != nil {
				return err
			}
			opt.Org = c.String("org")
			opt.Names = c.StringSlice("name")
			if f := c.String("names-file"); f != "" {
				names, err := readNamesFile(e, f)
				if err != nil {
					return err
				}
				if len(names) == 0 && len(opt.Names) == 0 {
					return errs.Input("--names-file "+f+" lists no names", "put one client name per line")
				}
				opt.Names = append(opt.Names, names...)
			}
			return runIssue(e, c, opt)
		},
	}
}

// issueOptions reads the flags server and client share. The registry name
// goes through host.Parse, the one parser of registry names.
func issueOptions(e *env, c *cli.Context, kind issue.Kind) (issue.Options, error) {
	if c.Args().Present() {
		return issue.Options{}, usageError{errs.Input(fmt.Sprintf("certkit issue %s takes no arguments, got %q", kind, c.Args().First()), "give the registry with --host")}
	}
	if !c.IsSet("host") {
		return issue.Options{}, errs.Input("--host is required", fmt.Sprintf("name the registry as in image references: certkit issue %s --host reg.example.com:5000", kind))
	}
	reg, err := host.Parse(c.String("host"))
	if err != nil {
		return issue.Options{}, hostHint(err, "certkit issue "+string(kind))
	}
	kt, err := ca.ParseKeyType(c.String("key-type"))
	if err != nil {
		return issue.Options{}, err
	}
	validity, err := ca.ParseValidity(c.String("validity"))
	if err != nil {
		return issue.Options{}, err
	}
	h, err := e.home(c)
	if err != nil {
		return issue.Options{}, err
	}
	return issue.Options{
		Home: h, Registry: reg, Kind: kind, CN: c.String("cn"),
		KeyType: kt, Validity: validity, Force: c.Bool("force"),
	}, nil
}

// hostHint turns host.Parse's fix, which ends in the corrected registry
// name when there is one, into the whole corrected command.
func hostHint(err error, command string) error {
	fix := errs.HintOf(err)
	i := strings.LastIndex(fix, ": ")
	if i < 0 {
		return err
	}
	if _, perr := host.Parse(fix[i+2:]); perr != nil {
		return err
	}
	return errs.WithHint(err, fix[:i]+": "+command+" --host "+shellquote.Quote(fix[i+2:]))
}

// maxNamesFile bounds --names-file: a hundred thousand names fit.
const maxNamesFile = 16 << 20

func readNamesFile(e *env, path string) ([]string, error) {
	var data []byte
	var err error
	if path == "-" {
		data, err = safefs.ReadLimited(e.stdin, "standard input", maxNamesFile)
	} else {
		data, err = safefs.ReadFile(path, maxNamesFile)
	}
	if err != nil {
		return nil, errs.Input("cannot read --names-file: "+err.Error(), "")
	}
	names, err := issue.ParseNames(data)
	if err != nil {
		return nil, fmt.Errorf("--names-file %s: %w", path, err)
	}
	return names, nil
}

func runIssue(e *env, c *cli.Context, opt issue.Options) error {
	n := max(len(opt.Names), 1)
	done := func() {}
	if opt.KeyType.Slow() || n >= 100 {
		what := "a " + string(opt.KeyType) + " certificate"
		if n > 1 {
			what = fmt.Sprintf("%d %s certificates", n, opt.KeyType)
		}
		done = e.ui.progress("issuing " + what)
	}
	res, err := issue.Issue(opt)
	done()
	if err != nil {
		return err
	}
	return reportIssue(e, c, res)
}

type issueReport struct {
	Host         string       `json:"host"`
	Kind         string       `json:"kind"`
	KeyType      string       `json:"key_type"`
	Dir          string       `json:"dir"`
	NotAfter     time.Time    `json:"not_after"`
	Clamped      bool         `json:"clamped"`
	SANs         []string     `json:"sans,omitempty"`
	Certificates []certReport `json:"certificates"`
	Backups      []string     `json:"backups,omitempty"`
	Warnings     []string     `json:"warnings,omitempty"`
}

type certReport struct {
	Name   string `json:"name"`
	CN     string `json:"cn,omitempty"`
	Cert   string `json:"cert"`
	Key    string `json:"key"`
	Chain  string `json:"chain,omitempty"`
	SHA256 string `json:"sha256"`
}

// clientListMax bounds the client names listed one per line; a fleet of a
// thousand runners gets a count instead.
const clientListMax = 10

func reportIssue(e *env, c *cli.Context, res *issue.Result) error {
	r := issueReport{
		Host: res.Registry.String(), Kind: string(res.Kind), KeyType: string(res.KeyType),
		Dir: res.Dir, NotAfter: res.NotAfter, Clamped: res.Clamped, Backups: res.Backups,
	}
	for _, s := range res.SANs {
		r.SANs = append(r.SANs, s.String())
	}
	for _, ct := range res.Certs {
		r.Certificates = append(r.Certificates, certReport{
			Name: ct.Name, CN: ct.CN, Cert: ct.CertPath, Key: ct.KeyPath, Chain: ct.ChainPath, SHA256: ct.SHA256,
		})
	}
	now := time.Now()
	until := expiryText(res.NotAfter, now)
	if res.Clamped {
		r.Warnings = append(r.Warnings, fmt.Sprintf("the CA expires on %s, so the certificates end then, not after %s; plan a new CA before that",
			expiryText(res.CANotAfter, now), describeDuration(res.Requested)))
	}
	r.Warnings = append(r.Warnings, issue.Warnings(res.Registry)...)
	u := e.ui
	for _, w := range r.Warnings {
		u.warnf("%s", w)
	}
	if c.Bool("json") {
		return e.printJSON(r)
	}
	hostArg := shellquote.Quote(r.Host)
	if res.Kind == issue.Server {
		ct := r.Certificates[0]
		u.printf("Issued a server certificate for %s (%s), valid until %s.", r.Host, r.KeyType, until)
		u.printf("  names        %s", strings.Join(r.SANs, ", "))
		u.printf("  certificate  %s", ct.Cert)
		u.printf("  chain        %s (certificate + CA, for the registry's tls.certificate)", ct.Chain)
		u.printf("  private key  %s (0600: it stays on the registry machine, never in certs.d)", ct.Key)
		u.printf("  SHA-256      %s", ct.SHA256)
		printBackups(u, r.Backups)
		u.printf("Next: certkit template registry --host %s%s", hostArg, homeArg(c))
		return nil
	}
	if len(r.Certificates) == 1 {
		ct := r.Certificates[0]
		u.printf("Issued client certificate %q for %s (%s), valid until %s.", ct.Name, r.Host, r.KeyType, until)
		u.printf("  certificate  %s", ct.Cert)
		u.printf("  private key  %s (0600)", ct.Key)
		u.printf("  SHA-256      %s", ct.SHA256)
	} else {
		u.printf("Issued %d client certificates for %s (%s), valid until %s, in %s:", len(r.Certificates), r.Host, r.KeyType, until, r.Dir)
		for i, ct := range r.Certificates {
			if i == clientListMax && len(r.Certificates) > clientListMax+1 {
				u.printf("  … and %d more", len(r.Certificates)-i)
				break
			}
			u.printf("  %s.cert + %s.key", ct.Name, ct.Name)
		}
	}
	printBackups(u, r.Backups)
	u.printf("Next: certkit install --host %s%s", hostArg, homeArg(c))
	return nil
}

func printBackups(u *ui, backups []string) {
	for i, b := range backups {
		if i == clientListMax && len(backups) > clientListMax+1 {
			u.printf("  … and %d more backups in %s", len(backups)-i, filepath.Dir(b))
			return
		}
		u.printf("  backup       %s", b)
	}
}

// describeDuration writes a validity as days when it is whole days.
func describeDuration(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%d days", d/(24*time.Hour))
	}
	return d.String()
}
