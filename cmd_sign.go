package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/certkit/certkit/ca"
	"github.com/certkit/certkit/host"
	"github.com/certkit/certkit/internal/atomicfile"
	"github.com/certkit/certkit/internal/errs"
	"github.com/certkit/certkit/internal/safefs"
	"github.com/certkit/certkit/internal/shellquote"
	"github.com/certkit/certkit/issue"
)

func signCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:      "sign",
		Usage:     "sign a certificate request (certkit request) with the certkit CA, after showing what it signs",
		UsageText: "certkit sign [--profile client|server] [--host HOST[:PORT]] [--san NAME|IP]... [--validity 825d] [--out FILE] [--yes] [--force] [--json] FILE.csr",
		Description: `Signs a request made on a client machine with certkit request, under certkit's client
profile (clientAuth only, no names) or, with --profile server --host, its server profile
(serverAuth, the registry's names and --san). In a per-registry home (the default) the
registry's issuing CA signs, so client requests need --host too. It shows the request's subject and key
fingerprint and asks before signing (--yes skips the question). A request that asks for
anything certkit would not issue is refused: to be a CA, other key usages, names on a
client certificate, names a server certificate would not carry.
The certificate, followed by the CA certificate, goes to --out (default: FILE with .cert
for .csr); the client's key never comes here.

Examples:
  certkit sign --host reg.example.com:5000 laptop.csr
  certkit sign --yes --host reg.example.com:5000 --validity 1y --out laptop.cert laptop.csr
  certkit sign --profile server --host reg.example.com:5000 registry.csr`,
		Flags: []cli.Flag{
			homeFlag(),
			&cli.StringFlag{Name: "profile", Usage: "client (clientAuth) or server (serverAuth, needs --host)", Value: string(issue.Client)},
			&cli.StringFlag{Name: "host", Usage: "the registry, HOST or HOST:PORT: its issuing CA signs (per-registry homes), and a server certificate carries its names"},
			&cli.StringSliceFlag{Name: "san", Usage: "one more DNS name or IP of a server certificate (repeatable)"},
			&cli.StringFlag{Name: "validity", Usage: "how long the certificate is valid: days (825d), years (2y) or hours; never past the CA's own expiry", Value: "825d"},
			&cli.StringFlag{Name: "out", Usage: "where to write the certificate (default: FILE.csr's name with .cert)"},
			&cli.BoolFlag{Name: "yes", Aliases: []string{"y"}, Usage: "sign without asking"},
			forceFlag("an existing certificate file"),
			jsonFlag(),
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return signArgsError(c.Args().Slice())
			}
			in := c.Args().First()
			kind := issue.Kind(c.String("profile"))
			if kind != issue.Client && kind != issue.Server {
				return usageError{errs.Input(fmt.Sprintf("unknown --profile %q", c.String("profile")), "use --profile client or --profile server")}
			}
			var reg host.Registry
			var sans []issue.SAN
			switch {
			case kind == issue.Server && !c.IsSet("host"):
				return usageError{errs.Input("a server certificate needs --host", "certkit sign "+shellquote.Quote(in)+" --profile server --host reg.example.com:5000")}
			case kind == issue.Client && c.IsSet("san"):
				return usageError{errs.Input("a client certificate carries no names: --san is for --profile server", "drop it")}
			case kind == issue.Client && c.IsSet("host"):
				// The registry picks the issuing CA of a per-registry
				// home; the certificate carries no name.
				var err error
				if reg, err = host.Parse(c.String("host")); err != nil {
					return hostHint(err, "certkit sign "+shellquote.Quote(in))
				}
			case kind == issue.Server:
				var err error
				if reg, err = host.Parse(c.String("host")); err != nil {
					return hostHint(err, "certkit sign "+shellquote.Quote(in)+" --profile server")
				}
				for _, s := range c.StringSlice("san") {
					san, err := issue.ParseSAN(s)
					if err != nil {
						return err
					}
					sans = append(sans, san)
				}
			}
			validity, err := ca.ParseValidity(c.String("validity"))
			if err != nil {
				return err
			}
			out := c.String("out")
			if out == "" {
				out = strings.TrimSuffix(in, issue.CSRExt) + ".cert"
			}
			if !c.Bool("force") && atomicfile.Exists(out) {
				return &atomicfile.ExistsError{Paths: []string{out}}
			}
			h, err := e.home(c)
			if err != nil {
				return err
			}
			data, err := safefs.ReadFile(in, safefs.MaxFile)
			if err != nil {
				return errs.Input("cannot read the certificate request: "+err.Error(), "")
			}
			folder := ""
			if reg.Name != "" {
				folder = reg.String()
				if kind == issue.Client {
					reg = host.Registry{}
				}
			}
			req, err := issue.ReadCSR(data, kind, reg, sans)
			if err != nil {
				return err
			}
			c2, err := ca.Load(h)
			if err != nil {
				return err
			}
			if folder == "" && ca.PerRegistry(h) {
				return usageError{errs.WithHint(errors.New((&issue.RegistryNeededError{}).Error()),
					"pass the registry it is for: certkit sign --host reg.example.com:5000 "+shellquote.Quote(in))}
			}
			showCSR(e.ui, in, req, c2)
			if !c.Bool("yes") {
				ok, err := confirm(e, "Sign it? [y/N] ")
				if err != nil {
					return err
				}
				if !ok {
					return errs.Input("not signed: the answer was not yes", "pass --yes to sign without the question")
				}
			}
			s, err := issue.SignCSR(issue.SignOptions{Home: h, CSR: req, Validity: validity, CA: c2, Registry: folder})
			if err != nil {
				return err
			}
			data = append(append(append([]byte{}, s.CertPEM...), s.ChainPEM...), s.CAPEM...)
			w, err := atomicfile.WriteAll([]atomicfile.File{{Path: out, Data: data, Mode: 0o644}},
				atomicfile.Options{Force: c.Bool("force")})
			if err != nil {
				return err
			}
			return reportSign(e, c, req, s, out, w.Backups, validity)
		},
	}
}

