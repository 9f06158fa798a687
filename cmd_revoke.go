package main

import (
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/certkit/certkit/ca"
	"github.com/certkit/certkit/host"
	"github.com/certkit/certkit/install"
	"github.com/certkit/certkit/internal/errs"
	"github.com/certkit/certkit/internal/shellquote"
	"github.com/certkit/certkit/issue"
	"github.com/certkit/certkit/verify"
)

func revokeCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:      "revoke",
		Usage:     "revoke a client certificate: its serial goes into the CA's CRL, the pair leaves the home and this machine's certs roots",
		UsageText: "certkit revoke --host HOST[:PORT] --name NAME [--reason R] [--crl-validity DUR]",
		Description: `Puts the serial of the client certificate NAME of the registry into the
CRL of the CA that issued it (ca/ca.crl in the certkit home, and
ca/client-cas.crl, the file certkit's nginx and Apache templates name),
keeps the certificate under revoked/<registry>/ for the record, deletes its
private key, and takes the pair out of every certs root of this machine
where certkit installed it.

nginx and Apache read the CRL at start and reload: reload them after a
revocation. distribution (docker-registry, registry:2) checks no CRL: a
registry it serves directly keeps accepting the certificate until it
expires; revoke says what to do about that.

Examples:
  certkit revoke --host reg.example.com:5000 --name laptop
  certkit revoke --host reg.example.com:5000 --name laptop --reason key-compromise
  sudo certkit revoke --host reg.example.com:5000 --name ci     # system certs roots too`,
		Flags: []cli.Flag{
			homeFlag(),
			&cli.StringFlag{Name: "host", Usage: "the registry, as in image references: HOST[:PORT] (required)"},
			&cli.StringFlag{Name: "name", Usage: "the client certificate's name (required)"},
			&cli.StringFlag{Name: "reason", Usage: "why: " + strings.Join(ca.ReasonNames(), ", ") + " (default unspecified)"},
			crlValidityFlag(),
			targetFlag(),
			certsDirFlag(),
			jsonFlag(),
		},
		Action: func(c *cli.Context) error { return runRevoke(e, c) },
	}
}

func crlValidityFlag() cli.Flag {
	return &cli.StringFlag{Name: "crl-validity", Usage: "how long the CRL is good for: its nextUpdate, e.g. 30d, 7d (default 30d)"}
}

func parseCRLValidity(c *cli.Context) (time.Duration, error) {
	s := c.String("crl-validity")
	if s == "" {
		return ca.DefaultCRLValidity, nil
	}
	d, err := ca.ParseValidity(s)
	if err != nil || d < time.Hour {
		return 0, errs.Input(fmt.Sprintf("--crl-validity %q is not a duration of an hour or more", s), "use days, weeks or hours, e.g. --crl-validity 30d, 1w or 36h")
	}
	return d, nil
}

type revokeReport struct {
	*issue.Revocation
	Uninstalled []install.FolderResult `json:"uninstalled,omitempty"`
	// Distribution is what a registry that distribution serves directly
	// does with the certificate, and the two fixes.
	Distribution []string `json:"distribution"`
	Next         []string `json:"next"`
}

func runRevoke(e *env, c *cli.Context) error {
	if c.Args().Present() {
		return usageError{errs.Input("revoke takes no arguments, got "+c.Args().First(), "certkit revoke --host HOST[:PORT] --name NAME")}
	}
	if c.String("host") == "" || c.String("name") == "" {
		return usageError{errs.Input("revoke needs --host and --name", "certkit revoke --host reg.example.com:5000 --name laptop")}
	}
	reg, err := host.Parse(c.String("host"))
	if err != nil {
		return hostHint(err, "certkit revoke")
	}
	reason, err := ca.ParseReason(c.String("reason"))
	if err != nil {
		return err
	}
	validity, err := parseCRLValidity(c)
	if err != nil {
		return err
	}
	roots, err := statusRoots(c)
	if err != nil {
		return err
	}
	h, err := e.home(c)
	if err != nil {
		return err
	}
	rev, err := issue.Revoke(issue.RevokeOptions{Home: h, Registry: reg, Name: c.String("name"), Reason: reason, CRLValidity: validity})
	if err != nil {
		return err
	}
	out := revokeReport{Revocation: rev}
	out.Distribution = distributionWarning(c, rev)
	out.Next = []string{
		fmt.Sprintf("reload nginx or Apache in front of %s, which read the CRL only at start: nginx -s reload, or apache2ctl graceful", reg),
		fmt.Sprintf("sign the CRL again before %s, or every client is refused then: certkit crl%s (a daily timer)", rev.NextUpdate.Format(time.DateOnly), homeArg(c)),
	}
	folders, uerr := uninstallRevoked(c, h, rev, roots)
	out.Uninstalled = folders
	if c.Bool("json") {
		if err := e.printJSON(out); err != nil {
			return err
		}
	} else {
		printRevoke(e, out)
	}
	if uerr != nil {
		// revoke cannot be run again (the pair is gone from the home):
		// the fix is the install that takes the pair out.
		fix := install.Command(rev.Registry.String(), true, runRootFlags(c))
		if len(rev.Remaining) == 0 {
			fix = "certkit uninstall --host " + shellquote.Quote(rev.Registry.String()) + runRootFlags(c)
		}
		var pe *install.PermissionError
		if errors.As(uerr, &pe) && pe.System && os.Geteuid() != 0 {
			fix = "sudo " + fix
		}
		return errs.WithHint(fmt.Errorf("the certificate is revoked, but taking it out of the certs roots failed: %w", uerr),
			"the revocation stands; take the pair out with: "+fix)
	}
	return nil
}

