package install

import "github.com/certkit/certkit/internal/shellquote"

// Command is the certkit install command that the fixes of install,
// uninstall and verify print, in one form: the registry quoted for the
// shell, --force where install must replace a file it installed, and
// flags, the run's flags that name its certs root (" --target containerd
// --certs-dir DIR", see rootflags), as they are.
func Command(registry string, force bool, flags string) string {
	cmd := "certkit install"
	if force {
		cmd += " --force"
	}
	return cmd + " --host " + shellquote.Quote(registry) + flags
}
