package testenv

import (
	"fmt"
	"path/filepath"
	"testing"
)

// StartNginx runs nginx in the foreground, unprivileged, with every file
// in a temporary folder, serving the server block (the text of one or more
// server {} blocks, included in the http {} block) until the test ends. It
// waits until nginx accepts connections on listen, the address the block
// listens on. A missing nginx fails the test under CI=true, else skips it.
func StartNginx(t testing.TB, serverBlock, listen string) {
	t.Helper()
	bin := NeedTool(t, "nginx")
	path := NginxConf(t, serverBlock)
	StartProcess(t, Program{Path: bin, Args: []string{"-c", path, "-e", filepath.Join(filepath.Dir(path), "error.log")}, Listen: listen})
}

// NginxConf writes a minimal nginx.conf around serverBlock that runs
// unprivileged and in the foreground, every file in a temporary folder,
// and returns its path (its error log is error.log beside it).
func NginxConf(t testing.TB, serverBlock string) string {
	t.Helper()
	dir := t.TempDir()
	WriteFile(t, filepath.Join(dir, "server.conf"), []byte(serverBlock), 0o644)
	conf := fmt.Sprintf(`daemon off;
master_process off;
worker_processes 1;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log info;
events { worker_connections 64; }
http {
    access_log %[1]s/access.log;
    client_body_temp_path %[1]s/body;
    proxy_temp_path %[1]s/proxy;
    fastcgi_temp_path %[1]s/fastcgi;
    uwsgi_temp_path %[1]s/uwsgi;
    scgi_temp_path %[1]s/scgi;
    include %[1]s/server.conf;
}
`, dir)
	path := filepath.Join(dir, "nginx.conf")
	WriteFile(t, path, []byte(conf), 0o644)
	return path
}
