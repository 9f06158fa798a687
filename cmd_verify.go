package main

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/certkit/certkit/ca"
	"github.com/certkit/certkit/host"
	"github.com/certkit/certkit/install"
	"github.com/certkit/certkit/internal/errs"
	"github.com/certkit/certkit/internal/home"
	"github.com/certkit/certkit/internal/safefs"
	"github.com/certkit/certkit/internal/shellquote"
	"github.com/certkit/certkit/verify"
)

func verifyCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "verify",
		Usage: "check a registry's certs.d folder, then the live registry with each client certificate",
		UsageText: "certkit verify --host HOST[:PORT] [--certs-dir DIR | --target T] [--addr IP:PORT] [--offline] [--timeout 10s] [--allow-open] [--strict] [--json]\n" +
			"certkit verify --all [--certs-dir DIR | --target T] [--offline] [--timeout 10s] [--json]",
		Description: `Reads <root>/<HOST[:PORT]>/ exactly as Docker and podman do (unpaired .cert/.key,
non-PEM .crt, key/cert mismatch, clientAuth, expiry, key modes, stray keys,
hosts.toml), then talks to the registry as a modern Docker/Go client does:
connect, TLS handshake (TLS 1.2+) trusting the system roots and the folder's
.crt files, the server's request for a client certificate and which pair
Docker will send, GET /v2/ with each pair on its own connection and once with
none, the Docker-Distribution-API-Version header, and loopback names.

One line per check (ok, warning, error), with the fix under each problem.
A registry that serves clients without a certificate fails, unless
--allow-open says it is meant to. Exit status 0 when no check failed (with
--strict: and none warned), 1 otherwise, 2 for bad usage.
--timeout bounds each registry; every network step gets at most half of it.
--addr connects to another address than the name resolves to (like curl
--resolve), for registries not yet in DNS.

Examples:
  certkit verify --host reg.example.com:5000
  certkit verify --host reg.example.com:5000 --addr 10.0.0.5:5000
  certkit verify --host reg.example.com:5000 --target podman --offline
  certkit verify --all --certs-dir ./certs.d --json`,
		Flags: []cli.Flag{
			homeFlag(),
			&cli.StringFlag{Name: "host", Usage: "the registry as in image references, HOST or HOST:PORT"},
			&cli.BoolFlag{Name: "all", Usage: "verify every registry folder in the certs root, several at a time"},
			targetFlag(),
			&cli.StringFlag{Name: "certs-dir", Usage: "read this certs root (laid out as for --target, docker by default) instead"},
			&cli.StringFlag{Name: "addr", Usage: "connect to this IP:PORT instead of what HOST resolves to"},
			&cli.BoolFlag{Name: "offline", Usage: "only read the folder; open no connection"},
			&cli.DurationFlag{Name: "timeout", Usage: "time allowed for each registry's live checks", Value: verify.DefaultTimeout},
			&cli.BoolFlag{Name: "allow-open", Usage: "the registry is meant to serve clients without a certificate: do not fail on it"},
			&cli.BoolFlag{Name: "strict", Usage: "fail on any warning too (for CI)"},
			jsonFlag(),
		},
		Action: func(c *cli.Context) error {
			opts, err := verifyOptions(e, c)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
			defer stop()
			// The live checks end at once when ctx is cancelled, but reading
			// a folder cannot be interrupted (a named pipe in certs.d blocks
			// Docker too): on Ctrl-C certkit stops waiting and exits.
			done := make(chan []*verify.Report, 1)
			go func() { done <- verify.All(ctx, opts, verify.DefaultConcurrency) }()
			select {
			case reports := <-done:
				if ctx.Err() != nil && c.Context.Err() == nil {
					return errInterrupted
				}
				return reportVerify(e, c.Bool("json"), c.Bool("strict"), reports)
			case <-ctx.Done():
				return errInterrupted
			}
		},
	}
}

