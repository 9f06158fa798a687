package main

import (
	"fmt"
	"net"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/certkit/certkit/host"
	"github.com/certkit/certkit/internal/errs"
	"github.com/certkit/certkit/internal/prose"
	"github.com/certkit/certkit/testserver"
)

func testserverCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:      "testserver",
		Usage:     "serve GET /v2/ over HTTPS with the issued server certificate, to try clients before the registry exists",
		UsageText: "certkit testserver --host HOST[:PORT] [--listen ADDRESS:PORT]",
		Description: `Serves the server certificate issued for the registry and asks every client
for a certificate. GET /v2/ answers 200 {} with Docker-Distribution-API-Version:
registry/2.0 when the client's certificate was signed by the certkit CA, and
403 with the reason otherwise (none sent, another CA, expired, not for client
authentication). Each request is logged to stderr with the client
certificate's subject. The address it listens on is printed on stdout.
Ctrl-C stops it.

Clients must reach it by the registry's name, which the certificate holds:
for a name that does not resolve to this machine use /etc/hosts, or
curl --resolve HOST:PORT:127.0.0.1.

Examples:
  certkit testserver --host reg.example.com:5000
  certkit testserver --host reg.example.com:5000 --listen :5000`,
		Flags: []cli.Flag{
			homeFlag(),
			&cli.StringFlag{Name: "host", Usage: "the registry whose server certificate to serve: HOST[:PORT] (required)"},
			&cli.StringFlag{Name: "listen", Usage: "ADDRESS:PORT to listen on; port 0 picks a free one", Value: "127.0.0.1:0"},
		},
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return usageError{errs.Input("testserver takes no arguments, got "+c.Args().First(), "")}
			}
			if c.String("host") == "" {
				return errs.Input("--host is required", "certkit testserver --host reg.example.com:5000")
			}
			reg, err := host.Parse(c.String("host"))
			if err != nil {
				return err
			}
			addr := c.String("listen")
			if err := checkListen(addr); err != nil {
				return err
			}
			h, err := e.home(c)
			if err != nil {
				return err
			}
			opt, err := testserver.Load(h, reg)
			if err != nil {
				return err
			}
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return errs.WithHint(fmt.Errorf("cannot listen on %s: %w", addr, err),
					"choose another address with --listen, or port 0 for a free one: --listen 127.0.0.1:0")
			}
			ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
			defer stop()

			var mu sync.Mutex // handlers log concurrently
			opt.Log = func(en testserver.Entry) {
				subject := en.Subject
				if subject == "" {
					subject = "(no client certificate)"
				}
				mu.Lock()
				defer mu.Unlock()
				line := fmt.Sprintf("%s %s %s %s %d %s", en.Time.UTC().Format(time.RFC3339), en.Remote, en.Method, en.Path, en.Status, subject)
				if en.Reason != "" {
					line += ": " + en.Reason
				}
				// The subject is the client's to choose: a newline in it
				// would forge a log line, an ESC reach the terminal.
				e.ui.printf("%s", prose.Printable(line))
			}
			opt.ErrorLog = func(msg string) {
				mu.Lock()
				defer mu.Unlock()
				e.ui.printf("%s %s", time.Now().UTC().Format(time.RFC3339), prose.Printable(msg))
			}

			fmt.Fprintln(e.stdout, ln.Addr().String())
			u := e.ui
			u.printf("Serving https://%s/v2/ with the server certificate of %s.", ln.Addr(), reg)
			u.printf("  accepts  client certificates signed by %q", opt.ClientCAs[0].Subject.CommonName)
			if _, port, err := net.SplitHostPort(ln.Addr().String()); err == nil && reg.Port != 0 && port != strconv.Itoa(reg.Port) {
				u.printf("  note     clients of %s connect to port %d; to try them, run with --listen :%d", reg, reg.Port, reg.Port)
			}
			u.printf("Stop it with Ctrl-C.")
			if err := testserver.Serve(ctx, ln, opt); err != nil {
				return err
			}
			u.printf("Stopped.")
			return nil
		},
	}
}

// checkListen accepts ADDRESS:PORT and :PORT.
func checkListen(s string) error {
	bad := func(why string) error {
		return errs.Input(fmt.Sprintf("--listen %q: %s", s, why), "give ADDRESS:PORT or :PORT, e.g. --listen 127.0.0.1:0")
	}
	h, p, err := net.SplitHostPort(s)
	if err != nil {
		return bad("not ADDRESS:PORT")
	}
	if n, err := strconv.Atoi(p); err != nil || n < 0 || n > 65535 {
		return bad("the port must be a number from 0 to 65535")
	}
	if h != "" && net.ParseIP(h) == nil {
		if _, err := host.Parse(h); err != nil {
			return bad("the address is not an IP address or a host name")
		}
	}
	return nil
}
