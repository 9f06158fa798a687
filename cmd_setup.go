package main

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/certkit/certkit/ca"
	"github.com/certkit/certkit/host"
	"github.com/certkit/certkit/install"
	"github.com/certkit/certkit/internal/errs"
	"github.com/certkit/certkit/internal/home"
	"github.com/certkit/certkit/internal/shellquote"
	"github.com/certkit/certkit/issue"
	"github.com/certkit/certkit/verify"
	"github.com/certkit/certkit/wizard"
)

func setupCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:      "setup",
		Usage:     "set up a registry's certificates, with questions",
		UsageText: "certkit setup [--host H] [--role client|server|both] [options]\ncertkit setup --yes --host H [--role R] [--name N]... [--target T]...",
		Description: `Asks which registry, what this machine does with it, which CA, key type,
validity, client names and runtimes; shows every file it will write; then
makes the CA and certificates and installs them, as the single commands do.
Flags answer their question in advance. With --yes nothing is asked: what is
not given takes its default (role client, name client, target docker).

Examples:
  certkit setup
  certkit setup --host reg.example.com:5000
  certkit setup --yes --host reg.example.com:5000 --role both \
      --name ci-runner --target docker
  certkit setup --yes --host reg.example.com:5000 --certs-dir ./certs.d`,
		// Flag help on two lines, so that it fits an 80-column terminal.
		CustomHelpTemplate: narrowHelpTemplate,
		Flags: []cli.Flag{
			homeFlag(),
			&cli.StringFlag{Name: "host", Usage: "the registry as in image references: HOST or HOST:PORT"},
			&cli.StringFlag{Name: "role", Usage: "client (this machine pulls), server (it runs the registry) or both"},
			&cli.BoolFlag{Name: "new-ca", Usage: "create a new CA even if one exists (the old pair is kept as a backup)"},
			&cli.BoolFlag{Name: "create-ca", Usage: "make a CA here if none (a client gets its certificate elsewhere)"},
			&cli.StringFlag{Name: "key-type", Usage: "ecdsa-p256 (default), ecdsa-p384, rsa-2048, rsa-3072, rsa-4096, ed25519"},
			&cli.StringFlag{Name: "validity", Usage: "validity of the certificates: 825d (default), 2y, 8760h"},
			&cli.StringSliceFlag{Name: "name", Usage: "client certificate name (repeatable; default client)"},
			targetFlag(),
			certsDirFlag(),
			&cli.BoolFlag{Name: "force", Usage: "issue existing certificates again (the old files are kept as backups)"},
			&cli.BoolFlag{Name: "yes", Aliases: []string{"y"}, Usage: "ask nothing: take the flags, and defaults for the rest"},
			&cli.BoolFlag{Name: "verify", Usage: "with --yes: run certkit verify at the end"},
		},
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return usageError{errs.Input("setup takes no arguments, got "+c.Args().First(), "name the registry with --host")}
			}
			return runSetup(e, c)
		},
	}
}

