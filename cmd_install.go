package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/certkit/certkit/host"
	"github.com/certkit/certkit/install"
	"github.com/certkit/certkit/internal/errs"
	"github.com/certkit/certkit/internal/rootflags"
	"github.com/certkit/certkit/internal/shellquote"
	"github.com/certkit/certkit/issue"
)

func installCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "install",
		Usage: "put the CA and the client certificates where Docker, podman and containerd look (certs.d)",
		UsageText: "certkit install [--host HOST[:PORT]]... [--target T]... [--certs-dir DIR] [--dry-run] [--force] [--json]\n" +
			"certkit install --server --host HOST[:PORT] [--dir DIR] [--group GROUP] [--dry-run] [--force] [--json]",
		Description: `Copies ca.crt and each client pair (NAME.cert + NAME.key) issued for a registry into
<root>/<HOST[:PORT]>/, the folder Docker, podman and containerd read for that registry.
Never a CA key, never a server key. Each registry folder is replaced in one atomic step;
files certkit did not write are kept (and checked). Running it again changes nothing.
Without --host, every registry with client certificates in the certkit home.

With --server, on the registry machine: copies the registry's server-chain.crt (0644),
server.key (0640, group --group) and ca.crt into --dir, where a service user such as
Debian's docker-registry can read them; certkit template registry --server-dir DIR
names them in config.yml.

Targets (--target, repeatable):
  docker           /etc/docker/certs.d (the default)
  docker-rootless  $XDG_CONFIG_HOME/docker/certs.d (~/.config/docker/certs.d)
  docker-desktop   ~/.docker/certs.d (restart Docker Desktop afterwards)
  podman           /etc/containers/certs.d as root, else ~/.config/containers/certs.d
  containerd       /etc/containerd/certs.d, with a hosts.toml naming the files
  all              all of the above

Examples:
  sudo certkit install --host reg.example.com:5000
  sudo certkit install --host reg.example.com:5000 --target podman --target containerd
  certkit install --host reg.example.com:5000 --target docker-rootless
  certkit install --host reg.example.com:5000 --certs-dir ./certs.d --dry-run
  sudo certkit install --force
  sudo certkit install --from laptop.bundle    # a bundle from certkit export; no certkit home needed
  sudo certkit install --cert laptop.cert      # the certificate certkit sign made for certkit request
  sudo certkit install --server --host reg.example.com:5000   # on the registry machine, for Debian's docker-registry`,
		Flags: []cli.Flag{
			homeFlag(),
			&cli.StringSliceFlag{Name: "host", Usage: "registry as in image references, HOST or HOST:PORT (repeatable; default: every registry with client certificates)"},
			targetFlag(),
			certsDirFlag(),
			&cli.BoolFlag{Name: "dry-run", Usage: "print what would change (paths, modes) and write nothing"},
			&cli.BoolFlag{Name: "force", Usage: "replace certkit's changed files, remove its stale ones (backups: <root>/.certkit-backup), not the user's"},
			jsonFlag(),
			&cli.StringFlag{Name: "from", Usage: "install the CA and the pair of a bundle (certkit export), with no certkit home"},
			&cli.StringFlag{Name: "cert", Usage: "take back a certificate signed for a pending request (certkit request, sign) and install it"},
			&cli.BoolFlag{Name: "server", Usage: "on the registry machine: copy its server chain, key and CA into --dir for the service user"},
			&cli.StringFlag{Name: "dir", Usage: "with --server: the folder for the files (default " + install.ServerDirBase + "/HOST[:PORT])"},
			&cli.StringFlag{Name: "group", Usage: "with --server: the group that may read the key, 0640 (default " + defaultServerGroup + " when it exists)"},
		},
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return usageError{errs.Input("install takes no arguments, got "+c.Args().First(), "name registries with --host")}
			}
			if c.Bool("server") {
				return installServer(e, c)
			}
			for _, f := range []string{"dir", "group"} {
				if c.IsSet(f) {
					return usageError{errs.Input("--"+f+" is for --server", "add --server to install the registry's own files, or drop --"+f)}
				}
			}
			if c.IsSet("from") || c.IsSet("cert") {
				return installOther(e, c)
			}
			regs, err := parseHosts(c.StringSlice("host"), "certkit install")
			if err != nil {
				return err
			}
			roots, err := resolveRoots(c)
			if err != nil {
				return err
			}
			h, err := e.home(c)
			if err != nil {
				return err
			}
			res, err := install.Install(install.Options{
				Home: h, Registries: regs, Roots: roots, DryRun: c.Bool("dry-run"), Force: c.Bool("force"),
				Flags: runRootFlags(c), HomeFlags: homeArg(c),
			})
			if err != nil {
				return sudoHint(err, h)
			}
			return reportInstall(e, c, res, false)
		},
	}
}

func uninstallCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:      "uninstall",
		Usage:     "remove the files certkit installed in certs.d for a registry",
		UsageText: "certkit uninstall --host HOST[:PORT]... [--target T]... [--certs-dir DIR] [--dry-run] [--json]",
		Description: `Removes exactly the files certkit installed (it keeps a manifest in each folder);
files certkit did not write stay, and the folder goes only when nothing else is in it.
Targets as for certkit install.

Examples:
  sudo certkit uninstall --host reg.example.com:5000
  sudo certkit uninstall --host reg.example.com:5000 --target all
  certkit uninstall --host reg.example.com:5000 --certs-dir ./certs.d`,
		Flags: []cli.Flag{
			homeFlag(),
			&cli.StringSliceFlag{Name: "host", Usage: "registry as in image references, HOST or HOST:PORT (repeatable)"},
			targetFlag(),
			certsDirFlag(),
			&cli.BoolFlag{Name: "dry-run", Usage: "print what would be removed and remove nothing"},
			jsonFlag(),
		},
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return usageError{errs.Input("uninstall takes no arguments, got "+c.Args().First(), "name registries with --host")}
			}
			if len(c.StringSlice("host")) == 0 {
				return errs.Input("--host is required", "name the registry: certkit uninstall --host reg.example.com:5000")
			}
			regs, err := parseHosts(c.StringSlice("host"), "certkit uninstall")
			if err != nil {
				return err
			}
			roots, err := resolveRoots(c)
			if err != nil {
				return err
			}
			res, err := install.Uninstall(install.UninstallOptions{Registries: regs, Roots: roots, DryRun: c.Bool("dry-run"), Flags: runRootFlags(c), HomeFlags: homeArg(c)})
			if err != nil {
				h, _ := e.home(c)
				return sudoHint(err, h)
			}
			return reportInstall(e, c, res, true)
		},
	}
}

func targetFlag() cli.Flag {
	return &cli.StringSliceFlag{Name: "target", Usage: "docker, docker-rootless, docker-desktop, podman, containerd or all"}
}

func certsDirFlag() cli.Flag {
	return &cli.StringFlag{Name: "certs-dir", Usage: "write the layout of --target into this certs root instead"}
}

// runRootFlags are the run's --target and --certs-dir flags, as the
// commands certkit suggests name them (rootflags.Flags), and its --home
// when one was given: a pasted install command must read the same home.
func runRootFlags(c *cli.Context) string {
	return rootflags.Flags(c.StringSlice("target"), c.String("certs-dir")) + homeArg(c)
}

func parseHosts(list []string, command string) ([]host.Registry, error) {
	var regs []host.Registry
	seen := map[string]bool{}
	for _, s := range list {
		r, err := host.Parse(s)
		if err != nil {
			return nil, hostHint(err, command)
		}
		if !seen[r.String()] {
			seen[r.String()] = true
			regs = append(regs, r)
		}
	}
	return regs, nil
}

// resolveRoots turns --target and --certs-dir into certs roots.
func resolveRoots(c *cli.Context) ([]install.Root, error) {
	var targets []install.Target
	for _, s := range c.StringSlice("target") {
		ts, err := install.ParseTarget(s)
		if err != nil {
			return nil, err
		}
		targets = append(targets, ts...)
	}
	env := processEnv()
	return install.Roots(targets, c.String("certs-dir"), env)
}