// uninstallRevoked takes the revoked pair out of every certs root where
// certkit installed it: the folder is installed again from the home,
// which no longer has the pair (install --force removes certkit's files
// the home lost), or uninstalled when the pair was the registry's last.
func uninstallRevoked(c *cli.Context, h string, rev *issue.Revocation, roots []install.Root) ([]install.FolderResult, error) {
	var out []install.FolderResult
	for _, root := range roots {
		dir := root.Folder(rev.Registry)
		if !install.CertkitFolder(dir, rev.Registry) {
			continue
		}
		if _, err := os.Lstat(filepath.Join(dir, rev.Name+install.CertExt)); errors.Is(err, fs.ErrNotExist) {
			continue
		}
		var res *install.Result
		var err error
		if len(rev.Remaining) > 0 {
			res, err = install.Install(install.Options{Home: h, Registries: []host.Registry{rev.Registry}, Roots: []install.Root{root}, Force: true,
				Flags: rootFlagsFor(root, c)})
		} else {
			res, err = install.Uninstall(install.UninstallOptions{Registries: []host.Registry{rev.Registry}, Roots: []install.Root{root},
				Flags: rootFlagsFor(root, c)})
		}
		if res != nil {
			out = append(out, res.Folders...)
		}
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

// distributionWarning says, in plain words, what distribution does with a
// revoked certificate, and the two fixes with their commands.
func distributionWarning(c *cli.Context, rev *issue.Revocation) []string {
	hq := shellquote.Quote(rev.Registry.String())
	ha := homeArg(c)
	return []string{
		fmt.Sprintf("a registry that docker-registry (distribution, registry:2) serves directly on %s keeps accepting the revoked certificate %q until it expires on %s: distribution checks no CRL",
			rev.Registry, rev.Name, rev.NotAfter.Format(time.DateOnly)),
		fmt.Sprintf("fix 1, nginx in front, which checks the CRL: certkit template registry%s --host %s --behind-proxy --out config.yml && certkit template nginx%s --host %s --out /etc/nginx/conf.d/registry.conf, then restart the registry and nginx -s reload",
			ha, hq, ha, hq),
		fmt.Sprintf("fix 2, a new CA, which the registry then trusts alone: certkit rotate-ca%s, certkit renew --install%s, restart the registry, then certkit rotate-ca --finish%s, certkit install --force --host %s and restart it again",
			ha, ha, ha, hq),
	}
}

func printRevoke(e *env, r revokeReport) {
	u := e.ui
	reason := ""
	if r.Reason != ca.Unspecified.String() {
		reason = ", reason " + r.Reason
	}
	u.printf("Revoked client certificate %q of %s (serial %s%s).", r.Name, r.Registry, r.Serial, reason)
	u.printf("  CRL          %s (number %s, next update %s)", r.CRL, r.CRLNumber, r.NextUpdate.Format(time.DateOnly))
	u.printf("  record       %s", r.Record)
	u.printf("  private key  %s deleted", r.KeyDeleted)
	for _, f := range r.Uninstalled {
		if f.Changed {
			u.printf("Took %s out of %s", r.Name, f.Dir)
		}
	}
	for i, w := range r.Distribution {
		if i == 0 {
			u.warnf("%s", w)
		} else {
			u.hintf("%s", w)
		}
	}
	for _, n := range r.Next {
		u.printf("Next: %s", n)
	}
}

// homeRevoked finds revoked certificates by the certkit home's CRLs, for
// verify; nil without a home or a CRL it can read.
func homeRevoked(e *env, c *cli.Context) verify.RevokedFunc {
	h, err := e.home(c)
	if err != nil {
		return nil
	}
	lists, err := ca.ReadLists(h)
	if err != nil || len(lists) == 0 {
		return nil
	}
	return func(x *x509.Certificate) (time.Time, bool) { return ca.RevokedAt(lists, x) }
}
