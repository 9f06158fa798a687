package main

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/certkit/certkit/ca"
	"github.com/certkit/certkit/host"
	"github.com/certkit/certkit/install"
	"github.com/certkit/certkit/internal/atomicfile"
	"github.com/certkit/certkit/internal/errs"
	"github.com/certkit/certkit/internal/home"
	"github.com/certkit/certkit/internal/shellquote"
	"github.com/certkit/certkit/templates"
)

// templateKind describes a template for the CLI: what it is, which of the
// optional flags it takes, and what to do with the written file.
type templateKind struct {
	kind    templates.Kind
	usage   string
	flags   []string // of listen, upstream, behind-proxy, storage, certs-dir, server-dir
	out     string   // a typical --out
	example string
	next    func(file string, reg host.Registry, c *cli.Context) string
}

// templateKinds lists the templates in the order help shows them.
var templateKinds = []templateKind{
	{templates.Registry, "distribution config.yml: TLS with the issued chain and key, client certificates required; or plain HTTP behind nginx or Apache",
		[]string{"listen", "upstream", "behind-proxy", "storage", "server-dir"}, "config.yml",
		"certkit template registry --host reg.example.com:5000 --storage /srv/registry --out config.yml\n" +
			"  certkit template registry --host reg.example.com:5000 --server-dir " + install.ServerDirBase + "/reg.example.com:5000 --out config.yml\n" +
			"  certkit template registry --host reg.example.com:5000 --behind-proxy --out config.yml",
		func(file string, reg host.Registry, c *cli.Context) string {
			if !c.Bool("behind-proxy") && c.String("server-dir") == "" {
				return "docker-registry serve " + shellquote.Quote(file) + " (as the owner of the certkit home)\n" +
					"  for Debian's docker-registry service (it cannot read the home): sudo certkit install --server" + homeArg(c) +
					" --host " + shellquote.Quote(reg.String())
			}
			if !c.Bool("behind-proxy") {
				return "docker-registry serve " + shellquote.Quote(file) + " (Debian's service reads " + templates.DebianConfig + ": systemctl restart docker-registry)"
			}
			flags := homeArg(c) + templates.ProxyFlags(reg, c.String("listen"), c.String("upstream"))
			return "docker-registry serve " + shellquote.Quote(file) + "\n" +
				"  and in front of it, with the same flags: certkit template nginx" + flags + " (or apache)"
		}},
	{templates.Nginx, "nginx TLS server block requiring client certificates, proxying to the registry",
		[]string{"listen", "upstream"}, "/etc/nginx/conf.d/registry.conf",
		"certkit template registry --host reg.example.com:5000 --behind-proxy --out config.yml\n" +
			"  certkit template nginx --host reg.example.com --upstream 127.0.0.1:5000 --out registry.conf",
		func(file string, reg host.Registry, c *cli.Context) string {
			return behindProxyCommand(reg, c) + "\n" +
				fmt.Sprintf("  then docker-registry serve config.yml, include %s in nginx's http {} block, and nginx -t && nginx -s reload", file)
		}},
	{templates.Apache, "Apache virtual host requiring client certificates, proxying to the registry",
		[]string{"listen", "upstream"}, "/etc/apache2/sites-available/registry.conf",
		"certkit template registry --host reg.example.com:5000 --behind-proxy --out config.yml\n" +
			"  certkit template apache --host reg.example.com --upstream 127.0.0.1:5000",
		func(file string, reg host.Registry, c *cli.Context) string {
			return behindProxyCommand(reg, c) + "\n" +
				fmt.Sprintf("  then docker-registry serve config.yml, a2enmod ssl proxy proxy_http headers, enable %s as a site, and apache2ctl -t && apache2ctl graceful", file)
		}},
	{templates.Containerd, "containerd hosts.toml naming the CA and client pairs in certs.d (install --target containerd writes its own)",
		[]string{"certs-dir"}, "hosts.toml",
		"certkit template containerd --host reg.example.com:5000 --certs-dir /etc/containerd/certs.d",
		func(file string, reg host.Registry, c *cli.Context) string {
			return fmt.Sprintf("copy %s to %s beside ca.crt and the client pairs (certkit install --host %s --target containerd writes that folder, hosts.toml included)",
				file, filepath.Join(c.String("certs-dir"), reg.String(), "hosts.toml"), reg)
		}},
	{templates.Compose, "docker-compose.yml running registry:2 with the certificates mounted read-only",
		[]string{"listen", "storage"}, "docker-compose.yml",
		"certkit template compose --host reg.example.com:5000 --storage /srv/registry --out docker-compose.yml",
		func(file string, _ host.Registry, _ *cli.Context) string {
			return "docker compose -f " + file + " up -d"
		}},
}

