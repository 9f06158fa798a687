// Package home finds the certkit home: the folder that holds the CA and
// everything issued from it.
//
// Layout:
//
//	<home>/            0700
//	  ca/              0700  ca.crt (0644), ca.key (0600)
//	  hosts/<host[:port]>/   server.crt, server.key, server-chain.crt,
//	                         NAME.cert, NAME.key (keys 0600)
package home

import (
	"errors"
	"os/user"
	"path/filepath"
)

// Env is the part of the environment the home depends on.
type Env struct {
	Getenv  func(string) string
	HomeDir func() (string, error) // the current user's home folder
	// LookupUser returns the home folder of a named user (for SUDO_USER).
	LookupUser func(name string) (string, error)
	Geteuid    func() int
}

// Resolve returns the certkit home: flag, then $CERTKIT_HOME, then
// $XDG_DATA_HOME/certkit, then ~/.local/share/certkit. Under sudo, with
// neither CERTKIT_HOME nor XDG_DATA_HOME set, the invoking user's home is
// used, so that `sudo certkit install` finds the CA that user made.
func Resolve(flag string, env Env) (string, error) {
	if flag != "" {
		return filepath.Abs(flag)
	}
	if h := env.Getenv("CERTKIT_HOME"); h != "" {
		return filepath.Abs(h)
	}
	if x := env.Getenv("XDG_DATA_HOME"); x != "" && filepath.IsAbs(x) {
		return filepath.Join(x, "certkit"), nil
	}
	if su := env.Getenv("SUDO_USER"); su != "" && su != "root" && env.Geteuid != nil && env.Geteuid() == 0 && env.LookupUser != nil {
		if dir, err := env.LookupUser(su); err == nil && dir != "" {
			return filepath.Join(dir, ".local", "share", "certkit"), nil
		}
	}
	dir, err := env.HomeDir()
	if err != nil || dir == "" {
		return "", errors.New("cannot find a home folder for the certkit home; set CERTKIT_HOME or pass --home")
	}
	return filepath.Join(dir, ".local", "share", "certkit"), nil
}

// LookupUserHome is the real LookupUser.
func LookupUserHome(name string) (string, error) {
	u, err := user.Lookup(name)
	if err != nil {
		return "", err
	}
	return u.HomeDir, nil
}

// CADir is where the CA lives.
func CADir(home string) string { return filepath.Join(home, "ca") }

// HostsDir holds one folder per registry.
func HostsDir(home string) string { return filepath.Join(home, "hosts") }

// HostDir is where the material issued for one registry lives; folder is
// the registry's certs.d folder name (host.Registry.String()).
func HostDir(home, folder string) string { return filepath.Join(HostsDir(home), folder) }
