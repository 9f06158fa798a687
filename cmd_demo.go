package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/signal"
	"path/filepath"
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
	"github.com/certkit/certkit/testserver"
	"github.com/certkit/certkit/verify"
	"github.com/certkit/certkit/wizard"
)

// demoHost is the registry name of the demo. It is not a loopback name, as
// a real registry's would not be; the demo connects to 127.0.0.1 directly.
const demoHost = "registry.certkit.test"

func demoCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:      "demo",
		Usage:     "run the whole flow in a temporary folder: CA, certificates, install, a test registry, verify",
		UsageText: "certkit demo [--keep DIR]",
		Description: `Needs no root and touches nothing outside a temporary folder: creates a CA,
issues a server and a client certificate for ` + demoHost + `, installs the client
material into a certs.d folder, starts certkit's test registry endpoint on
127.0.0.1, verifies the folder against it, shows that a client without the
certificate is refused, and cleans up.

Examples:
  certkit demo
  certkit demo --keep ./demo`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "keep", Usage: "work in this new folder and keep it afterwards"},
		},
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return usageError{errs.Input("demo takes no arguments, got "+c.Args().First(), "")}
			}
			// Ctrl-C or SIGTERM ends the demo through its context, so
			// that the temporary folder (which holds a CA key) is removed.
			ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
			defer stop()
			err := runDemo(e, ctx, c.String("keep"))
			if ctx.Err() != nil && c.Context.Err() == nil {
				return errInterrupted
			}
			return err
		},
	}
}

func runDemo(e *env, ctx context.Context, keep string) (err error) {
	u := e.ui
	dir := keep
	if keep != "" {
		if _, err := os.Stat(keep); err == nil {
			return errs.Input(keep+" exists already", "name a new folder for --keep")
		}
		if err := os.MkdirAll(keep, 0o700); err != nil {
			return err
		}
		if dir, err = filepath.Abs(keep); err != nil {
			return err
		}
	} else {
		if dir, err = os.MkdirTemp("", "certkit-demo-"); err != nil {
			return err
		}
		defer os.RemoveAll(dir)
	}
	homeDir, certsDir := filepath.Join(dir, "home"), filepath.Join(dir, "certs.d")

	// The registry's port is part of its name (certs.d/<host:port>), so
	// listen first.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	reg, err := host.Parse(demoHost + ":" + strconv.Itoa(port))
	if err != nil {
		return err
	}

	u.printf("== 1. A CA, a server and a client certificate, installed (certkit setup --yes)")
	plan := wizard.Plan{Home: homeDir, Registry: reg, Role: wizard.Both, Names: []string{"demo-client"},
		Targets: []install.Target{install.Docker}, CertsDir: certsDir}
	plan.Defaults()
	out, err := wizard.Run(plan, home.Env{Getenv: func(string) string { return "" }, HomeDir: func() (string, error) { return dir, nil }}, nil)
	if err != nil {
		return err
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	reportSetup(e, plan, out, false)

	u.printf("")
	u.printf("== 2. The test registry endpoint (certkit testserver) on %s", ln.Addr())
	opt, err := testserver.Load(homeDir, reg)
	if err != nil {
		return err
	}
	opt.Log = func(en testserver.Entry) {
		who := en.Subject
		if who == "" {
			who = "no client certificate"
		}
		line := fmt.Sprintf("   testserver: %s %s -> %d (%s)", en.Method, en.Path, en.Status, who)
		if en.Reason != "" {
			line += ": " + en.Reason
		}
		u.printf("%s", line)
	}
	sctx, stop := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- testserver.Serve(sctx, ln, opt) }()
	defer func() {
		stop()
		if serr := <-served; err == nil {
			err = serr
		}
	}()

	u.printf("")
	u.printf("== 3. certkit verify --host %s --certs-dir %s --addr %s", reg, certsDir, ln.Addr())
	vctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	rep := verify.Verify(vctx, verify.Options{Registry: reg, Dir: out.Install.Folders[0].Dir, Addr: ln.Addr().String(),
		Live: verify.LiveOptions{Timeout: 10 * time.Second}})
	cancel()
	printVerify(u, rep, false)
	if rep.Failed() {
		return errors.New("the demo's verify failed; see above")
	}
	refused := false
	for _, c := range rep.Checks {
		if c.ID == "no-client-cert" && c.Status == verify.OK {
			refused = true
		}
	}
	if !refused {
		return errors.New("the demo registry did not refuse a client without a certificate")
	}
	u.printf("   (the request without a client certificate above was refused, as it must be)")

	u.printf("")
	u.printf("== 4. What Docker, podman and skopeo read: %s", certsDir)
	if err := printTree(u, certsDir); err != nil {
		return err
	}
	caCert, err := ca.Load(homeDir)
	if err != nil {
		return err
	}
	u.printf("   ca.crt is the CA %q; no CA key and no server key ever land here.", caCert.Cert.Subject.CommonName)

	u.printf("")
	u.printf("== For a real registry, on the machine that keeps the CA")
	u.printf("   certkit init-ca")
	u.printf("   certkit issue server --host reg.example.com:5000")
	u.printf("   certkit template registry --host reg.example.com:5000 --out config.yml")
	u.printf("   certkit issue client --host reg.example.com:5000 --name laptop")
	u.printf("   certkit export --host reg.example.com:5000 --name laptop --out laptop.bundle")
	u.printf("and on the laptop, which never holds the CA key:")
	u.printf("   sudo certkit install --from laptop.bundle")
	u.printf("   certkit verify --host reg.example.com:5000")
	u.printf("or the first part with questions: certkit setup --role both")
	if keep != "" {
		u.printf("")
		u.printf("Kept everything in %s (certkit home: %s).", dir, homeDir)
	}
	return nil
}

// printTree lists a folder as `find -printf '%M %P'` would.
func printTree(u *ui, root string) error {
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if rel == "." {
			return nil
		}
		u.printf("   %s  %s%s", fi.Mode(), strings.Repeat("  ", strings.Count(rel, string(filepath.Separator))), filepath.Base(rel))
		return nil
	})
}
