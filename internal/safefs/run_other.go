//go:build !linux

package safefs

import "fmt"

// Run calls fn as it is when this process is not root, or u is nil or
// root. Elsewhere than on Linux there is no per-thread file-system uid: a
// root process refuses to act in a folder another user controls.
func Run(u *User, fn func() error) error {
	if u == nil || geteuid() != 0 || u.UID == 0 {
		return fn()
	}
	return fmt.Errorf("certkit will not act as root in a folder %s controls on this system: run it as that user", u)
}
