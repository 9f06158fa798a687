package wizard

import (
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/certkit/certkit/ca"
	"github.com/certkit/certkit/host"
	"github.com/certkit/certkit/install"
	"github.com/certkit/certkit/internal/errs"
	"github.com/certkit/certkit/issue"
)

// Given marks the answers that came from flags: the wizard does not ask
// for those.
type Given struct {
	Registry, Role, NewCA, CreateCA, KeyType, Validity, Names, Targets, Force bool
}

// Known is what the wizard found on this machine.
type Known struct {
	CA       *x509.Certificate // the existing CA, or nil
	Detected []install.Target  // container runtimes found here
	Env      install.RootEnv   // for the certs roots in the summary
}

// Role answers, as shown.
var roleOptions = []struct {
	role  Role
	label string
}{
	{Client, "pulls from it: a client certificate, installed for this machine's runtimes"},
	{Server, "runs it: a server certificate for the registry"},
	{Both, "both"},
}

// Ask fills the plan by asking for every answer not given. w receives
// short notes between questions (the CA found, the summary).
func Ask(pr Prompter, w io.Writer, p Plan, given Given, known Known) (Plan, error) {
	if !given.Registry {
		s, err := pr.Input("Registry, as in your image references (host[:port]):",
			"The registry's name exactly as you type it in docker pull, e.g. reg.example.com:5000. "+
				"reg and reg:443 are different folders for Docker.", "",
			func(s string) error {
				_, err := host.Parse(s)
				return withFix(err)
			})
		if err != nil {
			return p, err
		}
		if p.Registry, err = host.Parse(s); err != nil {
			return p, err
		}
	}
	if msg := issue.LoopbackWarning(p.Registry); msg != "" {
		fmt.Fprintf(w, "certkit: warning: %s\n", msg)
	}
	if !given.Role {
		var labels []string
		for _, o := range roleOptions {
			labels = append(labels, o.label)
		}
		ans, err := pr.Select(fmt.Sprintf("What does this machine do with %s?", p.Registry), "", labels, labels[0])
		if err != nil {
			return p, err
		}
		for _, o := range roleOptions {
			if o.label == ans {
				p.Role = o.role
			}
		}
		if p.Role == Server && (given.Names || given.Targets) {
			fmt.Fprintln(w, "certkit: warning: --name, --target and --certs-dir are for client certificates; a server-only setup issues none")
		}
	}
	if !given.NewCA {
		switch {
		case known.CA == nil && p.Role == Client && !given.CreateCA && !p.CreateCA:
			// A client machine: its certificate comes from the
			// registry's CA, unless this machine is to have its own.
			elsewhere := "the registry's CA, on another machine (stop here; the hint says how)"
			here := "a new CA made here, for a registry this CA will also sign"
			ans, err := pr.Select(fmt.Sprintf("No CA yet in %s. Where does this machine's client certificate come from?", p.Home),
				"A registry accepts only client certificates from the CA it trusts: a CA made here is another CA.", []string{elsewhere, here}, elsewhere)
			if err != nil {
				return p, err
			}
			if ans == elsewhere {
				return p, &NoCAError{Home: p.Home, Registry: p.Registry, HomeFlag: p.HomeFlag}
			}
			p.CreateCA = true
		case known.CA == nil:
			fmt.Fprintf(w, "No CA yet in %s: setup will create one.\n", p.Home)
		default:
			reuse := "reuse " + CASummary(known.CA)
			ans, err := pr.Select("Certificate authority:", "A new CA replaces the old one: what it issued stops being trusted. The old pair is kept as a backup.",
				[]string{reuse, "create a new CA"}, reuse)
			if err != nil {
				return p, err
			}
			p.NewCA = ans != reuse
		}
	}
	if !given.KeyType {
		var opts []string
		for _, k := range ca.KeyTypes {
			opts = append(opts, string(k))
		}
		ans, err := pr.Select("Key type:", "ecdsa-p256 is small, fast and read by every registry client.", opts, string(ca.ECDSAP256))
		if err != nil {
			return p, err
		}
		p.KeyType = ca.KeyType(ans)
	}
	if !given.Validity {
		ans, err := pr.Input("Validity of the certificates:", "days (825d), years (2y) or hours (8760h); never beyond the CA's own expiry", "825d",
			func(s string) error {
				_, err := ca.ParseValidity(s)
				return withFix(err)
			})
		if err != nil {
			return p, err
		}
		if p.Validity, err = ca.ParseValidity(ans); err != nil {
			return p, err
		}
	}
	if p.client() && !given.Names {
		ans, err := pr.Input("Client certificate names (comma-separated):", "Each becomes NAME.cert + NAME.key in the registry's folder.", "client",
			func(s string) error {
				_, err := splitNames(s)
				return withFix(err)
			})
		if err != nil {
			return p, err
		}
		if p.Names, err = splitNames(ans); err != nil {
			return p, err
		}
	}
	if p.client() && !given.Targets && p.CertsDir == "" {
		var opts, defs []string
		for _, t := range install.Targets() {
			opts = append(opts, string(t))
		}
		for _, t := range known.Detected {
			defs = append(defs, string(t))
		}
		if len(defs) == 0 {
			defs = []string{string(install.Docker)}
		}
		for {
			ans, err := pr.MultiSelect("Install for:", "Pre-selected: the runtimes found on this machine.", opts, defs)
			if err != nil {
				return p, err
			}
			if len(ans) > 0 {
				p.Targets = nil
				for _, a := range ans {
					p.Targets = append(p.Targets, install.Target(a))
				}
				break
			}
			fmt.Fprintln(w, "Pick at least one (space selects, enter confirms).")
		}
	}
	p.Defaults()
	if err := p.Validate(); err != nil {
		return p, err
	}
	if _, err := p.Preview(known.Env); err != nil && !given.Force && !p.Force && errors.Is(err, errExisting) {
		again, err := pr.Confirm(fmt.Sprintf("Files for %s exist already. Write them again (the old files are kept as backups)?", p.Registry), "", false)
		if err != nil {
			return p, err
		}
		if !again {
			return p, ErrCancelled
		}
		p.Force = true
	}
	return p, nil
}