// behindProxyCommand is the command that renders the config.yml of the
// registry behind the proxy c renders: the same --home, --host, --listen
// and --upstream, so that the registry listens where the proxy sends.
func behindProxyCommand(reg host.Registry, c *cli.Context) string {
	return "certkit template registry" + homeArg(c) +
		templates.ProxyFlags(reg, c.String("listen"), c.String("upstream")) + " --behind-proxy --out config.yml"
}

func templateCommand(e *env) *cli.Command {
	var names []string
	var subs []*cli.Command
	for _, k := range templateKinds {
		names = append(names, string(k.kind))
		subs = append(subs, templateKindCommand(e, k))
	}
	// The signer's template is for the CA machine, not a registry: it
	// writes a folder of files, so it stays out of the registry list.
	subs = append(subs, templateMultirootcaCommand(e))
	return &cli.Command{
		Name:      "template",
		Usage:     "print the server-side configuration for a registry: " + strings.Join(names, ", "),
		UsageText: "certkit template " + strings.Join(names, "|") + " --host HOST[:PORT] [--out FILE [--force]]",
		Description: `Renders a configuration that names the absolute paths of the server
certificate, key and chain that certkit issued for the registry, and of the
certkit CA. It goes to stdout, or to --out FILE (written atomically; an
existing file is replaced only with --force, which keeps a .bak- backup).
A registry without a server certificate is refused: run
certkit issue server --host HOST first.

Examples:
  certkit template registry --host reg.example.com:5000 --out config.yml
  certkit template nginx --host reg.example.com > /etc/nginx/conf.d/registry.conf
  certkit template registry --host reg.example.com --behind-proxy --out config.yml
  certkit template apache --host reg.example.com
  certkit template containerd --host reg.example.com:5000
  certkit template compose --host reg.example.com:5000 --out docker-compose.yml`,
		Subcommands: subs,
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				_, err := templates.ParseKind(c.Args().First())
				return usageError{err}
			}
			return usageError{errs.Input("name the template to render", "certkit template "+strings.Join(names, "|")+" --host HOST[:PORT]")}
		},
	}
}

