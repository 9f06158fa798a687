package main

import (
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/certkit/certkit/host"
	"github.com/certkit/certkit/install"
	"github.com/certkit/certkit/internal/errs"
	"github.com/certkit/certkit/internal/shellquote"
	"github.com/certkit/certkit/issue"
	"github.com/certkit/certkit/status"
)

func renewCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:      "renew",
		Usage:     "issue again the certificates that status says to renew, and install the new pairs where the old ones are",
		UsageText: "certkit renew [--host H]... [--name N]... [--within DUR | --all] [--reuse-key] [--install] [--dry-run] [--json]",
		Description: `Re-issues every certificate of the certkit home that certkit status calls
renew, expired or outlives-ca (or, with --all, every selected one), as it
was: the same names, SANs, profile and key type, the same validity length
from now (cut at the CA's expiry), with a new key unless --reuse-key. The
old files are kept as .bak- backups. All or nothing.

--install puts the renewed client pairs into every certs root where
certkit installed the old ones (as certkit install --force does). A renewed
server certificate is used only once the server reads it again: restart
the registry, or reload nginx or Apache in front of it.

Examples:
  certkit renew --dry-run
  certkit renew --install
  sudo certkit renew --install                       # system certs roots
  certkit renew --host reg.example.com:5000 --name laptop --install
  certkit renew --all --host reg.example.com:5000    # everything of one registry, now`,
		Flags: []cli.Flag{
			homeFlag(),
			&cli.StringSliceFlag{Name: "host", Usage: "only these registries (repeatable)"},
			&cli.StringSliceFlag{Name: "name", Usage: "only these certificates: client names, or server (repeatable)"},
			&cli.StringFlag{Name: "within", Usage: "renewal window, e.g. 30d (default: a third of each lifetime, at most 30 days)"},
			&cli.BoolFlag{Name: "all", Usage: "renew every selected certificate, whatever its expiry"},
			&cli.BoolFlag{Name: "reuse-key", Usage: "certify the old keys again instead of making new ones"},
			&cli.BoolFlag{Name: "install", Usage: "install the renewed client pairs where the old ones are installed"},
			targetFlag(),
			certsDirFlag(),
			&cli.BoolFlag{Name: "dry-run", Usage: "say what would be renewed, and write nothing"},
			jsonFlag(),
		},
		Action: func(c *cli.Context) error { return runRenew(e, c) },
	}
}

type renewReport struct {
	DryRun    bool                   `json:"dry_run"`
	Renewed   []issue.Renewed        `json:"renewed"`
	Backups   []string               `json:"backups,omitempty"`
	Installed []install.FolderResult `json:"installed,omitempty"`
	Next      []string               `json:"next,omitempty"`
}

func runRenew(e *env, c *cli.Context) error {
	if c.Args().Present() {
		return usageError{errs.Input("renew takes no arguments, got "+c.Args().First(), "certkit renew [--host H] [--name N]")}
	}
	if c.Bool("all") && c.IsSet("within") {
		return errs.Input("--all and --within cannot be used together", "--all renews every selected certificate; --within only those inside the window")
	}
	within, err := parseWithin(c.String("within"))
	if err != nil {
		return err
	}
	h, err := e.home(c)
	if err != nil {
		return err
	}
	rep, err := status.Read(status.Options{Home: h, Within: within})
	if err != nil {
		return err
	}
	if len(rep.Problems) > 0 {
		return fmt.Errorf("cannot read the certkit home: %s", strings.Join(rep.Problems, "; "))
	}
	todo, err := selectRenewals(rep, c)
	if err != nil {
		return err
	}
	for _, cc := range rep.Certs {
		if cc.Kind == status.CA && cc.Name == "ca" && cc.Location == status.InHome && cc.State != status.OK && len(todo) > 0 {
			return errs.WithHint(fmt.Errorf("the CA %s expires on %s, inside its renewal window: certificates renewed from it would end then too", cc.Path, cc.NotAfter.Format("2006-01-02")),
				"a CA rotation is due: certkit rotate-ca"+homeArg(c)+" makes a new CA and keeps this one trusted until certkit renew has issued every certificate again from the new one")
		}
	}
	out := renewReport{DryRun: c.Bool("dry-run")}
	if len(todo) == 0 {
		if c.Bool("json") {
			out.Renewed = []issue.Renewed{}
			return e.printJSON(out)
		}
		e.ui.printf("Nothing to renew: no selected certificate is inside its renewal window (certkit status lists them; --all renews anyway).")
		return nil
	}
	done := e.ui.progress("Renewing " + plural(len(todo), "certificate"))
	res, err := issue.Renew(issue.RenewOptions{Home: h, Certs: todo, ReuseKey: c.Bool("reuse-key"), DryRun: c.Bool("dry-run")})
	done()
	if err != nil {
		return err
	}
	out.Renewed, out.Backups = res.Certs, res.Backups
	if c.Bool("install") {
		folders, err := installRenewed(c, h, res.Certs, c.Bool("dry-run"))
		out.Installed = folders
		if err != nil {
			return sudoHint(err, h)
		}
	}
	out.Next = serverNext(res.Certs)
	if c.Bool("json") {
		return e.printJSON(out)
	}
	printRenew(e, c, out)
	return nil
}

