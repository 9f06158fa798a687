//go:build !linux

package install

// exchange has no one-step form outside Linux; install falls back to two
// renames (see swap).
func exchange(a, b string) error { return errNoExchange }

// renameNoReplace moves a to b, failing if b exists (checked just before:
// certkit holds the certs root's lock, so only another program could race).
func renameNoReplace(a, b string) error { return renameIfAbsent(a, b) }