// Confirm prints the summary of every file the plan writes and asks to go
// on. Nothing is written before it returns true.
func Confirm(pr Prompter, w io.Writer, p Plan, steps []Step) (bool, error) {
	PrintSummary(w, steps)
	return pr.Confirm("Write these files?", "", true)
}

// PrintSummary writes the steps and their files.
func PrintSummary(w io.Writer, steps []Step) {
	fmt.Fprintln(w, "certkit setup will:")
	for _, s := range steps {
		fmt.Fprintf(w, "  %s\n", s.What)
		for _, path := range s.Paths {
			fmt.Fprintf(w, "      %s\n", path)
		}
	}
}

// ErrCancelled is returned when the user declines the plan.
var ErrCancelled = errors.New("setup cancelled; nothing was written")

func splitNames(s string) ([]string, error) {
	var names []string
	seen := map[string]bool{}
	for _, n := range strings.Split(s, ",") {
		n = strings.TrimSpace(n)
		if n == "" {
			continue
		}
		if err := issue.ValidateName(n); err != nil {
			return nil, err
		}
		if !seen[n] {
			seen[n] = true
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("give at least one name")
	}
	// the rule issue applies later (names differing only in case), here,
	// at the question
	if err := issue.CheckNames(names); err != nil {
		return nil, err
	}
	return names, nil
}

// withFix puts an error's hint into its message: an inline validation
// message is all the user sees.
func withFix(err error) error {
	if err == nil {
		return nil
	}
	if h := errs.HintOf(err); h != "" {
		return fmt.Errorf("%v; %s", err, h)
	}
	return err
}
