package main

import (
	"encoding/json"
	"io"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/certkit/certkit/internal/home"
)

// env is what every command needs from the process: streams and the home.
type env struct {
	stdin  io.Reader
	stdout io.Writer
	ui     *ui

	sudoNoted bool // the hint about an ignored SUDO_USER was given
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
