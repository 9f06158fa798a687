// Command certkit makes and installs the certificates that a private
// container registry with TLS client authentication needs.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"

	cflog "github.com/cloudflare/cfssl/log"
	"github.com/urfave/cli/v2"

	"github.com/certkit/certkit/internal/errs"
	"github.com/certkit/certkit/wizard"
)

func main() { os.Exit(run(os.Args)) }

// usageError marks a command line certkit cannot make sense of (exit 2).
type usageError struct{ err error }

func (u usageError) Error() string    { return u.err.Error() }
func (u usageError) Unwrap() error    { return u.err }
func (u usageError) InputError() bool { return true }

// run runs certkit and returns its exit code: 0 ok, 1 failure, 2 usage.
func run(args []string) int {
	return runWith(args, os.Stdin, os.Stdout, os.Stderr)
}

func runWith(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	// cfssl logs to stderr through a package-level logger; certkit speaks
	// for itself.
	cflog.Level = cflog.LevelFatal + 1
	e := newEnv(stdin, stdout, stderr)
	err := newAppWith(e).Run(args)
	if err == nil {
		return 0
	}
	e.carryHome(err)
	u := e.ui
	u.errorf("%s", err)
	if h := errs.HintOf(err); h != "" {
		u.hintf("%s", h)
	}
	if errors.Is(err, errInterrupted) {
		return 130
	}
	if errs.IsInput(err) {
		return 2
	}
	return 1
}

// errInterrupted ends a command that the user stopped (Ctrl-C): exit 130.
var errInterrupted = wizard.ErrInterrupted

// version is certkit's version from its build info: the module version
// (a release tag, or the pseudo-version that go build stamps in a git
// checkout) and the VCS revision it was built from.
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	return versionOf(bi)
}

func versionOf(bi *debug.BuildInfo) string {
	v := bi.Main.Version
	if v == "" || v == "(devel)" {
		v = "devel"
	}
	var rev, modified string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				modified = ", modified"
			}
		}
	}
	if rev == "" {
		return v
	}
	return v + " (revision " + rev + modified + ")"
}

func newApp(stdin io.Reader, stdout, stderr io.Writer) *cli.App {
	return newAppWith(newEnv(stdin, stdout, stderr))
}

func newAppWith(env *env) *cli.App {
	stdin, stdout, stderr := env.stdin, env.stdout, env.ui.w
	app := &cli.App{
		Name:    "certkit",
		Usage:   "certificates for private container registries with TLS client authentication",
		Version: version(),
		Description: `certkit makes a private CA, issues registry server and client certificates,
installs them where Docker, podman and containerd look (certs.d), and checks
them against the live registry.

Examples:
  certkit demo                      # the whole flow in a temporary folder
  certkit setup                     # the same for a real registry, with questions
  certkit init-ca
  certkit issue server --host reg.example.com:5000
  certkit issue client --host reg.example.com:5000
  sudo certkit install --host reg.example.com:5000
  certkit verify --host reg.example.com:5000`,
		Reader:          stdin,
		Writer:          stdout,
		ErrWriter:       stderr,
		Flags:           []cli.Flag{homeFlag()},
		HideHelpCommand: true,
		Commands: []*cli.Command{
			initCACommand(env),
			issueCommand(env),
			templateCommand(env),
			testserverCommand(env),
			installCommand(env), uninstallCommand(env),
			exportCommand(env), requestCommand(env), signCommand(env),
			verifyCommand(env),
			statusCommand(env), renewCommand(env),
			revokeCommand(env), crlCommand(env), rotateCACommand(env),
			setupCommand(env),
			demoCommand(env),
			completionCommand(env),
			manCommand(env),
			completeCommand(env),
		},
		// Errors are printed once, by run; App.Run never exits.
		ExitErrHandler: func(*cli.Context, error) {},
		Action: func(c *cli.Context) error {
			if c.Args().First() == "help" {
				return showHelp(c, c.Args().Tail(), stdin, stdout, stderr)
			}
			if c.Args().Present() {
				err := fmt.Errorf("unknown command %q; run certkit --help", c.Args().First())
				return usageError{errs.WithHint(err, commandSuggestion(c.Args().First(), c.App.Commands, "certkit "))}
			}
			return cli.ShowAppHelp(c)
		},
	}
	// Every command's usage errors exit 2 and suggest the flag meant.
	app.OnUsageError = func(_ *cli.Context, err error, _ bool) error {
		return usageErrorWithSuggestion(err, app.Flags)
	}
	var setUsage func([]*cli.Command)
	setUsage = func(cmds []*cli.Command) {
		for _, cmd := range cmds {
			cmd.OnUsageError = func(_ *cli.Context, err error, _ bool) error {
				return usageErrorWithSuggestion(err, cmd.Flags)
			}
			setUsage(cmd.Subcommands)
		}
	}
	setUsage(app.Commands)
	return app
}

// showHelp is certkit help [COMMAND [SUBCOMMAND]]: the same text as
// certkit COMMAND SUBCOMMAND --help.
func showHelp(c *cli.Context, path []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(path) == 0 {
		return cli.ShowAppHelp(c)
	}
	cmds := c.App.Commands
	for i, name := range path {
		cmd := findVisibleCommand(cmds, name)
		if cmd == nil {
			within := strings.Join(append([]string{"certkit"}, path[:i]...), " ")
			err := errs.Input(fmt.Sprintf("no help for %q: %s has no command %q", strings.Join(path, " "), within, name), "")
			hint := commandSuggestion(name, cmds, within+" ")
			if hint == "" {
				hint = "run " + within + " --help"
			}
			return usageError{errs.WithHint(err, hint)}
		}
		cmds = cmd.Subcommands
	}
	args := append(append([]string{"certkit"}, path...), "--help")
	return newApp(stdin, stdout, stderr).Run(args)
}

func findVisibleCommand(cmds []*cli.Command, name string) *cli.Command {
	for _, c := range cmds {
		if !c.Hidden && c.HasName(name) {
			return c
		}
	}
	return nil
}

// homeFlag is built per use: urfave/cli flags keep state once applied.
func homeFlag() cli.Flag {
	return &cli.StringFlag{
		Name:  "home",
		Usage: "certkit home (default $CERTKIT_HOME or $XDG_DATA_HOME/certkit)",
	}
}
