package main

import (
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/certkit/certkit/ca"
	"github.com/certkit/certkit/internal/home"
	"github.com/certkit/certkit/internal/shellquote"
	"github.com/certkit/certkit/issue"
	"github.com/certkit/certkit/templates"
)

// env is what every command needs from the process: streams and the home.
type env struct {
	stdin  io.Reader
	stdout io.Writer
	ui     *ui

	sudoNoted bool // the hint about an ignored SUDO_USER was given
	// homeArg is the run's " --home DIR" (see homeArg), once the command
	// resolved the home: the hints of its errors carry it.
	homeArg string
}

func newEnv(stdin io.Reader, stdout, stderr io.Writer) *env {
	return &env{stdin: stdin, stdout: stdout, ui: newUI(stderr)}
}

// home resolves the certkit home from --home and the environment.
// --home may stand before or after the command name; the innermost wins.
func (e *env) home(c *cli.Context) (string, error) {
	flag := ""
	for _, cc := range c.Lineage() {
		if v := cc.String("home"); v != "" {
			flag = v
			break
		}
	}
	e.homeArg = homeArg(c)
	h, err := home.Resolve(flag, processEnv())
	if err == nil && flag == "" && os.Getenv("CERTKIT_HOME") == "" && os.Getenv("XDG_DATA_HOME") == "" && !e.sudoNoted {
		if su := ignoredSudoUser(); su != "" {
			e.sudoNoted = true
			e.ui.hintf("running as root in a shell sudo started (SUDO_USER=%s, SUDO_COMMAND=%s): using root's certkit home %s; pass --home to use another",
				su, os.Getenv("SUDO_COMMAND"), h)
		}
	}
	return h, err
}

// homeArg is " --home DIR" when the command line named the certkit home
// (before or after the command name), DIR made absolute: every certkit
// command the run prints carries it, so that pasted it reads the same
// home from any folder.
func homeArg(c *cli.Context) string {
	for _, cc := range c.Lineage() {
		if v := cc.String("home"); v != "" {
			if abs, err := filepath.Abs(v); err == nil {
				v = abs
			}
			return " --home " + shellquote.Quote(v)
		}
	}
	return ""
}

// carryHome gives the typed errors whose hints name a certkit command the
// run's --home, for the command to read the same home.
func (e *env) carryHome(err error) {
	if e.homeArg == "" {
		return
	}
	var noCA *ca.NotFoundError
	if errors.As(err, &noCA) {
		noCA.Flags = e.homeArg
	}
	var notIssued *templates.NotIssuedError
	if errors.As(err, &notIssued) {
		notIssued.Flags = e.homeArg
	}
	var expired *issue.CAExpiredError
	if errors.As(err, &expired) {
		expired.Flags = e.homeArg
	}
}

// processEnv is this process's environment, as the certkit home and the
// certs roots read it.
func processEnv() home.Env {
	return home.Env{Getenv: sudoGetenv, HomeDir: os.UserHomeDir, LookupUser: home.LookupUserHome, Geteuid: os.Geteuid}
}

// printJSON writes v to stdout as indented JSON.
func (e *env) printJSON(v any) error {
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func jsonFlag() cli.Flag {
	return &cli.BoolFlag{Name: "json", Usage: "print the result as JSON on stdout"}
}

func forceFlag(what string) cli.Flag {
	return &cli.BoolFlag{Name: "force", Usage: "replace " + what + " (the old files are kept as .bak- backups)"}
}