// sudoHint gives a permission error on a system certs root the exact
// command to re-run with sudo.
func sudoHint(err error, homeDir string) error {
	return sudoHintFor(err, os.Args[1:], homeDir, os.Geteuid(), os.Getenv)
}

// sudoHintFor is sudoHint with the process's state passed in. sudo resets
// the environment, so a certkit home named by CERTKIT_HOME or XDG_DATA_HOME
// is passed on with --home; the default one sudo certkit finds through
// SUDO_USER.
func sudoHintFor(err error, args []string, homeDir string, euid int, getenv func(string) string) error {
	var pe *install.PermissionError
	if !errors.As(err, &pe) || !pe.System || euid == 0 {
		return err
	}
	return errs.WithHint(err, "re-run as root: "+sudoCommand(args, homeDir, getenv))
}

// sudoCommand is certkit with args under sudo, with --home added when the
// certkit home came from the environment, which sudo resets; and what
// sudo certkit still reads.
func sudoCommand(args []string, homeDir string, getenv func(string) string) string {
	quoted := []string{"sudo", "certkit"}
	homeSet := false
	for _, a := range args {
		if a == "--home" || strings.HasPrefix(a, "--home=") {
			homeSet = true
		}
		quoted = append(quoted, shellquote.Quote(a))
	}
	cmd := strings.Join(quoted, " ")
	if homeDir != "" && !homeSet && (getenv("CERTKIT_HOME") != "" || getenv("XDG_DATA_HOME") != "") {
		cmd += " --home " + shellquote.Quote(homeDir)
	}
	if homeDir != "" {
		cmd += " (sudo certkit still reads your certkit home, " + homeDir + ")"
	}
	return cmd
}

// needsRootFixes gives each warning of a dry run that the run itself needs
// root (install.KindNotWritable, in a folder that NeedsRoot) the command
// that makes it: this one under sudo, without --dry-run.
func needsRootFixes(res *install.Result, args []string, homeDir string, euid int, getenv func(string) string) {
	if !res.DryRun || euid == 0 {
		return
	}
	var run []string
	for _, a := range args {
		if f := strings.TrimLeft(a, "-"); a != f && (f == "dry-run" || strings.HasPrefix(f, "dry-run=")) {
			continue
		}
		run = append(run, a)
	}
	for i := range res.Folders {
		f := &res.Folders[i]
		for j := range f.Problems {
			if f.NeedsRoot && f.Problems[j].Kind == install.KindNotWritable {
				f.Problems[j].Fix = "run it as root: " + sudoCommand(run, homeDir, getenv)
			}
		}
	}
}

type installReport struct {
	DryRun   bool                   `json:"dry_run"`
	Changed  bool                   `json:"changed"`
	Folders  []install.FolderResult `json:"folders"`
	Warnings []string               `json:"warnings,omitempty"`
	Notes    []string               `json:"notes,omitempty"`
}

func reportInstall(e *env, c *cli.Context, res *install.Result, uninstall bool) error {
	h, _ := e.home(c)
	needsRootFixes(res, os.Args[1:], h, os.Geteuid(), os.Getenv)
	r := installReport{DryRun: res.DryRun, Changed: res.Changed(), Folders: res.Folders}
	if !uninstall {
		r.Notes = res.Notes()
	}
	if !uninstall {
		warned := map[string]bool{}
		for _, f := range res.Folders {
			if reg, err := host.Parse(f.Registry); err == nil && !warned[f.Registry] {
				warned[f.Registry] = true
				r.Warnings = append(r.Warnings, issue.Warnings(reg)...)
			}
		}
	}
	u := e.ui
	for _, w := range r.Warnings {
		u.warnf("%s", w)
	}
	reportFolderProblems(u, res)
	if c.Bool("json") {
		return e.printJSON(r)
	}
	grouped := map[string]bool{}
	for i, f := range res.Folders {
		if uninstall && !f.Changed && !grouped[f.Registry] {
			// Nothing to remove in several roots: the registry once, with
			// the roots.
			var where []string
			for _, g := range res.Folders[i:] {
				if g.Registry == f.Registry && !g.Changed {
					where = append(where, fmt.Sprintf("%s (%s)", g.Root, g.Target))
				}
			}
			if len(where) > 1 {
				grouped[f.Registry] = true
				u.printf("%s: nothing to remove, certkit installed nothing for it in %s", f.Registry, strings.Join(where, ", "))
				continue
			}
		}
		if uninstall && !f.Changed && grouped[f.Registry] {
			continue
		}
		reportFolder(u, f, res.DryRun, uninstall)
	}
	reportNotes(u, r.Notes)
	switch {
	case res.DryRun:
		u.printf("Dry run: nothing was written.")
	case uninstall:
	case !r.Changed:
		u.printf("Nothing changed: every folder is up to date.")
	default:
		next := verifyCommands(res, runRootFlags(c))
		if len(next) == 1 {
			u.printf("Next: %s", next[0])
			break
		}
		u.printf("Next:")
		for _, cmd := range next {
			u.printf("  %s", cmd)
		}
	}
	return nil
}