// selectRenewals picks the home's leaves to renew: those status says need
// it (or all, with --all), of the --host and --name given.
func selectRenewals(rep *status.Report, c *cli.Context) ([]issue.Renewal, error) {
	hosts, err := parseHosts(c.StringSlice("host"), "certkit renew")
	if err != nil {
		return nil, err
	}
	names := c.StringSlice("name")
	var known []string
	knownNames := map[string]bool{}
	knownHosts := map[string]bool{}
	var out []issue.Renewal
	for _, cc := range rep.Certs {
		if cc.Location != status.InHome || cc.Kind == status.CA {
			continue
		}
		knownHosts[cc.Registry] = true
		if len(hosts) > 0 && !slices.ContainsFunc(hosts, func(r host.Registry) bool { return r.String() == cc.Registry }) {
			continue
		}
		knownNames[cc.Name] = true
		known = append(known, cc.Registry+" "+cc.Name)
		if len(names) > 0 && !slices.Contains(names, cc.Name) {
			continue
		}
		if !c.Bool("all") && cc.State == status.OK {
			continue
		}
		if cc.State == status.NotYetValid && !c.Bool("all") {
			continue // a clock matter, not a renewal
		}
		reg, err := host.Parse(cc.Registry)
		if err != nil {
			return nil, err
		}
		kind := issue.Client
		if cc.Kind == status.Server {
			kind = issue.Server
		}
		out = append(out, issue.Renewal{Registry: reg, Kind: kind, Name: cc.Name})
	}
	for _, r := range hosts {
		if !knownHosts[r.String()] {
			return nil, errs.Input(fmt.Sprintf("the certkit home has no certificate for %s", r), "known registries: "+listOrNone(sortedKeys(knownHosts)))
		}
	}
	for _, n := range names {
		if !knownNames[n] {
			return nil, errs.Input(fmt.Sprintf("no certificate named %q for the registries selected", n), "known certificates: "+listOrNone(known))
		}
	}
	return out, nil
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func listOrNone(items []string) string {
	if len(items) == 0 {
		return "none"
	}
	return strings.Join(items, ", ")
}

// installRenewed installs the renewed client pairs into each certs root
// that holds certkit's folder for their registry.
func installRenewed(c *cli.Context, h string, renewed []issue.Renewed, dryRun bool) ([]install.FolderResult, error) {
	var regs []host.Registry
	seen := map[string]bool{}
	for _, r := range renewed {
		if r.Kind == issue.Client && !seen[r.Registry.String()] {
			seen[r.Registry.String()] = true
			regs = append(regs, r.Registry)
		}
	}
	if len(regs) == 0 {
		return nil, nil
	}
	roots, err := statusRoots(c)
	if err != nil {
		return nil, err
	}
	var out []install.FolderResult
	for _, root := range roots {
		var here []host.Registry
		for _, reg := range regs {
			if install.CertkitFolder(root.Folder(reg), reg) {
				here = append(here, reg)
			}
		}
		if len(here) == 0 {
			continue
		}
		res, err := install.Install(install.Options{Home: h, Registries: here, Roots: []install.Root{root}, Force: true, DryRun: dryRun,
			Flags: rootFlagsFor(root, c), HomeFlags: homeArg(c)})
		if res != nil {
			out = append(out, res.Folders...)
		}
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

// rootFlagsFor names root in the commands the fixes print.
func rootFlagsFor(root install.Root, c *cli.Context) string {
	if c.String("certs-dir") != "" || len(c.StringSlice("target")) > 0 {
		return runRootFlags(c)
	}
	f := ""
	if root.Target != install.Docker {
		f = " --target " + string(root.Target)
	}
	return f + homeArg(c)
}

// serverNext says what the servers of renewed server certificates must do
// to use them: distribution reads its TLS files only at start.
func serverNext(renewed []issue.Renewed) []string {
	var out []string
	for _, r := range renewed {
		if r.Kind != issue.Server {
			continue
		}
		out = append(out, fmt.Sprintf("%s: the registry reads %s only at start: restart it (systemctl restart docker-registry, or docker restart on its container); behind nginx or Apache, reload the proxy instead (nginx -s reload, apachectl graceful)",
			r.Registry, filepath.Base(r.ChainPath)))
	}
	return out
}

func printRenew(e *env, c *cli.Context, out renewReport) {
	verb := "Renewed"
	if out.DryRun {
		verb = "Would renew"
	}
	e.ui.printf("%s %s:", verb, plural(len(out.Renewed), "certificate"))
	for _, r := range out.Renewed {
		key := "new key"
		if !r.NewKey {
			key = "same key"
		}
		line := fmt.Sprintf("  %s %s %s: until %s (%s, %s)", r.Registry, r.Kind, r.Name, r.NotAfter.Format("2006-01-02"), key, r.KeyType)
		if r.Clamped {
			line += ", cut at the CA's expiry"
		}
		e.ui.printf("%s", line)
	}
	for _, r := range out.Renewed {
		if r.Clamped {
			e.ui.warnf("%s %s ends with the CA, on %s: a new CA is due before then", r.Registry, r.Name, r.NotAfter.Format("2006-01-02"))
		}
	}
	for _, f := range out.Installed {
		if f.Changed {
			e.ui.printf("Installed %s in %s", f.Registry, f.Dir)
		}
	}
	for _, n := range out.Next {
		e.ui.printf("Next: %s", n)
	}
	if !c.Bool("install") && !out.DryRun {
		var regs []string
		for _, r := range out.Renewed {
			if r.Kind == issue.Client && !slices.Contains(regs, r.Registry.String()) {
				regs = append(regs, r.Registry.String())
			}
		}
		if len(regs) > 0 {
			var hosts []string
			for _, r := range regs {
				hosts = append(hosts, "--host "+shellquote.Quote(r))
			}
			e.ui.printf("Next: install the renewed pairs: certkit install --force %s%s (or renew with --install)", strings.Join(hosts, " "), runRootFlags(c))
		}
	}
}
