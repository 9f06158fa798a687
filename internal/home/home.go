// Package home finds the certkit home: the folder that holds the CA and
// everything issued from it.
//
// Layout:
//
//	<home>/            0700
//	  ca/              0700  ca.crt (0644), ca.key (0600), ca.crl,
//	                         client-cas.crt, client-cas.crl (what servers trust),
//	                         per-registry (the marker of a per-registry home),
//	                         chain.crt (an imported intermediate CA's chain)
//	    registries/<host[:port]>/  a registry's issuing CA (per-registry homes):
//	                         ca.crt, ca.key, ca.crl, client-cas.crt
//	    previous/      0700  the previous CA during a rotation (and its registries/)
//	    retired/<time>/      retired CAs' certificates and CRLs, for the record
//	  hosts/<host[:port]>/   server.crt, server.key, server-chain.crt,
//	                         NAME.cert, NAME.key (keys 0600); a certificate
//	                         file carries the CAs between it and the root
//	  revoked/<host[:port]>/ NAME.SERIAL.cert: revoked certificates, for the record
package home

import (
	"errors"
	"github.com/certkit/certkit/internal/safefs"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"sort"
	"strings"
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

// File names inside a registry's folder in the home.
const (
	ServerCert  = "server.crt"       // the server leaf certificate
	ServerKey   = "server.key"       // its key: stays on the registry machine
	ServerChain = "server-chain.crt" // leaf + CA: what a registry's tls.certificate wants
	CertExt     = ".cert"            // a client certificate: NAME.cert
	KeyExt      = ".key"             // its key: NAME.key
)

// ClientNames lists the client certificate names (NAME of NAME.cert with a
// NAME.key beside it) issued for one registry folder, sorted.
func ClientNames(home, folder string) ([]string, error) {
	d, err := safefs.OpenDir(HostDir(home, folder))
	if err != nil {
		return nil, err
	}
	var entries []fs.DirEntry
	err = d.Do(func(r *safefs.Root) (err error) {
		entries, err = r.ReadDir(".")
		return err
	})
	if err != nil {
		return nil, err
	}
	return PairNames(entries), nil
}

// PairNames picks the client pair names out of a registry folder's
// entries: NAME of each regular NAME.cert with a NAME.key beside it,
// sorted.
func PairNames(entries []fs.DirEntry) []string {
	have := map[string]bool{}
	for _, e := range entries {
		have[e.Name()] = true
	}
	var names []string
	for _, e := range entries {
		if name, ok := strings.CutSuffix(e.Name(), CertExt); ok && e.Type().IsRegular() && have[name+KeyExt] {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names
}

// Registries lists the registry folders in the home that hold at least one
// client pair, sorted.
func Registries(home string) ([]string, error) {
	entries, err := os.ReadDir(HostsDir(home))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		if names, err := ClientNames(home, e.Name()); err == nil && len(names) > 0 {
			out = append(out, e.Name())
		}
	}
	return out, nil
}

// Lock takes the home's lock for a command that changes it, so that two
// certkit processes never interleave their changes (two init-ca leaving
// the key of one CA beside the certificate of the other). A run that finds
// it taken waits safefs.LockWait, then fails naming the holder.
//
// With create, a missing home is made first (0700, with the rights of the
// user who controls where it goes); release(failed) then removes the
// folders made, if the command failed and they are still empty. Without
// create, a missing home is not locked (the command fails on what it
// lacks).
func Lock(dir string, create bool) (release func(failed bool), err error) {
	return lock(dir, create, false)
}

// RLock takes the home's lock for a command that only reads it (install
// reading the pairs it copies): readers share it, a writer waits for them.
func RLock(dir string) (release func(), err error) {
	rel, err := lock(dir, false, true)
	if err != nil {
		return nil, err
	}
	return func() { rel(false) }, nil
}

func lock(dir string, create, shared bool) (release func(failed bool), err error) {
	var made []string
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		if !create {
			return func(bool) {}, nil
		}
		if made, err = safefs.MkdirAll(dir, 0o700); err != nil {
			return nil, err
		}
	}
	d, err := safefs.OpenDir(dir)
	if err == nil {
		var unlock func()
		if unlock, err = d.Lock(shared, safefs.LockWait); err == nil {
			return func(failed bool) {
				unlock()
				if failed {
					safefs.RemoveEmpty(made)
				}
			}, nil
		}
	}
	safefs.RemoveEmpty(made)
	return nil, err
}

// PairNamesOf picks the client pair names out of a registry folder's file
// names: NAME of each NAME.cert with a NAME.key beside it, sorted. What
// each name is, the reader checks when it opens it.
func PairNamesOf(names []string) []string {
	have := map[string]bool{}
	for _, n := range names {
		have[n] = true
	}
	var out []string
	for _, n := range names {
		if stem, ok := strings.CutSuffix(n, CertExt); ok && stem != "" && have[stem+KeyExt] {
			out = append(out, stem)
		}
	}
	sort.Strings(out)
	return out
}

// RevokedDir holds the records of the client certificates revoked for
// one registry: NAME.SERIAL.cert, the certificate as it was (its key is
// deleted when it is revoked).
func RevokedDir(home, folder string) string { return filepath.Join(home, "revoked", folder) }

// RevokedName is the record file name of the certificate NAME with the
// serial serialHex.
func RevokedName(name, serialHex string) string { return name + "." + serialHex + CertExt }

// ParseRevokedName splits a record file name into NAME and the serial.
func ParseRevokedName(file string) (name, serialHex string, ok bool) {
	stem, ok := strings.CutSuffix(file, CertExt)
	if !ok {
		return "", "", false
	}
	i := strings.LastIndexByte(stem, '.')
	if i <= 0 || i == len(stem)-1 {
		return "", "", false
	}
	return stem[:i], stem[i+1:], true
}