// reportFolderProblems warns about what install found in the folders and
// did not stop at, each with its fix.
func reportFolderProblems(u *ui, res *install.Result) {
	for _, f := range res.Folders {
		for _, p := range f.Problems {
			if p.File == "" {
				u.warnf("%s: %s", f.Dir, p.Message)
			} else {
				u.warnf("%s/%s", f.Dir, p.String())
			}
			if p.Fix != "" {
				u.hintf("%s", p.Fix)
			}
		}
	}
}

// reportNotes prints install's notes (install.Result.Notes).
func reportNotes(u *ui, notes []string) {
	for _, n := range notes {
		u.printf("Note: %s", n)
	}
}

// verifyCommands are the verify commands that check what install just
// wrote: one per registry (verify takes one --host), reading the same
// roots as the install (where: its --target, --certs-dir and --home).
func verifyCommands(res *install.Result, where string) []string {
	seen := map[string]bool{}
	var out []string
	for _, f := range res.Folders {
		if !seen[f.Registry] {
			seen[f.Registry] = true
			out = append(out, "certkit verify --host "+shellquote.Quote(f.Registry)+where)
		}
	}
	return out
}

func reportFolder(u *ui, f install.FolderResult, dry, uninstall bool) {
	switch {
	case uninstall && !f.Changed:
		u.printf("%s (%s): nothing to remove, certkit installed nothing in %s", f.Registry, f.Target, f.Dir)
		return
	case !f.Changed:
		u.printf("%s (%s): nothing changed, %s is up to date", f.Registry, f.Target, f.Dir)
		return
	}
	verb := map[[2]bool]string{
		{false, false}: "Installed", {true, false}: "Would install",
		{false, true}: "Removed certkit's files for", {true, true}: "Would remove certkit's files for",
	}[[2]bool{dry, uninstall}]
	u.printf("%s %s (%s) in %s:", verb, f.Registry, f.Target, f.Dir)
	width := 0
	for _, fc := range f.Files {
		width = max(width, len(fc.Name))
	}
	for _, fc := range f.Files {
		what := string(fc.Action)
		switch {
		case fc.Action == install.Keep && !fc.Certkit:
			what = "kept (not certkit's)"
		case fc.Action == install.Keep:
			what = "kept"
		case fc.Action == install.Remove && uninstall:
			what = "removed"
		}
		if dry && fc.Action != install.Keep && fc.Action != install.Unchanged {
			what = "will " + map[install.Action]string{install.Create: "create", install.Update: "update", install.Rewrite: "rewrite", install.Remove: "remove"}[fc.Action]
		}
		line := fmt.Sprintf("  %-*s  %s  %s", width, fc.Name, fc.ModeStr, what)
		if fc.Note != "" {
			line += ": " + fc.Note
		}
		if fc.Backup != "" {
			line += "; backup " + fc.Backup
		}
		u.printf("%s", line)
	}
	if f.Removed {
		u.printf("  (the folder itself goes too: nothing else was in it)")
	}
	switch {
	case f.Note != "" && uninstall:
		u.printf("  (%s)", f.Note)
	case f.Note != "":
		u.printf("Then %s.", f.Note)
	}
}
