package templates

// Acceptance tests: the rendered configurations, run by the programs they
// are for (Debian's docker-registry, nginx, Apache, skopeo) on 127.0.0.1.

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/containerd/containerd/v2/core/remotes/docker/config"
	"go.yaml.in/yaml/v3"

	"github.com/certkit/certkit/ca"
	"github.com/certkit/certkit/internal/home"
	"github.com/certkit/certkit/internal/testenv"
	"github.com/certkit/certkit/verify"
)

// copyClientFolder puts into dir what certkit install puts into a
// registry's certs.d folder: the CA and alice's client pair.
func (m *material) copyClientFolder(t *testing.T, dir string) {
	t.Helper()
	testenv.CopyFile(t, filepath.Join(m.home, "ca", ca.CertFile), filepath.Join(dir, ca.CertFile), 0o600)
	testenv.CopyFile(t, filepath.Join(m.dir(), "alice.cert"), filepath.Join(dir, "alice.cert"), 0o600)
	testenv.CopyFile(t, filepath.Join(m.dir(), "alice.key"), filepath.Join(dir, "alice.key"), 0o600)
}

// client is an HTTPS client trusting the certkit CA, with the named client
// pair of m, or without a certificate when name is "".
func (m *material) client(t *testing.T, name string) *http.Client {
	t.Helper()
	roots := x509.NewCertPool()
	roots.AddCert(m.ca.Cert)
	tc := &tls.Config{RootCAs: roots}
	if name != "" {
		pair, err := tls.LoadX509KeyPair(filepath.Join(m.dir(), name+home.CertExt), filepath.Join(m.dir(), name+home.KeyExt))
		if err != nil {
			t.Fatal(err)
		}
		tc.Certificates = []tls.Certificate{pair}
	}
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: tc, DisableKeepAlives: true}}
}

type answer struct {
	status   int
	body     string
	versions []string // Docker-Distribution-Api-Version values
}

func get(c *http.Client, url string) (answer, error) {
	resp, err := c.Get(url)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return answer{resp.StatusCode, string(body), resp.Header.Values("Docker-Distribution-Api-Version")}, err
}

// checkServesOnlyWithCert: /v2/ answers 200 {} to the client with the
// certificate, and nothing useful to one without.
func checkServesOnlyWithCert(t *testing.T, m *material, url string, withoutStatus int) {
	t.Helper()
	a, err := get(m.client(t, "alice"), url)
	if err != nil {
		t.Fatalf("GET %s with the client certificate: %v", url, err)
	}
	if a.status != 200 || strings.TrimSpace(a.body) != "{}" || len(a.versions) != 1 || a.versions[0] != "registry/2.0" {
		t.Errorf("GET %s with the client certificate: %d %q, API version %q", url, a.status, a.body, a.versions)
	}
	a, err = get(m.client(t, ""), url)
	switch {
	case withoutStatus == 0 && err == nil:
		t.Errorf("GET %s without a client certificate: %d %q, want a TLS failure", url, a.status, a.body)
	case withoutStatus != 0 && err != nil:
		t.Errorf("GET %s without a client certificate: %v, want %d", url, err, withoutStatus)
	case withoutStatus != 0 && a.status != withoutStatus:
		t.Errorf("GET %s without a client certificate: %d, want %d", url, a.status, withoutStatus)
	case withoutStatus != 0 && (len(a.versions) != 1 || a.versions[0] != "registry/2.0"):
		t.Errorf("GET %s without a client certificate: API version %q, want it once", url, a.versions)
	}
}

