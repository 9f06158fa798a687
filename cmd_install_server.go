package main

import (
	"errors"
	"fmt"
	"os/user"
	"strconv"

	"github.com/urfave/cli/v2"

	"github.com/certkit/certkit/install"
	"github.com/certkit/certkit/internal/errs"
	"github.com/certkit/certkit/internal/shellquote"
)

// defaultServerGroup is the group of Debian's docker-registry service
// user: install --server gives it the key when the group exists.
const defaultServerGroup = "docker-registry"

// installServer is certkit install --server: the registry machine's own
// chain, key and CA, copied out of the certkit home for the service user.
func installServer(e *env, c *cli.Context) error {
	for _, f := range []string{"from", "cert", "target", "certs-dir"} {
		if c.IsSet(f) {
			return usageError{errs.Input("--"+f+" is for client machines, not --server", "drop --"+f+"; --server takes --host, --dir and --group")}
		}
	}
	hosts := c.StringSlice("host")
	if len(hosts) != 1 {
		return usageError{errs.Input("--server needs one --host, the registry this machine serves", "certkit install --server --host reg.example.com:5000")}
	}
	regs, err := parseHosts(hosts, "certkit install --server")
	if err != nil {
		return err
	}
	reg := regs[0]
	group, err := serverGroup(c)
	if err != nil {
		return err
	}
	dir := c.String("dir")
	if dir == "" {
		dir = install.DefaultServerDir(reg)
	}
	h, err := e.home(c)
	if err != nil {
		return err
	}
	res, err := install.InstallServer(install.ServerOptions{
		Home: h, Registry: reg, Dir: dir, Group: group, Force: c.Bool("force"), DryRun: c.Bool("dry-run"), HomeFlags: homeArg(c),
	})
	if err != nil {
		return sudoHint(err, h)
	}
	u := e.ui
	if group == nil {
		u.warnf("no group %s on this machine: %s is 0600, readable only by its owner", defaultServerGroup, install.ServerKeyFile)
		u.hintf("name the group the registry runs as: --group GROUP")
	}
	if c.Bool("json") {
		return e.printJSON(res)
	}
	verb := "Installed"
	switch {
	case res.DryRun:
		verb = "Would install"
	case !res.Changed:
		u.printf("%s: nothing changed, %s is up to date", res.Registry, res.Dir)
	}
	if res.Changed {
		u.printf("%s the server files of %s in %s (valid until %s):", verb, res.Registry, res.Dir, res.NotAfter.UTC().Format("2006-01-02"))
		for _, f := range res.Files {
			owner := ""
			if f.Name == install.ServerKeyFile && res.Group != "" {
				owner = " group " + res.Group
			}
			line := fmt.Sprintf("  %-16s  %s%s  %s", f.Name, f.ModeStr, owner, f.Action)
			if f.Backup != "" {
				line += "; backup " + f.Backup
			}
			u.printf("%s", line)
		}
	}
	if res.DryRun {
		u.printf("Dry run: nothing was written.")
		return nil
	}
	u.printf("Next: certkit template registry%s --host %s --server-dir %s --out config.yml", homeArg(c), shellquote.Quote(res.Registry), shellquote.Quote(res.Dir))
	if res.Changed {
		u.printf("  and restart the registry to load them (systemctl restart docker-registry)")
	}
	return nil
}

// serverGroup is the group --group names, or docker-registry when that
// group exists and --group was not given; nil for neither.
func serverGroup(c *cli.Context) (*install.Group, error) {
	name := c.String("group")
	if name == "" {
		g, err := user.LookupGroup(defaultServerGroup)
		if err != nil {
			return nil, nil
		}
		return groupOf(g)
	}
	g, err := user.LookupGroup(name)
	if err != nil {
		if id, nerr := strconv.Atoi(name); nerr == nil && id >= 0 {
			if g, err = user.LookupGroupId(name); err != nil {
				return &install.Group{Name: name, GID: id}, nil
			}
			return groupOf(g)
		}
		var unknown user.UnknownGroupError
		if errors.As(err, &unknown) {
			return nil, usageError{errs.Input(fmt.Sprintf("--group %q: no such group on this machine", name), "name the group the registry's service runs as, e.g. --group "+defaultServerGroup)}
		}
		return nil, err
	}
	return groupOf(g)
}

func groupOf(g *user.Group) (*install.Group, error) {
	id, err := strconv.Atoi(g.Gid)
	if err != nil {
		return nil, fmt.Errorf("group %s has no numeric id (%s)", g.Name, g.Gid)
	}
	return &install.Group{Name: g.Name, GID: id}, nil
}
