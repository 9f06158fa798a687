package main

import (
	"time"

	"github.com/urfave/cli/v2"

	"github.com/certkit/certkit/ca"
	"github.com/certkit/certkit/internal/errs"
)

func crlCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:      "crl",
		Usage:     "sign the CA's certificate revocation list again, with a fresh nextUpdate (for a timer)",
		UsageText: "certkit crl [--crl-validity DUR] [--rebuild] [--json]",
		Description: `Signs the CRL of the certkit CA again (and, during a CA rotation, the
previous CA's): the same revoked serials, the next CRL number, a new
nextUpdate. nginx and Apache refuse every client once the CRL they read is
past its nextUpdate, so run this well before then, from a daily timer, and
reload them after it. A home without a CRL gets an empty one.

A CRL that cannot be read is refused, since its entries would be lost;
--rebuild makes it again from the revoked certificates kept under
revoked/ in the certkit home (with today as their revocation date).

Examples:
  certkit crl
  certkit crl --crl-validity 7d && nginx -s reload
  certkit crl --rebuild`,
		Flags: []cli.Flag{
			homeFlag(),
			crlValidityFlag(),
			&cli.BoolFlag{Name: "rebuild", Usage: "make the CRL again from the records under revoked/ when it cannot be read"},
			jsonFlag(),
		},
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return usageError{errs.Input("crl takes no arguments, got "+c.Args().First(), "certkit crl [--crl-validity DUR]")}
			}
			validity, err := parseCRLValidity(c)
			if err != nil {
				return err
			}
			h, err := e.home(c)
			if err != nil {
				return err
			}
			res, err := ca.RefreshCRL(ca.CRLOptions{Home: h, Validity: validity, Rebuild: c.Bool("rebuild")})
			if err != nil {
				return err
			}
			type crlOut struct {
				Path       string    `json:"path"`
				Issuer     string    `json:"issuer"`
				Number     string    `json:"number"`
				ThisUpdate time.Time `json:"this_update"`
				NextUpdate time.Time `json:"next_update"`
				Revoked    int       `json:"revoked"`
			}
			var out []crlOut
			for _, l := range res.CRLs {
				out = append(out, crlOut{Path: l.Path, Issuer: l.List.Issuer.CommonName, Number: l.List.Number.String(),
					ThisUpdate: l.List.ThisUpdate.UTC(), NextUpdate: l.List.NextUpdate.UTC(), Revoked: len(l.List.RevokedCertificateEntries)})
			}
			if c.Bool("json") {
				return e.printJSON(map[string]any{"crls": out, "created": res.Created, "rebuilt": res.Rebuilt})
			}
			for _, o := range out {
				e.ui.printf("Signed the CRL of %q: number %s, %s, next update %s.", o.Issuer, o.Number, plural(o.Revoked, "revoked certificate"), o.NextUpdate.Format(time.DateOnly))
				e.ui.printf("  CRL  %s", o.Path)
			}
			if res.Rebuilt > 0 {
				e.ui.printf("Took %s from the records under revoked/.", plural(res.Rebuilt, "serial"))
			}
			e.ui.printf("Next: reload nginx or Apache, which read the CRL only at start (nginx -s reload, apache2ctl graceful); run certkit crl again before %s", out[0].NextUpdate.Format(time.DateOnly))
			return nil
		},
	}
}