// TestRegistryServesOnlyClientsWithCert runs docker-registry with the
// rendered config.yml; containerd's own hosts.toml reader, given the
// rendered hosts.toml, reaches it too.
func TestRegistryServesOnlyClientsWithCert(t *testing.T) {
	bin := testenv.NeedTool(t, "docker-registry")
	port := testenv.FreePort(t)
	m := newMaterial(t, "localhost:"+strconv.Itoa(port), "alice")
	listen := "127.0.0.1:" + strconv.Itoa(port)
	cfg := filepath.Join(t.TempDir(), "config.yml")
	write(t, cfg, mustRender(t, Registry, Options{Home: m.home, Registry: m.reg, Listen: listen, Storage: t.TempDir()}), 0o644)
	testenv.StartProcess(t, testenv.Program{Path: bin, Args: []string{"serve", cfg}, Listen: listen})
	checkServesOnlyWithCert(t, m, "https://"+m.reg.String()+"/v2/", 0)

	t.Run("containerd hosts.toml", func(t *testing.T) {
		certsDir := t.TempDir()
		dir := filepath.Join(certsDir, m.reg.String())
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		// What certkit install puts there: the CA and the client pairs.
		m.copyClientFolder(t, dir)
		write(t, filepath.Join(dir, "hosts.toml"), mustRender(t, Containerd, Options{Home: m.home, Registry: m.reg, CertsDir: certsDir}), 0o644)

		hosts, err := config.ConfigureHosts(context.Background(), config.HostOptions{HostDir: config.HostDirFromRoot(certsDir)})(m.reg.String())
		if err != nil {
			t.Fatal(err)
		}
		// The [host] entry first, then the server entry; both reach the
		// registry with the CA and the client certificate (containerd
		// falls through to the second, and sends referrers requests there).
		if len(hosts) != 2 {
			t.Fatalf("containerd configured %d hosts, want 2", len(hosts))
		}
		for i, h := range hosts {
			if h.Scheme != "https" || h.Host != m.reg.String() {
				t.Errorf("containerd host %d: %s://%s", i, h.Scheme, h.Host)
			}
			resp, err := h.Client.Get("https://" + h.Host + "/v2/")
			if err != nil {
				t.Fatalf("containerd's client, host %d of %d: %v", i+1, len(hosts), err)
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Errorf("containerd's client, host %d: %d", i+1, resp.StatusCode)
			}
		}

		// certkit verify reads the same folder, hosts.toml included, and
		// finds nothing wrong.
		rep := verify.Verify(context.Background(), verify.Options{Registry: m.reg, Dir: dir})
		if rep.Failed() || len(rep.Accepted) != 1 {
			out, _ := json.MarshalIndent(rep, "", "  ")
			t.Errorf("certkit verify:\n%s", out)
		}
		for _, c := range rep.Checks {
			if strings.Contains(c.ID, "hosts.toml") && c.Status != verify.OK {
				t.Errorf("verify on the rendered hosts.toml: %+v", c)
			}
		}
	})
}

// TestComposeEnvironment runs docker-registry the way the compose file
// runs registry:2: its environment, with the mounted files at their host
// paths. It catches a misspelt REGISTRY_HTTP_TLS_* variable.
func TestComposeEnvironment(t *testing.T) {
	bin := testenv.NeedTool(t, "docker-registry")
	port := testenv.FreePort(t)
	m := newMaterial(t, "localhost:"+strconv.Itoa(port), "alice")
	c := parseCompose(t, mustRender(t, Compose, Options{Home: m.home, Registry: m.reg}))
	svc := c.Services["registry"]
	mounts := map[string]string{} // container path -> host path
	for _, v := range svc.Volumes {
		mounts[v.Target] = v.Source
	}
	mounts["/var/lib/registry"] = t.TempDir()
	var env []string
	for k, v := range svc.Environment {
		if src, ok := mounts[v]; ok {
			v = src
		}
		if k == "REGISTRY_HTTP_TLS_CLIENTCAS" {
			var cas []string
			if err := yaml.Unmarshal([]byte(v), &cas); err != nil {
				t.Fatalf("%s=%s: %v", k, v, err)
			}
			for i, c := range cas {
				cas[i] = mounts[c]
			}
			b, err := json.Marshal(cas)
			if err != nil {
				t.Fatal(err)
			}
			v = string(b)
		}
		if k == "REGISTRY_HTTP_ADDR" {
			v = "127.0.0.1:" + strconv.Itoa(port) // what publishing the port does
		}
		env = append(env, k+"="+v)
	}
	// The image's own config.yml, the part the compose file relies on.
	cfg := filepath.Join(t.TempDir(), "config.yml")
	write(t, cfg, []byte("version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: /nonexistent\nhttp:\n  addr: :5000\n"), 0o644)
	testenv.StartProcess(t, testenv.Program{Path: bin, Args: []string{"serve", cfg}, Env: env, Listen: "127.0.0.1:" + strconv.Itoa(port)})
	checkServesOnlyWithCert(t, m, "https://"+m.reg.String()+"/v2/", 0)
}

