package main

import (
	"os"
	"strings"
)

// sudoGetenv is os.Getenv, except that SUDO_USER (and SUDO_UID, SUDO_GID)
// count only when sudo ran certkit itself: SUDO_COMMAND names this binary.
// In a root shell that sudo started (sudo -i, sudo -s), they are still set,
// but the user at the keyboard is root: certkit then uses root's home and
// root's per-user certs roots, and writes nothing into the other user's.
func sudoGetenv(name string) string {
	switch name {
	case "SUDO_USER", "SUDO_UID", "SUDO_GID":
		if !sudoRanCertkit(os.Getenv("SUDO_COMMAND")) {
			return ""
		}
	}
	return os.Getenv(name)
}

// sudoRanCertkit reports whether the command sudo ran (SUDO_COMMAND: the
// program's path, then its arguments) is this binary.
func sudoRanCertkit(command string) bool {
	prog, _, _ := strings.Cut(command, " ")
	if prog == "" {
		return false
	}
	exe, err := os.Executable()
	if err != nil {
		return false
	}
	a, err := os.Stat(prog)
	if err != nil {
		return false
	}
	b, err := os.Stat(exe)
	return err == nil && os.SameFile(a, b)
}

// ignoredSudoUser is the SUDO_USER that a root shell left set and that
// certkit does not follow ("" when there is none).
func ignoredSudoUser() string {
	su := os.Getenv("SUDO_USER")
	if su == "" || su == "root" || os.Geteuid() != 0 || sudoRanCertkit(os.Getenv("SUDO_COMMAND")) {
		return ""
	}
	return su
}
