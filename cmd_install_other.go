package main

import (
	"github.com/urfave/cli/v2"

	"github.com/certkit/certkit/bundle"
	"github.com/certkit/certkit/ca"
	"github.com/certkit/certkit/host"
	"github.com/certkit/certkit/install"
	"github.com/certkit/certkit/internal/errs"
	"github.com/certkit/certkit/internal/safefs"
	"github.com/certkit/certkit/issue"
)

// installOther is certkit install with material that is not (yet) in the
// certkit home: --from a bundle, which needs no home at all, or --cert, a
// certificate for a pending request of the home, which it takes back next
// to its key before the install.
func installOther(e *env, c *cli.Context) error {
	switch {
	case c.IsSet("from") && c.IsSet("cert"):
		return usageError{errs.Input("--from and --cert are two ways to install: give one", "")}
	case len(c.StringSlice("host")) > 0:
		return usageError{errs.Input("--host is not for --from or --cert: the bundle or the certificate names its registry", "drop --host")}
	case c.IsSet("cert") && c.Bool("dry-run"):
		return usageError{errs.Input("--dry-run does not go with --cert, which first takes the certificate into the certkit home", "drop --dry-run")}
	}
	roots, err := resolveRoots(c)
	if err != nil {
		return err
	}
	if path := c.String("from"); path != "" {
		data, err := safefs.ReadFile(path, safefs.MaxFile)
		if err != nil {
			return errs.Input("cannot read the bundle: "+err.Error(), "")
		}
		b, err := bundle.Parse(data)
		if err != nil {
			return wrapPath(path, err)
		}
		res, err := install.Install(install.Options{
			From: []install.Material{b.Material(path)}, Roots: roots,
			DryRun: c.Bool("dry-run"), Force: c.Bool("force"), Flags: runRootFlags(c),
		})
		if err != nil {
			return sudoHint(err, "")
		}
		return reportInstall(e, c, res, false)
	}

	path := c.String("cert")
	h, err := e.home(c)
	if err != nil {
		return err
	}
	data, err := safefs.ReadFile(path, safefs.MaxFile)
	if err != nil {
		return errs.Input("cannot read the certificate: "+err.Error(), "")
	}
	a, err := issue.Accept(issue.AcceptOptions{Home: h, Cert: data, Source: path})
	if err != nil {
		return err
	}
	res, err := install.Install(install.Options{
		Home: h, Registries: []host.Registry{a.Registry}, Roots: roots, Force: c.Bool("force"), Flags: runRootFlags(c), HomeFlags: homeArg(c),
	})
	if err != nil {
		// The pending request is still there: the run can be made again.
		a.Undo()
		return sudoHint(err, h)
	}
	u := e.ui
	u.printf("Took the certificate for client %q of %s into the certkit home, next to its key:", a.Name, a.Registry)
	u.printf("  certificate  %s", a.CertPath)
	u.printf("  private key  %s (0600)", a.KeyPath)
	if a.CAAdopted {
		u.printf("  CA           %q, SHA-256 %s, from %s (the home had no CA certificate; compare with what certkit sign printed)",
			a.CA.Subject.CommonName, ca.Fingerprint(a.CA), path)
	}
	if err := a.Finish(); err != nil {
		u.warnf("the pending request could not be removed: %v", err)
	}
	return reportInstall(e, c, res, false)
}

// pathError names the file a bundle error is about.
type pathError struct {
	path string
	err  error
}

func (p *pathError) Error() string { return p.path + ": " + p.err.Error() }
func (p *pathError) Unwrap() error { return p.err }

func wrapPath(path string, err error) error { return &pathError{path, err} }