// signArgsError explains a sign command line without exactly one file:
// flags after the file are not read as flags, so it gives the command
// with the flags first.
func signArgsError(args []string) error {
	if len(args) == 0 {
		return usageError{errs.Input("sign takes the certificate request file to sign", "certkit sign laptop.csr")}
	}
	var flags, files []string
	for _, a := range args {
		if strings.HasPrefix(a, "-") || len(flags) > 0 && strings.HasPrefix(flags[len(flags)-1], "--") && !strings.Contains(flags[len(flags)-1], "=") && signValueFlag(flags[len(flags)-1]) {
			flags = append(flags, a)
			continue
		}
		files = append(files, a)
	}
	if len(files) == 1 && len(flags) > 0 {
		quoted := make([]string, 0, len(flags)+1)
		for _, a := range append(flags, files[0]) {
			quoted = append(quoted, shellquote.Quote(a))
		}
		return usageError{errs.Input("the flags of sign go before the file", "certkit sign "+strings.Join(quoted, " "))}
	}
	return usageError{errs.Input(fmt.Sprintf("sign takes one certificate request file, got %d arguments", len(args)), "sign one request at a time: certkit sign laptop.csr")}
}

// signValueFlag reports whether the sign flag f takes a value.
func signValueFlag(f string) bool {
	switch strings.TrimLeft(f, "-") {
	case "profile", "host", "san", "validity", "out", "home":
		return true
	}
	return false
}

// showCSR says what sign is about to sign, on stderr.
func showCSR(u *ui, path string, r *issue.CSR, c *ca.CA) {
	u.printf("Certificate request %s:", path)
	u.printf("  subject      %s", r.Subject)
	u.printf("  key          %s, SHA-256 %s", r.KeyType, r.KeySHA256)
	u.printf("  will be      a %s certificate: %s, %s", r.Kind, strings.Join(issue.KeyUsageNames(r.KeyUsage), ", "), strings.Join(issue.ExtKeyUsageNames(r.ExtKey), ", "))
	if len(r.SANs) > 0 {
		var names []string
		for _, s := range r.SANs {
			names = append(names, s.String())
		}
		u.printf("  names        %s", strings.Join(names, ", "))
	}
	u.printf("  signed by    %q (SHA-256 %s)", c.Cert.Subject.CommonName, ca.Fingerprint(c.Cert))
	u.hintf("compare the key SHA-256 with the one certkit request printed on the client machine")
}

// confirm asks a yes/no question on stderr and reads the answer from
// stdin; no answer (end of input) is no.
func confirm(e *env, question string) (bool, error) {
	fmt.Fprint(e.ui.w, question)
	line, err := bufio.NewReader(io.LimitReader(e.stdin, 1024)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return false, err
	}
	if err != nil && line == "" {
		fmt.Fprintln(e.ui.w)
	}
	a := strings.ToLower(strings.TrimSpace(line))
	return a == "y" || a == "yes", nil
}

type signReport struct {
	Subject   string    `json:"subject"`
	Profile   string    `json:"profile"`
	KeySHA256 string    `json:"key_sha256"`
	Cert      string    `json:"cert"`
	SHA256    string    `json:"sha256"`
	NotAfter  time.Time `json:"not_after"`
	Clamped   bool      `json:"clamped"`
	CA        string    `json:"ca"`
	CASHA256  string    `json:"ca_sha256"`
	Backups   []string  `json:"backups,omitempty"`
	Warnings  []string  `json:"warnings,omitempty"`
}

func reportSign(e *env, c *cli.Context, req *issue.CSR, s *issue.Signed, out string, backups []string, requested time.Duration) error {
	r := signReport{Subject: req.Subject, Profile: string(req.Kind), KeySHA256: req.KeySHA256, Cert: out, SHA256: s.SHA256,
		NotAfter: s.NotAfter, Clamped: s.Clamped, CA: s.CA.Subject.CommonName, CASHA256: ca.Fingerprint(s.CA), Backups: backups}
	now := time.Now()
	if s.Clamped {
		r.Warnings = append(r.Warnings, fmt.Sprintf("the CA expires on %s, so the certificate ends then, not after %s; plan a new CA before that",
			expiryText(s.CANotAfter, now), describeDuration(requested)))
	}
	u := e.ui
	for _, w := range r.Warnings {
		u.warnf("%s", w)
	}
	if c.Bool("json") {
		return e.printJSON(r)
	}
	u.printf("Signed a %s certificate for %s, valid until %s.", r.Profile, r.Subject, expiryText(s.NotAfter, now))
	u.printf("  certificate  %s (the certificate, then the CA certificate)", out)
	u.printf("  SHA-256      %s", r.SHA256)
	u.printf("  CA SHA-256   %s", r.CASHA256)
	printBackups(u, backups)
	if req.Kind == issue.Client {
		u.printf("Next: copy %s to the client machine and run there: certkit install --cert %s", out, shellquote.Quote(filepath.Base(out)))
	} else {
		u.printf("Next: copy %s to the registry machine: it is the registry's tls.certificate (with the CA as its chain)", out)
	}
	return nil
}