func runSetup(e *env, c *cli.Context) error {
	h, err := e.home(c)
	if err != nil {
		return err
	}
	p, given, err := setupPlanFromFlags(c, h)
	if err != nil {
		return err
	}
	rootEnv := processEnv()
	// A CA that is there but cannot be used (a client machine's home holds
	// ca.crt without ca.key) is said before any question, not after the
	// confirmation.
	cur, err := ca.Load(h)
	var notFound *ca.NotFoundError
	switch {
	case err == nil, p.NewCA:
	case errors.As(err, &notFound):
		cur = nil
	case remoteHome(h) != nil:
		// A client machine with a remote signer: issue goes through it.
		cur, err = &ca.CA{Cert: remoteHome(h)}, nil
	default:
		return errs.WithHint(fmt.Errorf("the CA in %s cannot be used: %w", home.CADir(h), err),
			"setup signs certificates and needs the CA's key: run it where the CA was made, or pass --new-ca to replace this CA")
	}
	interactive := !c.Bool("yes")
	var pr wizard.Prompter
	if interactive {
		in, inOK := e.stdin.(*os.File)
		out, outOK := e.ui.w.(*os.File)
		if !inOK || !outOK || !terminal(in) || !terminal(out) {
			return usageError{errs.Input("certkit setup asks questions and needs a terminal",
				"run it without questions: certkit setup --yes --host reg.example.com:5000 [--role client|server|both] [--name N] [--target T]")}
		}
		pr = wizard.NewSurveyPrompter(wizard.Terminal{In: in, Out: out, Err: out}, os.Getenv("NO_COLOR") != "")
		known := wizard.Known{Env: rootEnv}
		if cur != nil {
			known.CA = cur.Cert
		}
		if p.CertsDir == "" {
			hd, _ := os.UserHomeDir()
			known.Detected = wizard.Detect(wizard.Probe{LookPath: lookPath, Stat: os.Stat, Getenv: os.Getenv, HomeDir: hd})
		}
		if p, err = wizard.Ask(pr, e.ui.w, p, given, known); err != nil {
			return err
		}
	} else {
		if !given.Registry {
			return errs.Input("--yes needs --host", "certkit setup --yes --host reg.example.com:5000")
		}
		for _, msg := range issue.Warnings(p.Registry) {
			e.ui.warnf("%s", msg)
		}
		p.Defaults()
	}
	if err := p.Validate(); err != nil {
		return err
	}
	steps, err := p.Preview(rootEnv)
	if err != nil {
		return err
	}
	if interactive {
		ok, err := wizard.Confirm(pr, e.ui.w, p, steps)
		if err != nil {
			return err
		}
		if !ok {
			return wizard.ErrCancelled
		}
	}
	done := func() {}
	if p.KeyType.Slow() {
		done = e.ui.progress("generating " + string(p.KeyType) + " keys")
	}
	out, err := wizard.Run(p, rootEnv, nil)
	done()
	if err != nil {
		return sudoHint(err, h)
	}
	reportSetup(e, p, out, true)

	runVerify := c.Bool("verify")
	var verifyErr error
	switch {
	case out.Server != nil && out.Install != nil:
		// A server certificate issued just now: the registry serves its
		// old one, or none, until it is started with it, and verify now
		// would fail for nothing.
		if runVerify {
			e.ui.warnf("not running verify: the registry must first be (re)started with its new server certificate")
		}
		runVerify = false
		e.ui.printf("Next, once the registry runs with %s: %s", shellquote.Quote(out.Config), verifyCommandFor(p))
	case interactive && p.Role != wizard.Server:
		// Everything is written by now: a Ctrl-C here skips the check but
		// still shows the commands below.
		runVerify, verifyErr = pr.Confirm("Run certkit verify now (the registry must be up)?", "", true)
		if verifyErr != nil && !errors.Is(verifyErr, wizard.ErrInterrupted) {
			return verifyErr
		}
	}
	if runVerify && out.Install != nil {
		verifyErr = setupVerify(e, p, out.Install)
	}
	e.ui.printf("")
	e.ui.printf("To do the same without questions:")
	e.ui.printf("  %s", p.SetupCommand())
	e.ui.printf("or step by step, on a fresh certkit home:")
	for _, cmd := range p.Commands() {
		e.ui.printf("  %s", cmd)
	}
	return verifyErr
}

// setupPlanFromFlags turns setup's flags into the plan's given answers.
func setupPlanFromFlags(c *cli.Context, h string) (wizard.Plan, wizard.Given, error) {
	p := wizard.Plan{Home: h, CertsDir: c.String("certs-dir"), NewCA: c.Bool("new-ca"), CreateCA: c.Bool("create-ca"), Force: c.Bool("force")}
	for _, cc := range c.Lineage() {
		if cc.String("home") != "" {
			p.HomeFlag = true // the printed commands must name it too
		}
	}
	g := wizard.Given{NewCA: c.IsSet("new-ca"), CreateCA: c.IsSet("create-ca"), Force: c.IsSet("force")}
	var err error
	if c.IsSet("host") {
		if p.Registry, err = host.Parse(c.String("host")); err != nil {
			return p, g, hostHint(err, "certkit setup")
		}
		g.Registry = true
	}
	if c.IsSet("role") {
		if p.Role, err = wizard.ParseRole(c.String("role")); err != nil {
			return p, g, err
		}
		g.Role = true
	}
	if c.IsSet("key-type") {
		if p.KeyType, err = ca.ParseKeyType(c.String("key-type")); err != nil {
			return p, g, err
		}
		g.KeyType = true
	}
	if c.IsSet("validity") {
		if p.Validity, err = ca.ParseValidity(c.String("validity")); err != nil {
			return p, g, err
		}
		g.Validity = true
	}
	if names := c.StringSlice("name"); len(names) > 0 {
		for _, n := range names {
			if err := issue.ValidateName(n); err != nil {
				return p, g, err
			}
		}
		p.Names, g.Names = names, true
	}
	for _, s := range c.StringSlice("target") {
		ts, err := install.ParseTarget(s)
		if err != nil {
			return p, g, err
		}
		p.Targets = append(p.Targets, ts...)
		g.Targets = true
	}
	if p.CertsDir != "" {
		if p.CertsDir, err = filepath.Abs(p.CertsDir); err != nil {
			return p, g, err
		}
		if len(p.Targets) == 0 {
			p.Targets = []install.Target{install.Docker}
		}
		g.Targets = true
	}
	if p.Role == wizard.Server && (g.Names || g.Targets) {
		return p, g, errs.Input("--name, --target and --certs-dir are for client certificates; --role server issues none",
			"use --role both to issue both")
	}
	return p, g, nil
}

