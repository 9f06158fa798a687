package main

import (
	"bytes"
	"fmt"
	"os"
	"time"

	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/certkit/certkit/bundle"
	"github.com/certkit/certkit/ca"
	"github.com/certkit/certkit/host"
	"github.com/certkit/certkit/internal/errs"
	"github.com/certkit/certkit/internal/safefs"
	"github.com/certkit/certkit/internal/shellquote"
)

func exportCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:      "export",
		Usage:     "write a client's CA certificate and pair as one bundle file (for install --from) or PKCS #12",
		UsageText: "certkit export --host HOST[:PORT] [--name NAME] [--out FILE] [--p12 FILE [--password-file F] [--legacy]] [--force] [--json]",
		Description: `Writes what one client machine needs to reach the registry, from this certkit home:
the CA certificate and one client pair, checked as install checks them. Never the CA key.
--out writes a certkit bundle (one PEM file naming the registry and the pair) for
certkit install --from on the client machine, which needs no certkit home there.
--p12 writes PKCS #12 (key, certificate and CA) for browsers, Windows, macOS and Java,
encrypted with AES-256 (--legacy: 3DES and SHA-1, for Windows before 10 1709, old macOS
and Java 8). Its password comes from --password-file or, on a terminal, a prompt; never
from the command line. Both files hold a private key: they are written 0600.

Examples:
  certkit export --host reg.example.com:5000 --name laptop --out laptop.bundle
  sudo certkit install --from laptop.bundle    # on the client machine
  certkit export --host reg.example.com:5000 --name laptop --p12 laptop.p12
  certkit export --host reg.example.com:5000 --name laptop --p12 laptop.p12 --password-file pw.txt --legacy`,
		Flags: []cli.Flag{
			homeFlag(),
			&cli.StringFlag{Name: "host", Usage: "the registry as in image references: HOST or HOST:PORT"},
			&cli.StringFlag{Name: "name", Usage: "the client pair (default: the registry's only one)"},
			&cli.StringFlag{Name: "out", Usage: "write a certkit bundle to FILE (0600)"},
			&cli.StringFlag{Name: "p12", Usage: "write PKCS #12 to FILE (0600)"},
			&cli.StringFlag{Name: "password-file", Usage: "read the PKCS #12 password from the first line of FILE"},
			&cli.BoolFlag{Name: "legacy", Usage: "PKCS #12 with 3DES and SHA-1, for old Windows, macOS and Java"},
			forceFlag("existing files"),
			jsonFlag(),
		},
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return usageError{errs.Input("export takes no arguments, got "+c.Args().First(), "name the file with --out or --p12")}
			}
			if !c.IsSet("host") {
				return usageError{errs.Input("--host is required", "certkit export --host reg.example.com:5000 --name laptop --out laptop.bundle")}
			}
			if c.String("out") == "" && c.String("p12") == "" {
				return usageError{errs.Input("nothing to write", "pass --out FILE for a bundle, --p12 FILE for PKCS #12, or both")}
			}
			if c.String("p12") == "" && (c.IsSet("password-file") || c.Bool("legacy")) {
				return usageError{errs.Input("--password-file and --legacy are for --p12", "add --p12 FILE, or drop them")}
			}
			reg, err := host.Parse(c.String("host"))
			if err != nil {
				return hostHint(err, "certkit export")
			}
			h, err := e.home(c)
			if err != nil {
				return err
			}
			var password string
			if c.String("p12") != "" {
				if password, err = readPassword(e, c.String("password-file")); err != nil {
					return err
				}
			}
			res, err := bundle.Export(bundle.ExportOptions{
				Home: h, Registry: reg, Name: c.String("name"), Out: c.String("out"), P12: c.String("p12"),
				Password: password, Legacy: c.Bool("legacy"), Force: c.Bool("force"), HomeFlags: homeArg(c),
			})
			if err != nil {
				return err
			}
			return reportExport(e, c, res)
		},
	}
}

// maxPasswordFile bounds --password-file.
const maxPasswordFile = 64 << 10

// readPassword reads the PKCS #12 password: the first line of file, or,
// without one, twice from a prompt on the terminal. Never an argument: the
// command line is visible to every user of the machine.
func readPassword(e *env, file string) (string, error) {
	if file != "" {
		data, err := safefs.ReadFile(file, maxPasswordFile)
		if err != nil {
			return "", errs.Input("cannot read --password-file: "+err.Error(), "")
		}
		line, _, _ := bytes.Cut(data, []byte("\n"))
		pw := string(bytes.TrimSuffix(line, []byte("\r")))
		if pw == "" {
			return "", errs.Input("--password-file "+file+" starts with an empty line", "put the password on its first line")
		}
		return pw, nil
	}
	f, ok := e.stdin.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return "", errs.Input("a PKCS #12 file needs a password, and there is no terminal to ask for it", "pass --password-file FILE (never the password itself on the command line)")
	}
	ask := func(prompt string) (string, error) {
		fmt.Fprint(e.ui.w, prompt)
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(e.ui.w)
		return string(b), err
	}
	pw, err := ask("Password for the PKCS #12 file: ")
	if err != nil {
		return "", err
	}
	if pw == "" {
		return "", errs.Input("the password is empty", "give a password: PKCS #12 files hold a private key")
	}
	again, err := ask("The same password again: ")
	if err != nil {
		return "", err
	}
	if again != pw {
		return "", errs.Input("the two passwords differ", "run the command again")
	}
	return pw, nil
}

type exportReport struct {
	Host       string    `json:"host"`
	Name       string    `json:"name"`
	Bundle     string    `json:"bundle,omitempty"`
	P12        string    `json:"p12,omitempty"`
	Legacy     bool      `json:"p12_legacy,omitempty"`
	CA         string    `json:"ca"`
	CASHA256   string    `json:"ca_sha256"`
	CertSHA256 string    `json:"cert_sha256"`
	NotAfter   time.Time `json:"not_after"`
	Backups    []string  `json:"backups,omitempty"`
}

func reportExport(e *env, c *cli.Context, res *bundle.ExportResult) error {
	r := exportReport{Host: res.Registry.String(), Name: res.Name, Bundle: res.Out, P12: res.P12, Legacy: res.Legacy,
		CA: res.CA.Subject.CommonName, CASHA256: ca.Fingerprint(res.CA), CertSHA256: ca.Fingerprint(res.Cert),
		NotAfter: res.Cert.NotAfter, Backups: res.Backups}
	if c.Bool("json") {
		return e.printJSON(r)
	}
	u := e.ui
	u.printf("Exported client %q of %s, valid until %s.", r.Name, r.Host, expiryText(r.NotAfter, time.Now()))
	if r.Bundle != "" {
		u.printf("  bundle       %s (0600: it holds the client's private key; never the CA key)", r.Bundle)
	}
	if r.P12 != "" {
		enc := "AES-256"
		if r.Legacy {
			enc = "3DES, legacy"
		}
		u.printf("  PKCS #12     %s (0600, %s)", r.P12, enc)
	}
	u.printf("  CA           %q, SHA-256 %s", r.CA, r.CASHA256)
	u.printf("  SHA-256      %s", r.CertSHA256)
	printBackups(u, r.Backups)
	if r.Bundle != "" {
		u.printf("Next: copy %s to the client machine and run there: sudo certkit install --from %s", r.Bundle, shellquote.Quote(r.Bundle))
	}
	return nil
}
