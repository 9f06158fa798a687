package testenv

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// StartApache runs Apache (one process, in the foreground) with every
// file in a temporary folder, serving the virtual host text until the
// test ends, with only the modules certkit's template needs. It waits
// until Apache accepts connections on listen. A missing apache2 fails the
// test under CI=true, else skips it.
func StartApache(t testing.TB, vhost, listen string) {
	t.Helper()
	bin := NeedTool(t, "apache2")
	dir := t.TempDir()
	WriteFile(t, filepath.Join(dir, "registry.conf"), []byte(vhost), 0o644)
	var b strings.Builder
	fmt.Fprintf(&b, "ServerRoot %[1]s\nDefaultRuntimeDir %[1]s\nPidFile %[1]s/httpd.pid\nErrorLog %[1]s/error.log\nMutex file:%[1]s default\nServerName localhost\n", dir)
	if os.Geteuid() == 0 {
		b.WriteString("User nobody\nGroup nogroup\n")
	}
	for _, mod := range []string{"mpm_event", "authz_core", "ssl", "proxy", "proxy_http", "headers"} {
		fmt.Fprintf(&b, "LoadModule %s_module /usr/lib/apache2/modules/mod_%s.so\n", mod, mod)
	}
	fmt.Fprintf(&b, "Include %s/registry.conf\n", dir)
	conf := filepath.Join(dir, "httpd.conf")
	WriteFile(t, conf, []byte(b.String()), 0o644)
	StartProcess(t, Program{Path: bin, Args: []string{"-X", "-f", conf}, Listen: listen})
}