func TestNginx(t *testing.T) {
	nginx := testenv.NeedTool(t, "nginx")
	port := testenv.FreePort(t)
	m := newMaterial(t, "localhost:"+strconv.Itoa(port), "alice")
	listen := "127.0.0.1:" + strconv.Itoa(port)

	t.Run("nginx -t", func(t *testing.T) {
		// A long name must not make nginx's variable names too long for
		// its default variables_hash_bucket_size.
		long := newMaterial(t, "registry.build-farm.eu-west-1.internal.example.com:5000")
		for _, opt := range []Options{
			{Home: m.home, Registry: m.reg},
			{Home: m.home, Registry: m.reg, Listen: listen, Upstream: "127.0.0.1:5001"},
			{Home: long.home, Registry: long.reg},
		} {
			conf := testenv.NginxConf(t, string(mustRender(t, Nginx, opt)))
			out, err := exec.Command(nginx, "-t", "-c", conf, "-e", filepath.Join(filepath.Dir(conf), "error.log")).CombinedOutput()
			if err != nil || !strings.Contains(string(out), "test is successful") {
				t.Errorf("nginx -t (%s, listen %q): %v\n%s", opt.Registry, opt.Listen, err, out)
			}
		}
	})

	t.Run("in front of docker-registry, defaults only", func(t *testing.T) {
		// One machine, nothing but --host: nginx on the registry's port
		// of every address, the registry behind it where certkit puts it.
		port := testenv.FreePortPair(t)
		m := newMaterial(t, "localhost:"+strconv.Itoa(port), "alice")
		block := mustRender(t, Nginx, Options{Home: m.home, Registry: m.reg})
		upstream := startBehindProxy(t, m, port)
		if got := lines(block); !got["listen "+strconv.Itoa(port)+" ssl;"] || !got["server "+upstream+";"] {
			t.Fatalf("nginx does not listen on port %d of every address and send to the registry's %s:\n%s", port, upstream, block)
		}
		testenv.StartNginx(t, string(block), "127.0.0.1:"+strconv.Itoa(port))
		// nginx answers a missing certificate itself, with 400.
		checkServesOnlyWithCert(t, m, "https://"+m.reg.String()+"/v2/", http.StatusBadRequest)
		skopeoRoundTrip(t, m)
	})
}

// startBehindProxy renders the registry's config.yml for running behind a
// proxy on port, with defaults only (but storage), runs docker-registry
// from it, and returns the address it listens on: 127.0.0.1:port+1.
func startBehindProxy(t *testing.T, m *material, port int) string {
	t.Helper()
	bin := testenv.NeedTool(t, "docker-registry")
	out := mustRender(t, Registry, Options{Home: m.home, Registry: m.reg, BehindProxy: true, Storage: t.TempDir()})
	var cfg struct {
		HTTP struct {
			Addr string
			Host string
			TLS  map[string]any
		} `yaml:"http"`
	}
	if err := yaml.Unmarshal(out, &cfg); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if want := "127.0.0.1:" + strconv.Itoa(port+1); cfg.HTTP.Addr != want || cfg.HTTP.TLS != nil || cfg.HTTP.Host != "https://"+m.reg.String() {
		t.Fatalf("behind a proxy on port %d: addr %q (want %s), host %q, tls %v", port, cfg.HTTP.Addr, want, cfg.HTTP.Host, cfg.HTTP.TLS)
	}
	path := filepath.Join(t.TempDir(), "config.yml")
	write(t, path, out, 0o644)
	testenv.StartProcess(t, testenv.Program{Path: bin, Args: []string{"serve", path}, Listen: cfg.HTTP.Addr})
	return cfg.HTTP.Addr
}

// apacheConf wraps the rendered virtual host in a minimal Apache
// configuration that loads only the modules the template names.
func apacheConf(t *testing.T, vhost []byte) string {
	t.Helper()
	dir := t.TempDir()
	write(t, filepath.Join(dir, "registry.conf"), vhost, 0o644)
	mods := "/usr/lib/apache2/modules"
	var b strings.Builder
	fmt.Fprintf(&b, "ServerRoot %[1]s\nDefaultRuntimeDir %[1]s\nPidFile %[1]s/httpd.pid\nErrorLog %[1]s/error.log\nMutex file:%[1]s default\nServerName localhost\n", dir)
	if os.Geteuid() == 0 {
		b.WriteString("User nobody\nGroup nogroup\n")
	}
	for _, mod := range []string{"mpm_event", "authz_core", "ssl", "proxy", "proxy_http", "headers"} {
		fmt.Fprintf(&b, "LoadModule %s_module %s/mod_%s.so\n", mod, mods, mod)
	}
	fmt.Fprintf(&b, "Include %s/registry.conf\n", dir)
	path := filepath.Join(dir, "httpd.conf")
	write(t, path, []byte(b.String()), 0o644)
	return path
}

