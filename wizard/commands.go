package wizard

import (
	"strconv"
	"strings"
	"time"

	"github.com/certkit/certkit/ca"
	"github.com/certkit/certkit/internal/rootflags"
	"github.com/certkit/certkit/internal/shellquote"
	"github.com/certkit/certkit/issue"
)

// Commands are the single certkit commands that do what the plan does, on
// a fresh certkit home: what a script would run instead of the wizard.
func (p *Plan) Commands() []string {
	homeFlag := ""
	if p.HomeFlag {
		homeFlag = " --home " + shellquote.Quote(p.Home)
	}
	reg := "--host " + shellquote.Quote(p.Registry.String())
	keyType := ""
	if p.KeyType != ca.ECDSAP256 {
		keyType = " --key-type " + string(p.KeyType)
	}
	validity := ""
	if p.Validity != issue.DefaultValidity {
		validity = " --validity " + formatValidity(p.Validity)
	}
	force := ""
	if p.Force {
		force = " --force"
	}
	var cmds []string
	if p.NewCA {
		// setup replaces an existing CA when asked for a new one.
		cmds = append(cmds, "certkit init-ca"+homeFlag+keyType+" --force")
	} else {
		cmds = append(cmds, "certkit init-ca"+homeFlag+keyType+"   # unless the CA exists already")
	}
	if p.server() {
		cmds = append(cmds, "certkit issue server"+homeFlag+" "+reg+keyType+validity+force)
	}
	if p.client() {
		names := ""
		for _, n := range p.Names {
			names += " --name " + shellquote.Quote(n)
		}
		cmds = append(cmds, "certkit issue client"+homeFlag+" "+reg+names+keyType+validity+force)
		// A new CA changes certkit's installed files, which setup's
		// install replaces (never the user's), as install --force does.
		installForce := force
		if p.NewCA {
			installForce = " --force"
		}
		cmds = append(cmds, "certkit install"+homeFlag+" "+reg+p.targetFlags()+installForce)
	}
	if p.server() {
		cmds = append(cmds, "certkit template registry"+homeFlag+" "+reg+" --out "+shellquote.Quote(p.ConfigPath())+force)
	}
	return cmds
}

// SetupCommand is certkit setup --yes with every answer as a flag.
func (p *Plan) SetupCommand() string {
	args := []string{"certkit setup --yes"}
	if p.HomeFlag {
		args = append(args, "--home "+shellquote.Quote(p.Home))
	}
	args = append(args, "--host "+shellquote.Quote(p.Registry.String()), "--role "+string(p.Role))
	if p.NewCA {
		args = append(args, "--new-ca")
	}
	if p.CreateCA && !p.NewCA {
		args = append(args, "--create-ca")
	}
	if p.KeyType != ca.ECDSAP256 {
		args = append(args, "--key-type "+string(p.KeyType))
	}
	if p.Validity != issue.DefaultValidity {
		args = append(args, "--validity "+formatValidity(p.Validity))
	}
	if p.client() {
		for _, n := range p.Names {
			args = append(args, "--name "+shellquote.Quote(n))
		}
		args = append(args, strings.TrimSpace(p.targetFlags()))
	}
	if p.Force {
		args = append(args, "--force")
	}
	return strings.Join(args, " ")
}

// RootFlags are the --target and --certs-dir flags that name the plan's
// certs roots in a command.
func (p *Plan) RootFlags() string { return p.targetFlags() }

func (p *Plan) targetFlags() string {
	targets := make([]string, len(p.Targets))
	for i, t := range p.Targets {
		targets[i] = string(t)
	}
	return rootflags.Flags(targets, p.CertsDir)
}

// formatValidity writes a validity the way --validity reads it back.
func formatValidity(d time.Duration) string {
	const day = 24 * time.Hour
	if d%day == 0 {
		return strconv.FormatInt(int64(d/day), 10) + "d"
	}
	return d.String()
}