// verifyOptions checks the command line and lists the folders to verify.
func verifyOptions(e *env, c *cli.Context) ([]verify.Options, error) {
	if c.Args().Present() {
		return nil, usageError{errs.Input("verify takes no arguments, got "+c.Args().First(), "name the registry with --host, or use --all")}
	}
	all, hostArg := c.Bool("all"), c.String("host")
	switch {
	case all && hostArg != "":
		return nil, errs.Input("--host and --all cannot be used together", "certkit verify --host reg.example.com:5000, or certkit verify --all")
	case !all && hostArg == "":
		return nil, errs.Input("--host or --all is required", "certkit verify --host reg.example.com:5000")
	case all && c.IsSet("addr"):
		return nil, errs.Input("--addr names one registry's address; it cannot be used with --all", "certkit verify --host reg.example.com:5000 --addr 10.0.0.5:5000")
	case c.Bool("offline") && c.IsSet("addr"):
		return nil, errs.Input("--addr is for the live checks; --offline makes none", "drop --addr or --offline")
	}
	timeout := c.Duration("timeout")
	if timeout <= 0 {
		return nil, errs.Input(fmt.Sprintf("--timeout %s must be positive", timeout), "e.g. --timeout 10s")
	}
	addr := c.String("addr")
	if c.IsSet("addr") {
		if err := checkDialAddr(addr); err != nil {
			return nil, err
		}
	}
	roots, err := resolveRoots(c)
	if err != nil {
		return nil, err
	}
	// The folders a runtime searches beyond its certs root (podman's
	// ~/.config, /etc/containers and /etc/docker, containerd's
	// /etc/containerd and /etc/docker) are the machine's; a root given
	// with --certs-dir is read alone.
	var lookupEnv *install.RootEnv
	if c.String("certs-dir") == "" {
		env := processEnv()
		lookupEnv = &env
	}
	base := verify.Options{Addr: addr, Offline: c.Bool("offline"), HomeFlags: homeArg(c), Live: verify.LiveOptions{Timeout: timeout, AllowOpen: c.Bool("allow-open"), Issued: homeServerCert(e, c)}, Revoked: homeRevoked(e, c)}
	folder := func(r install.Root, reg host.Registry) verify.Options {
		o := base
		o.Registry, o.Dir, o.Target = reg, r.Folder(reg), r.Target
		o.Search = verify.Lookup(r, reg, lookupEnv)
		o.Root = r
		if lookupEnv == nil {
			o.CertsDir = r.Dir
		}
		return o
	}
	var opts []verify.Options
	if !all {
		reg, err := host.Parse(hostArg)
		if err != nil {
			return nil, hostHint(err, "certkit verify")
		}
		for _, r := range roots {
			opts = append(opts, folder(r, reg))
		}
		return opts, nil
	}
	for _, r := range roots {
		regs, err := install.Registries(r.Dir)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("cannot list the certs root %s: %w", r.Dir, err)
		}
		for _, reg := range regs {
			opts = append(opts, folder(r, reg))
		}
		stray, err := install.StrayFolders(r.Dir)
		if err != nil {
			return nil, fmt.Errorf("cannot list the certs root %s: %w", r.Dir, err)
		}
		for _, name := range stray {
			o := base
			o.Misnamed, o.Root, o.Target, o.Dir = name, r, r.Target, filepath.Join(r.Dir, name)
			opts = append(opts, o)
		}
	}
	if len(opts) == 0 {
		var dirs []string
		for _, r := range roots {
			dirs = append(dirs, r.Dir)
		}
		return nil, errs.WithHint(fmt.Errorf("no registry folder in %s", strings.Join(dirs, ", ")),
			"install one first: certkit install --host "+shellquote.Quote(homeRegistry(e, c))+runRootFlags(c))
	}
	return opts, nil
}

// homeRegistry is a registry the certkit home holds material for (the
// first in name order), for a command certkit suggests; the README's
// example when it holds none.
func homeRegistry(e *env, c *cli.Context) string {
	if h, err := e.home(c); err == nil {
		if entries, err := os.ReadDir(home.HostsDir(h)); err == nil {
			for _, en := range entries {
				if reg, err := host.Parse(en.Name()); err == nil && en.IsDir() {
					return reg.String()
				}
			}
		}
	}
	return "reg.example.com:5000"
}

// checkDialAddr accepts HOST:PORT with a numeric port, as --addr.
func checkDialAddr(addr string) error {
	h, p, err := net.SplitHostPort(addr)
	n, perr := strconv.Atoi(p)
	if err != nil || h == "" || perr != nil || n < 1 || n > 65535 {
		return errs.Input(fmt.Sprintf("--addr %q is not IP:PORT", addr), "e.g. --addr 10.0.0.5:5000 or --addr [fd00::1]:5000")
	}
	return nil
}