func templateKindCommand(e *env, k templateKind) *cli.Command {
	kind := k.kind
	flags := []cli.Flag{
		homeFlag(),
		&cli.StringFlag{Name: "host", Usage: "the registry, as in image references: HOST[:PORT] (required)"},
		&cli.StringFlag{Name: "out", Usage: "write to this file instead of stdout (e.g. " + k.out + ")"},
		forceFlag("an existing --out file"),
	}
	for _, f := range k.flags {
		switch f {
		case "listen":
			usage := "where the server listens: PORT, :PORT or ADDRESS:PORT (default: every address, the registry's port or 443)"
			if kind == templates.Registry {
				usage = "where the registry (--behind-proxy: its proxy) listens: PORT, :PORT or ADDRESS:PORT (default: every address, the registry's port or 443)"
			}
			flags = append(flags, &cli.StringFlag{Name: "listen", Usage: usage})
		case "upstream":
			usage := "the registry behind the proxy: HOST:PORT (default: " + templates.UpstreamRule + ")"
			if kind == templates.Registry {
				usage = "with --behind-proxy: the registry's address (default: " + templates.UpstreamRule + ")"
			}
			flags = append(flags, &cli.StringFlag{Name: "upstream", Usage: usage})
		case "behind-proxy":
			flags = append(flags, &cli.BoolFlag{Name: "behind-proxy", Usage: "plain HTTP on --upstream for nginx or Apache in front; give both the same --listen and --upstream"})
		case "storage":
			usage := "the registry's storage folder (default " + templates.DefaultStorage + ")"
			if kind == templates.Compose {
				usage = "bind-mount this folder as the registry's storage (default: a named volume)"
			}
			flags = append(flags, &cli.StringFlag{Name: "storage", Usage: usage})
		case "certs-dir":
			flags = append(flags, &cli.StringFlag{Name: "certs-dir", Usage: "containerd's certs root", Value: templates.DefaultCertsDir})
		case "server-dir":
			flags = append(flags, &cli.StringFlag{Name: "server-dir", Usage: "name the files install --server put in this folder, not the home's"})
		}
	}
	return &cli.Command{
		Name:      string(kind),
		Usage:     k.usage,
		UsageText: "certkit template " + string(kind) + " --host HOST[:PORT] [options]",
		Description: fmt.Sprintf(`Examples:
  certkit template %s --host reg.example.com:5000
  %s`, kind, k.example),
		Flags: flags,
		OnUsageError: func(_ *cli.Context, err error, _ bool) error {
			return usageError{err}
		},
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return usageError{errs.Input("certkit template "+string(kind)+" takes no arguments, got "+c.Args().First(), "")}
			}
			if c.String("host") == "" {
				return errs.Input("--host is required", "certkit template "+string(kind)+" --host reg.example.com:5000")
			}
			if c.Bool("force") && c.String("out") == "" {
				return errs.Input("--force needs --out", "certkit template "+string(kind)+" --host "+c.String("host")+" --out FILE --force")
			}
			reg, err := host.Parse(c.String("host"))
			if err != nil {
				return err
			}
			h, err := e.home(c)
			if err != nil {
				return err
			}
			if kind != templates.Containerd {
				// A home made before certkit wrote CRLs gets its empty
				// list now: the configuration names it.
				if wrote, err := ca.EnsureCRL(h, time.Now(), 0); err != nil && !errors.As(err, new(*ca.NotFoundError)) {
					return err
				} else if wrote {
					e.ui.printf("Wrote an empty CRL for the certkit CA: %s (certkit crl signs it again)", filepath.Join(home.CADir(h), ca.CRLFile))
				}
			}
			out, err := templates.Render(kind, templates.Options{
				Home:        h,
				Registry:    reg,
				Listen:      c.String("listen"),
				Upstream:    c.String("upstream"),
				BehindProxy: c.Bool("behind-proxy"),
				HomeFlags:   homeArg(c),
				Storage:     c.String("storage"),
				CertsDir:    c.String("certs-dir"),
				ServerDir:   c.String("server-dir"),
			})
			if err != nil {
				return err
			}
			if kind == templates.Containerd {
				if names, err := home.ClientNames(h, reg.String()); err == nil && len(names) == 0 {
					e.ui.warnf("no client certificate was issued for %s yet; the client line is left as a comment", reg)
					e.ui.hintf("certkit issue client --host %s, then render the template again", reg)
				}
			}
			path := c.String("out")
			if path == "" {
				_, err := e.stdout.Write(out)
				return err
			}
			res, err := atomicfile.WriteAll([]atomicfile.File{{Path: path, Data: out, Mode: 0o644}},
				atomicfile.Options{Force: c.Bool("force"), DirMode: 0o755})
			if err != nil {
				return err
			}
			e.ui.printf("Wrote the %s configuration for %s to %s.", kind, reg, res.Written[0])
			for _, b := range res.Backups {
				e.ui.printf("  backup  %s", b)
			}
			e.ui.printf("Next: %s", k.next(res.Written[0], reg, c))
			return nil
		},
	}
}