// reportSetup says what setup made; next adds the command to run after.
func reportSetup(e *env, p wizard.Plan, out *wizard.Outcome, next bool) {
	u := e.ui
	if out.CACreated {
		u.printf("Created the CA %s.", wizard.CASummary(out.CA.Cert))
	} else {
		u.printf("Reused the CA %s.", wizard.CASummary(out.CA.Cert))
	}
	for _, k := range out.Kept {
		u.printf("Kept the %s certificate %q: %s (valid, until %s)", k.Kind, k.Name, k.CertPath, expiryText(k.NotAfter, time.Now()))
	}
	for _, r := range []*issue.Result{out.Server, out.Clients} {
		if r == nil {
			continue
		}
		for _, cert := range r.Certs {
			u.printf("Issued the %s certificate %q: %s (until %s)", r.Kind, cert.Name, cert.CertPath, expiryText(r.NotAfter, time.Now()))
		}
		if r.Clamped {
			u.warnf("the validity was cut to the CA's expiry, %s", expiryText(r.CANotAfter, time.Now()))
		}
	}
	if out.Install != nil {
		reportFolderProblems(u, out.Install)
		for _, f := range out.Install.Folders {
			reportFolder(u, f, false, false)
		}
		reportNotes(u, out.Install.Notes())
	}
	if out.Config != "" {
		if out.ConfigKept {
			u.printf("Kept the registry's configuration: %s", out.Config)
		} else {
			u.printf("Wrote the registry's configuration: %s", out.Config)
		}
		if next {
			u.printf("Next, on the registry machine: docker-registry serve %s", shellquote.Quote(out.Config))
		}
	}
}

// verifyCommandFor is the certkit verify command for the plan's registry
// and certs roots (verify reads no certkit home).
func verifyCommandFor(p wizard.Plan) string {
	return "certkit verify --host " + shellquote.Quote(p.Registry.String()) + p.RootFlags()
}

// setupVerify runs certkit verify on every folder setup installed.
func setupVerify(e *env, p wizard.Plan, res *install.Result) error {
	failed := false
	for _, f := range res.Folders {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		r := verify.Verify(ctx, verify.Options{Registry: p.Registry, Dir: f.Dir, Live: verify.LiveOptions{Timeout: 10 * time.Second}})
		cancel()
		printVerify(e.ui, r, false)
		failed = failed || r.Failed()
	}
	if failed {
		return errors.New("verify found problems; see above")
	}
	return nil
}

// lookPath finds a program on PATH.
func lookPath(name string) (string, error) { return exec.LookPath(name) }

// narrowHelpTemplate is urfave/cli's command help with each flag's usage on
// its own line under the flag, for commands whose help must fit 80 columns.
const narrowHelpTemplate = `NAME:
   {{.HelpName}} - {{.Usage}}

USAGE:
   {{wrap .UsageText 3}}

DESCRIPTION:
   {{wrap .Description 3}}

OPTIONS:{{range .VisibleFlags}}
   {{range $i, $n := .Names}}{{if $i}}, {{end}}{{if eq (len $n) 1}}-{{else}}--{{end}}{{$n}}{{end}}{{if .TakesValue}} VALUE{{end}}
         {{.Usage}}{{end}}
`

// remoteHome is the CA certificate of a home whose certificates a remote
// signer makes (certkit init-ca --remote), or nil.
func remoteHome(h string) *x509.Certificate {
	r, err := ca.LoadRemote(h)
	if err != nil {
		return nil
	}
	return r.CA.Cert
}