// reportVerify prints one block per registry (or JSON), and fails when a
// check failed, or with strict when one warned.
func reportVerify(e *env, asJSON, strict bool, reports []*verify.Report) error {
	var failed []*verify.Report
	names := map[string]bool{}
	read := 0
	for _, r := range reports {
		if asJSON {
			if err := e.printJSON(r); err != nil {
				return err
			}
		} else {
			printVerify(e.ui, r, strict)
		}
		if r.Failed() || strict && r.Warnings > 0 {
			failed = append(failed, r)
		}
		names[r.Registry] = true
		if r.CoveredBy == "" {
			read++
		}
	}
	switch {
	case len(failed) == 0:
		return nil
	case len(reports) == 1 && !failed[0].Failed():
		return fmt.Errorf("%s failed verification: --strict fails on its %s", failed[0].Registry, plural(failed[0].Warnings, "warning"))
	case len(reports) == 1:
		return fmt.Errorf("%s failed verification", failed[0].Registry)
	case len(names) == len(reports):
		var list []string
		for _, r := range failed {
			list = append(list, r.Registry)
		}
		return fmt.Errorf("%d of %d registries failed verification: %s", len(failed), len(reports), strings.Join(list, ", "))
	}
	// Several certs roots (--target all): a registry's name says nothing,
	// its folder in each root does. verify reads a folder once for each
	// set of rules (a report covered by another reads nothing): the same
	// folder is named twice only when containerd reads it by its own.
	dirs := map[string]int{}
	for _, r := range failed {
		dirs[r.Dir]++
	}
	var list []string
	for _, r := range failed {
		var wrong []string
		for _, c := range r.Checks {
			what := c.Kind
			if what == "" {
				what = c.ID
			}
			bad := c.Status == verify.Error || strict && c.Status == verify.Warning
			if bad && !c.Summary && !slices.Contains(wrong, what) {
				wrong = append(wrong, what)
			}
		}
		name := r.Dir
		if dirs[r.Dir] > 1 && r.Target == string(install.Containerd) {
			name += " as containerd reads it"
		}
		list = append(list, fmt.Sprintf("%s (%s)", name, strings.Join(wrong, ", ")))
	}
	return fmt.Errorf("%d of %d folders failed verification: %s", len(failed), read, strings.Join(list, "; "))
}

func printVerify(u *ui, r *verify.Report, strict bool) {
	u.printf("%s (%s)", r.Registry, r.Dir)
	for _, c := range r.Checks {
		u.printf("  %-7s %s: %s", c.Status, c.ID, c.Message)
		if c.Status != verify.OK && c.Fix != "" {
			u.printf("          fix: %s", c.Fix)
		}
	}
	took := time.Duration(r.Elapsed).Round(time.Millisecond)
	switch {
	case r.CoveredBy != "":
		u.printf("%s: %s, %s; the folder is checked in the report for --target %s (%s)", r.Registry, plural(r.Errors, "error"), plural(r.Warnings, "warning"), r.CoveredBy, took)
	case r.Errors > 0:
		u.printf("%s: %s, %s (%s)", r.Registry, plural(r.Errors, "error"), plural(r.Warnings, "warning"), took)
	case strict && r.Warnings > 0:
		u.printf("%s: %s, failed under --strict (%s)", r.Registry, plural(r.Warnings, "warning"), took)
	default:
		u.printf("%s: passed, %s (%s)", r.Registry, plural(r.Warnings, "warning"), took)
	}
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return strconv.Itoa(n) + " " + what + "s"
}

// homeServerCert returns the server certificate the certkit home holds now
// for a registry, so that verify can tell a registry that was not
// restarted since its certificate was renewed. No home, no certificate.
func homeServerCert(e *env, c *cli.Context) func(host.Registry) *x509.Certificate {
	h, err := e.home(c)
	if err != nil {
		return nil
	}
	return func(reg host.Registry) *x509.Certificate {
		data, err := safefs.ReadFile(filepath.Join(home.HostDir(h, reg.String()), home.ServerCert), 0)
		if err != nil {
			return nil
		}
		certs, err := ca.ParseCerts(data)
		if err != nil {
			return nil
		}
		return certs[0]
	}
}