func TestApache(t *testing.T) {
	ctl := testenv.NeedTool(t, "apache2ctl")
	port := testenv.FreePort(t)
	m := newMaterial(t, "localhost:"+strconv.Itoa(port), "alice")
	listen := "127.0.0.1:" + strconv.Itoa(port)

	t.Run("apache2ctl -t", func(t *testing.T) {
		for _, opt := range []Options{{}, {Listen: listen, Upstream: "127.0.0.1:5001"}} {
			opt.Home, opt.Registry = m.home, m.reg
			conf := apacheConf(t, mustRender(t, Apache, opt))
			out, err := exec.Command(ctl, "-t", "-f", conf).CombinedOutput()
			if err != nil || !strings.Contains(string(out), "Syntax OK") {
				t.Errorf("apache2ctl -t (listen %q): %v\n%s", opt.Listen, err, out)
			}
		}
	})

	t.Run("in front of docker-registry, defaults only", func(t *testing.T) {
		// One machine, nothing but --host: Apache on the registry's port
		// of every address, the registry behind it where certkit puts it.
		port := testenv.FreePortPair(t)
		m := newMaterial(t, "localhost:"+strconv.Itoa(port), "alice")
		vhost := mustRender(t, Apache, Options{Home: m.home, Registry: m.reg})
		upstream := startBehindProxy(t, m, port)
		if got := lines(vhost); !got["Listen "+strconv.Itoa(port)] || !got["ProxyPass        /v2 http://"+upstream+"/v2"] {
			t.Fatalf("Apache does not listen on port %d of every address and send to the registry's %s:\n%s", port, upstream, vhost)
		}
		conf := apacheConf(t, vhost)
		// -X: one process in the foreground.
		testenv.StartProcess(t, testenv.Program{Path: testenv.NeedTool(t, "apache2"), Args: []string{"-X", "-f", conf}, Listen: "127.0.0.1:" + strconv.Itoa(port)})
		checkServesOnlyWithCert(t, m, "https://"+m.reg.String()+"/v2/", 0)
		// A registry answer other than 200 keeps the header once.
		a, err := get(m.client(t, "alice"), "https://"+m.reg.String()+"/v2/certkit/none/manifests/latest")
		if err != nil || a.status != 404 || len(a.versions) != 1 {
			t.Errorf("missing manifest: %v %d, API version %q", err, a.status, a.versions)
		}
		skopeoRoundTrip(t, m)
	})
}

// TestComposeYAML: the compose file is valid YAML with the service and
// mounts Docker needs, also when the storage is a folder.
func TestComposeYAML(t *testing.T) {
	m := newMaterial(t, "reg.example.com:5000")
	out := mustRender(t, Compose, Options{Home: m.home, Registry: m.reg, Storage: "/srv/registry", Listen: "10.0.0.5:5000"})
	var doc yaml.Node
	if err := yaml.Unmarshal(out, &doc); err != nil {
		t.Fatal(err)
	}
	c := parseCompose(t, out)
	svc := c.Services["registry"]
	if len(svc.Ports) != 1 || svc.Ports[0] != "10.0.0.5:5000:5000" {
		t.Errorf("ports %v", svc.Ports)
	}
	var storage bool
	for _, v := range svc.Volumes {
		if v.Target == "/var/lib/registry" {
			storage = v.Type == "bind" && v.Source == "/srv/registry" && !v.ReadOnly
		}
	}
	if !storage {
		t.Errorf("storage is not a writable bind of /srv/registry: %+v", svc.Volumes)
	}
	if len(c.Volumes) != 0 {
		t.Errorf("named volumes %v, want none", c.Volumes)
	}
}

// skopeoRoundTrip pushes a small OCI image through the registry with the
// client pair as skopeo's certificate folder, and inspects it back.
func skopeoRoundTrip(t *testing.T, m *material) {
	t.Helper()
	skopeo := testenv.NeedTool(t, "skopeo")
	certDir := t.TempDir()
	m.copyClientFolder(t, certDir)
	layout := t.TempDir()
	img := testenv.WriteOCIImage(t, layout, "1.0")
	ref := "docker://" + m.reg.String() + "/certkit/hello:1.0"
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(skopeo, append([]string{"--insecure-policy"}, args...)...)
		cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("skopeo %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	// certkit verify's own probe agrees, through the same folder.
	rep := verify.Verify(context.Background(), verify.Options{Registry: m.reg, Dir: certDir})
	if rep.Failed() || len(rep.Accepted) != 1 || rep.Accepted[0] != "alice" {
		out, _ := json.MarshalIndent(rep, "", "  ")
		t.Errorf("certkit verify through the proxy failed:\n%s", out)
	}
	run("copy", "--dest-cert-dir", certDir, "oci:"+layout+":1.0", ref)
	out := run("inspect", "--raw", "--cert-dir", certDir, ref)
	if got := sha256.Sum256([]byte(out)); "sha256:"+hex.EncodeToString(got[:]) != img.Manifest {
		t.Errorf("the manifest read back differs from the one pushed:\n%s", out)
	}
	// Without the client pair, the registry is closed.
	cmd := exec.Command(skopeo, "--insecure-policy", "inspect", "--raw", "--cert-dir", filepath.Join(certDir, "none"), ref)
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
	if out, err := cmd.CombinedOutput(); err == nil {
		t.Errorf("skopeo inspect without the client certificate succeeded:\n%s", out)
	}
}
