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
	return home.Resolve(flag, processEnv())
}

// processEnv is this process's environment, as the certkit home and the
// certs roots read it.
func processEnv() home.Env {
	return home.Env{Getenv: os.Getenv, HomeDir: os.UserHomeDir, LookupUser: home.LookupUserHome, Geteuid: os.Geteuid}
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
