package templates

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	cflog "github.com/cloudflare/cfssl/log"
	"go.yaml.in/yaml/v3"

	"github.com/certkit/certkit/ca"
	"github.com/certkit/certkit/host"
	"github.com/certkit/certkit/internal/errs"
	"github.com/certkit/certkit/internal/home"
	"github.com/certkit/certkit/internal/shellquote"
)

func TestMain(m *testing.M) {
	cflog.Level = cflog.LevelFatal + 1
	os.Exit(m.Run())
}

// lines returns the rendered text as trimmed, non-empty lines.
func lines(b []byte) map[string]bool {
	out := map[string]bool{}
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out[l] = true
		}
	}
	return out
}

func mustRender(t *testing.T, k Kind, opt Options) []byte {
	t.Helper()
	out, err := Render(k, opt)
	if err != nil {
		t.Fatalf("Render(%s): %v", k, err)
	}
	return out
}

// TestRenderKeyLines checks, for every template, the lines that make the
// configuration what it is: the issued files, client certificates required,
// TLS 1.2 at least, and the proxy settings a registry needs.
func TestRenderKeyLines(t *testing.T) {
	m := newMaterial(t, "reg.example.com:5000", "alice", "bob")
	dir := m.dir()
	chain := filepath.Join(dir, "server-chain.crt")
	key := filepath.Join(dir, "server.key")
	// The servers trust the file that holds every CA accepted for
	// clients, and check the file of their CRLs.
	caCrt := filepath.Join(m.home, "ca", "client-cas.crt")
	crl := filepath.Join(m.home, "ca", "client-cas.crl")
	cd := "/etc/containerd/certs.d/reg.example.com:5000"
	tests := []struct {
		kind    Kind
		opt     Options
		want    []string
		notWant []string
	}{
		{Registry, Options{}, []string{
			`version: 0.1`,
			`rootdirectory: "/var/lib/docker-registry"`,
			`addr: ":5000"`,
			`host: "https://reg.example.com:5000"`,
			`X-Content-Type-Options: [nosniff]`,
			`certificate: "` + chain + `"`,
			`key: "` + key + `"`,
			`- "` + caCrt + `"`,
			`minimumtls: tls1.2`,
		}, nil},
		{Registry, Options{Listen: "127.0.0.1:6000", Storage: "/srv/registry"}, []string{
			`addr: "127.0.0.1:6000"`,
			`rootdirectory: "/srv/registry"`,
		}, []string{`addr: ":5000"`}},
		{Nginx, Options{}, []string{
			`listen 5000 ssl;`,
			`listen [::]:5000 ssl;`,
			`server_name reg.example.com;`,
			`ssl_certificate     "` + chain + `";`,
			`ssl_certificate_key "` + key + `";`,
			`ssl_client_certificate "` + caCrt + `";`,
			`ssl_crl "` + crl + `";`,
			`ssl_verify_client on;`,
			`ssl_protocols TLSv1.2 TLSv1.3;`,
			`client_max_body_size 0;`,
			`chunked_transfer_encoding on;`,
			// The proxy takes port 5000 on every address: the registry
			// behind it gets the next port, and the file says why.
			`server 127.0.0.1:5001;`,
			`# 127.0.0.1:5001 is certkit's default upstream for a proxy on port 5000:`,
			`#   certkit template registry --host reg.example.com:5000 --behind-proxy --out config.yml`,
			`proxy_pass                          http://certkit_registry_reg_example_com_5000;`,
			`proxy_set_header  Host              $http_host;`,
			`proxy_set_header  X-Real-IP         $remote_addr;`,
			`proxy_set_header  X-Forwarded-For   $proxy_add_x_forwarded_for;`,
			`proxy_set_header  X-Forwarded-Proto $scheme;`,
			`proxy_read_timeout                  900;`,
			`map $upstream_http_docker_distribution_api_version $certkit_api_version_97c0828c {`,
			`'' 'registry/2.0';`,
			`add_header Docker-Distribution-Api-Version $certkit_api_version_97c0828c always;`,
		}, []string{`ssl_verify_client optional;`, `ssl_protocols TLSv1 TLSv1.1;`, `server 127.0.0.1:5000;`}},
		{Nginx, Options{Listen: "127.0.0.1:7443", Upstream: "127.0.0.1:7000"}, []string{
			`listen 127.0.0.1:7443 ssl;`,
			`server 127.0.0.1:7000;`,
			`#   certkit template registry --host reg.example.com:5000 --listen 127.0.0.1:7443 --upstream 127.0.0.1:7000 --behind-proxy --out config.yml`,
		}, []string{`listen 5000 ssl;`, `listen [::]:5000 ssl;`, `# 127.0.0.1:7000 is certkit's default upstream for a proxy on port 7443:`}},
		{Nginx, Options{Listen: "127.0.0.1:7443"}, []string{
			`server 127.0.0.1:7444;`,
			`# 127.0.0.1:7444 is certkit's default upstream for a proxy on port 7443:`,
			`#   certkit template registry --host reg.example.com:5000 --listen 127.0.0.1:7443 --behind-proxy --out config.yml`,
		}, nil},
		{Apache, Options{}, []string{
			`Listen 5000`,
			`<VirtualHost *:5000>`,
			`ServerName reg.example.com`,
			`SSLEngine on`,
			`SSLProtocol -all +TLSv1.2 +TLSv1.3`,
			`SSLCertificateFile "` + chain + `"`,
			`SSLCertificateKeyFile "` + key + `"`,
			`SSLCACertificateFile "` + caCrt + `"`,
			`SSLCARevocationFile "` + crl + `"`,
			`SSLCARevocationCheck chain`,
			`SSLVerifyClient require`,
			`SSLVerifyDepth 1`,
			`RequestHeader set X-Forwarded-Proto "https"`,
			`ProxyPass        /v2 http://127.0.0.1:5001/v2`,
			`ProxyPassReverse /v2 http://127.0.0.1:5001/v2`,
			`#   certkit template registry --host reg.example.com:5000 --behind-proxy --out config.yml`,
			`LimitRequestBody 0`,
			`#   a2enmod ssl proxy proxy_http headers`,
		}, []string{`SSLVerifyClient optional_no_ca`, `SSLVerifyClient optional`}},
		{Apache, Options{Listen: "[::1]:7443"}, []string{
			`Listen [::1]:7443`,
			`<VirtualHost [::1]:7443>`,
		}, nil},
		{Registry, Options{BehindProxy: true}, []string{
			`addr: "127.0.0.1:5001"`,
			`host: "https://reg.example.com:5000"`,
			`X-Content-Type-Options: [nosniff]`,
			`rootdirectory: "/var/lib/docker-registry"`,
			`# 127.0.0.1:5001 is certkit's default upstream for a proxy on port 5000:`,
			`#   certkit template nginx --host reg.example.com:5000`,
			`#   certkit template apache --host reg.example.com:5000`,
		}, []string{`addr: ":5000"`, `tls:`, `certificate: "` + chain + `"`, `key: "` + key + `"`, `- "` + caCrt + `"`}},
		{Registry, Options{BehindProxy: true, Listen: "10.0.0.5:443", Upstream: "10.0.0.5:8080", Storage: "/srv/registry"}, []string{
			`addr: "10.0.0.5:8080"`,
			`rootdirectory: "/srv/registry"`,
			`#   certkit template nginx --host reg.example.com:5000 --listen 10.0.0.5:443 --upstream 10.0.0.5:8080`,
		}, []string{`tls:`}},
		{Containerd, Options{}, []string{
			`server = "https://reg.example.com:5000"`,
			`[host."https://reg.example.com:5000"]`,
			`capabilities = ["pull", "resolve", "push"]`,
			`ca = "` + cd + `/ca.crt"`,
			`client = [["` + cd + `/alice.cert", "` + cd + `/alice.key"], ["` + cd + `/bob.cert", "` + cd + `/bob.key"]]`,
		}, nil},
		{Containerd, Options{CertsDir: "/srv/certs.d"}, []string{
			`ca = "/srv/certs.d/reg.example.com:5000/ca.crt"`,
		}, nil},
		{Compose, Options{}, []string{
			`image: registry:2`,
			`- "5000:5000"`,
			`REGISTRY_HTTP_TLS_CERTIFICATE: /certs/server-chain.crt`,
			`REGISTRY_HTTP_TLS_KEY: /certs/server.key`,
			`REGISTRY_HTTP_TLS_CLIENTCAS: "[/certs/ca.crt]"`,
			`REGISTRY_HTTP_TLS_MINIMUMTLS: tls1.2`,
			`source: "` + chain + `"`,
			`source: "` + key + `"`,
			`source: "` + caCrt + `"`,
			`read_only: true`,
			`source: registry-data`,
		}, nil},
		{Compose, Options{Listen: "127.0.0.1:6000", Storage: "/srv/registry"}, []string{
			`- "127.0.0.1:6000:5000"`,
			`source: "/srv/registry"`,
		}, []string{`source: registry-data`, `registry-data: {}`}},
	}
	for _, tc := range tests {
		name := string(tc.kind) + "/" + tc.opt.Listen + tc.opt.Upstream + tc.opt.Storage + tc.opt.CertsDir
		if tc.opt.BehindProxy {
			name += "/behind-proxy"
		}
		t.Run(name, func(t *testing.T) {
			tc.opt.Home, tc.opt.Registry = m.home, m.reg
			out := mustRender(t, tc.kind, tc.opt)
			got := lines(out)
			for _, w := range tc.want {
				if !got[w] {
					t.Errorf("missing line %s", w)
				}
			}
			for _, w := range tc.notWant {
				if got[w] {
					t.Errorf("unexpected line %s", w)
				}
			}
			if t.Failed() {
				t.Logf("rendered:\n%s", out)
			}
		})
	}
}

// TestRenderDefaultPort: a registry named without a port is served on 443,
// and Apache gets no second "Listen 443" (Debian's ports.conf has one).
func TestRenderDefaultPort(t *testing.T) {
	m := newMaterial(t, "reg.example.com")
	opt := Options{Home: m.home, Registry: m.reg}
	if got := lines(mustRender(t, Registry, opt)); !got[`addr: ":443"`] || !got[`host: "https://reg.example.com"`] {
		t.Errorf("registry: want addr :443 and host https://reg.example.com")
	}
	ap := lines(mustRender(t, Apache, opt))
	for l := range ap {
		if strings.HasPrefix(l, "Listen ") {
			t.Errorf("apache: unexpected %q", l)
		}
	}
	if !ap[`<VirtualHost *:443>`] {
		t.Error("apache: no <VirtualHost *:443>")
	}
	if got := lines(mustRender(t, Nginx, opt)); !got[`listen 443 ssl;`] || !got[`server 127.0.0.1:5000;`] {
		t.Error("nginx: no listen 443 ssl, or the registry behind it not on 127.0.0.1:5000")
	}
	if got := lines(mustRender(t, Registry, Options{Home: m.home, Registry: m.reg, BehindProxy: true})); !got[`addr: "127.0.0.1:5000"`] {
		t.Error("registry behind a proxy on 443: not on 127.0.0.1:5000")
	}
	if got := lines(mustRender(t, Compose, opt)); !got[`- "443:5000"`] {
		t.Error("compose: 443 not published")
	}
}

// TestRenderIPv6 keeps the brackets where each format needs them.
func TestRenderIPv6(t *testing.T) {
	m := newMaterial(t, "[fd00::1]:5000", "ci")
	opt := Options{Home: m.home, Registry: m.reg}
	checks := map[Kind][]string{
		Registry:   {`host: "https://[fd00::1]:5000"`},
		Nginx:      {`server_name [fd00::1];`},
		Apache:     {`ServerName [fd00::1]`},
		Containerd: {`[host."https://[fd00::1]:5000"]`, `ca = "/etc/containerd/certs.d/[fd00::1]:5000/ca.crt"`},
	}
	for k, want := range checks {
		got := lines(mustRender(t, k, opt))
		for _, w := range want {
			if !got[w] {
				t.Errorf("%s: missing %s", k, w)
			}
		}
	}
}

// TestRenderContainerdWithoutClients leaves the client line as a comment
// that names the command to run.
func TestRenderContainerdWithoutClients(t *testing.T) {
	m := newMaterial(t, "reg.example.com:5000")
	got := lines(mustRender(t, Containerd, Options{Home: m.home, Registry: m.reg}))
	if !got[`#   certkit issue client --host reg.example.com:5000`] {
		t.Error("no hint to issue a client certificate")
	}
	for l := range got {
		if strings.HasPrefix(l, "client =") {
			t.Errorf("unexpected %q", l)
		}
	}
}

// TestRenderYAMLStructure parses the registry and compose files: the YAML
// structure, not only the text, must hold the issued paths.
func TestRenderYAMLStructure(t *testing.T) {
	m := newMaterial(t, "reg.example.com:5000")
	dir := m.dir()
	files := ServerFiles{
		Cert: filepath.Join(dir, "server.crt"), Key: filepath.Join(dir, "server.key"),
		Chain: filepath.Join(dir, "server-chain.crt"), CA: filepath.Join(m.home, "ca", "ca.crt"),
		ClientCAs: filepath.Join(m.home, "ca", "client-cas.crt"),
	}

	var reg struct {
		Version string
		Storage struct {
			Filesystem struct{ Rootdirectory string }
		}
		HTTP struct {
			Addr    string
			Host    string
			Headers map[string][]string
			TLS     struct {
				Certificate, Key string
				ClientCAs        []string `yaml:"clientcas"`
				MinimumTLS       string   `yaml:"minimumtls"`
			}
		} `yaml:"http"`
	}
	if err := yaml.Unmarshal(mustRender(t, Registry, Options{Home: m.home, Registry: m.reg, Storage: "/data"}), &reg); err != nil {
		t.Fatal(err)
	}
	tls := reg.HTTP.TLS
	if reg.Version != "0.1" || reg.Storage.Filesystem.Rootdirectory != "/data" || reg.HTTP.Addr != ":5000" ||
		tls.Certificate != files.Chain || tls.Key != files.Key || len(tls.ClientCAs) != 1 || tls.ClientCAs[0] != files.ClientCAs ||
		tls.MinimumTLS != "tls1.2" || reg.HTTP.Headers["X-Content-Type-Options"][0] != "nosniff" {
		t.Errorf("registry config: %+v", reg)
	}

	c := parseCompose(t, mustRender(t, Compose, Options{Home: m.home, Registry: m.reg}))
	svc, ok := c.Services["registry"]
	if !ok || len(c.Services) != 1 {
		t.Fatalf("services = %v", c.Services)
	}
	if svc.Image != "registry:2" || len(svc.Ports) != 1 || svc.Ports[0] != "5000:5000" {
		t.Errorf("image %q ports %v", svc.Image, svc.Ports)
	}
	wantMounts := map[string]string{
		"/certs/server-chain.crt": files.Chain,
		"/certs/server.key":       files.Key,
		"/certs/ca.crt":           files.ClientCAs,
	}
	for _, v := range svc.Volumes {
		if src, ok := wantMounts[v.Target]; ok {
			if v.Type != "bind" || v.Source != src || !v.ReadOnly {
				t.Errorf("mount %+v, want a read-only bind of %s", v, src)
			}
			delete(wantMounts, v.Target)
		} else if v.Target == "/var/lib/registry" {
			if v.Type != "volume" || v.Source != "registry-data" {
				t.Errorf("storage mount %+v", v)
			}
		} else {
			t.Errorf("unexpected mount %+v", v)
		}
	}
	if len(wantMounts) > 0 {
		t.Errorf("missing mounts %v", wantMounts)
	}
	if _, ok := c.Volumes["registry-data"]; !ok {
		t.Error("named volume registry-data not declared")
	}
	env := svc.Environment
	for target, k := range map[string]string{
		"/certs/server-chain.crt": "REGISTRY_HTTP_TLS_CERTIFICATE",
		"/certs/server.key":       "REGISTRY_HTTP_TLS_KEY",
	} {
		if env[k] != target {
			t.Errorf("%s = %q, want %q", k, env[k], target)
		}
	}
	// distribution reads a list variable as YAML.
	var cas []string
	if err := yaml.Unmarshal([]byte(env["REGISTRY_HTTP_TLS_CLIENTCAS"]), &cas); err != nil || len(cas) != 1 || cas[0] != "/certs/ca.crt" {
		t.Errorf("REGISTRY_HTTP_TLS_CLIENTCAS = %q (%v), want the list [/certs/ca.crt]", env["REGISTRY_HTTP_TLS_CLIENTCAS"], err)
	}
	if env["REGISTRY_HTTP_TLS_MINIMUMTLS"] != "tls1.2" {
		t.Errorf("minimum TLS %q", env["REGISTRY_HTTP_TLS_MINIMUMTLS"])
	}
}

// composeFile is the part of a docker-compose.yml the tests read.
type composeFile struct {
	Services map[string]struct {
		Image       string
		Restart     string
		Ports       []string
		Environment map[string]string
		Volumes     []struct {
			Type, Source, Target string
			ReadOnly             bool `yaml:"read_only"`
		}
	}
	Volumes map[string]any
}

func parseCompose(t *testing.T, b []byte) composeFile {
	t.Helper()
	var c composeFile
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		t.Fatalf("compose file: %v\n%s", err, b)
	}
	return c
}

// TestNotIssued: no template is rendered for a registry without a server
// certificate, and the error names the command that issues one.
func TestNotIssued(t *testing.T) {
	m := newMaterial(t, "reg.example.com:5000")
	other, err := host.Parse("other.example.com")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range Kinds {
		if k == Containerd {
			continue // TestContainerdOnClientMachine
		}
		_, err := Render(k, Options{Home: m.home, Registry: other})
		var ni *NotIssuedError
		if !errors.As(err, &ni) {
			t.Fatalf("%s: err = %v, want *NotIssuedError", k, err)
		}
		if got, want := errs.HintOf(err), "certkit issue server --host other.example.com"; got != want {
			t.Errorf("%s: hint %q, want %q", k, got, want)
		}
		if errs.IsInput(err) {
			t.Errorf("%s: a missing certificate is a failure (exit 1), not bad input", k)
		}
	}

	// Any one missing file is enough to refuse.
	for _, f := range []string{home.ServerCert, home.ServerKey, home.ServerChain} {
		m := newMaterial(t, "reg.example.com:5000")
		if err := os.Remove(filepath.Join(m.dir(), f)); err != nil {
			t.Fatal(err)
		}
		_, err := Render(Registry, Options{Home: m.home, Registry: m.reg})
		var ni *NotIssuedError
		if !errors.As(err, &ni) || ni.Missing != filepath.Join(m.dir(), f) {
			t.Errorf("without %s: err = %v", f, err)
		}
	}

	// No CA at all: the CA's own error, which says to run init-ca.
	_, err = Render(Registry, Options{Home: t.TempDir(), Registry: m.reg})
	var nf *ca.NotFoundError
	if !errors.As(err, &nf) {
		t.Errorf("empty home: err = %v, want *ca.NotFoundError", err)
	}
}

// TestBadOptions: invalid values are input errors, found before rendering.
func TestBadOptions(t *testing.T) {
	m := newMaterial(t, "reg.example.com:5000")
	tests := []struct {
		name string
		kind Kind
		opt  Options
	}{
		{"listen port 0", Registry, Options{Listen: "0"}},
		{"listen port too big", Registry, Options{Listen: ":70000"}},
		{"listen not a port", Nginx, Options{Listen: "127.0.0.1:https"}},
		{"listen garbage host", Nginx, Options{Listen: "bad host:5000"}},
		{"listen leading zero", Nginx, Options{Listen: ":05000"}},
		{"upstream without port", Nginx, Options{Upstream: "127.0.0.1"}},
		{"upstream empty host", Apache, Options{Upstream: ":5000"}},
		{"upstream with scheme", Apache, Options{Upstream: "http://127.0.0.1:5000"}},
		{"storage with a quote", Registry, Options{Storage: `/srv/re"g`}},
		{"storage with a dollar", Compose, Options{Storage: `/srv/$reg`}},
		{"storage with a newline", Registry, Options{Storage: "/srv/reg\nx: y"}},
		{"certs dir with a backslash", Containerd, Options{CertsDir: `/etc/c\d`}},
		{"upstream for a registry not behind a proxy", Registry, Options{Upstream: "127.0.0.1:5001"}},
		{"nginx behind a proxy", Nginx, Options{BehindProxy: true}},
		{"bad upstream behind a proxy", Registry, Options{BehindProxy: true, Upstream: "127.0.0.1"}},
		{"unknown kind", Kind("caddy"), Options{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.opt.Home, tc.opt.Registry = m.home, m.reg
			out, err := Render(tc.kind, tc.opt)
			if !errs.IsInput(err) {
				t.Fatalf("err = %v, want an input error; rendered:\n%s", err, out)
			}
			if errs.HintOf(err) == "" {
				t.Errorf("%v: no hint", err)
			}
		})
	}

	// A home whose path cannot be written into the configurations.
	h := filepath.Join(t.TempDir(), `my"home`)
	if err := os.CopyFS(h, os.DirFS(m.home)); err != nil {
		t.Fatal(err)
	}
	if _, err := Render(Nginx, Options{Home: h, Registry: m.reg}); !errs.IsInput(err) {
		t.Errorf("home with a quote: err = %v, want an input error", err)
	}
}

func TestParseKind(t *testing.T) {
	for _, k := range Kinds {
		if got, err := ParseKind(string(k)); err != nil || got != k {
			t.Errorf("ParseKind(%q) = %q, %v", k, got, err)
		}
		if _, ok := fileOf[k]; !ok {
			t.Errorf("%s has no template file", k)
		}
	}
	if _, err := ParseKind("Registry"); !errs.IsInput(err) {
		t.Errorf("ParseKind(Registry): %v", err)
	}
}

// TestContainerdOnClientMachine: hosts.toml is rendered on a machine that
// pulls, whose certkit home has the CA certificate and its client pairs
// but no server files and no CA key; without any pair it still renders,
// saying how to add one.
func TestContainerdOnClientMachine(t *testing.T) {
	m := newMaterial(t, "reg.example.com:5000", "laptop")
	for _, f := range []string{home.ServerCert, home.ServerKey, home.ServerChain} {
		if err := os.Remove(filepath.Join(m.dir(), f)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Remove(filepath.Join(home.CADir(m.home), ca.KeyFile)); err != nil {
		t.Fatal(err)
	}
	out, err := Render(Containerd, Options{Home: m.home, Registry: m.reg, CertsDir: "/etc/containerd/certs.d"})
	if err != nil {
		t.Fatalf("containerd on a client machine: %v", err)
	}
	pair := `[["/etc/containerd/certs.d/reg.example.com:5000/laptop.cert", "/etc/containerd/certs.d/reg.example.com:5000/laptop.key"]]`
	if n := strings.Count(string(out), "client = "+pair); n != 2 {
		t.Errorf("the pair is named %d times, want 2 (root and host entry):\n%s", n, out)
	}

	other, err := host.Parse("other.example.com")
	if err != nil {
		t.Fatal(err)
	}
	out, err = Render(Containerd, Options{Home: m.home, Registry: other})
	if err != nil {
		t.Fatalf("containerd for a registry without client certificates: %v", err)
	}
	if !strings.Contains(string(out), "certkit issue client --host other.example.com") || strings.Contains(string(out), "\nclient =") {
		t.Errorf("without a pair, hosts.toml should say how to issue one and name none:\n%s", out)
	}
}

// TestDefaultUpstream: the rule UpstreamRule states, and never the
// proxy's own port.
func TestDefaultUpstream(t *testing.T) {
	for proxy, want := range map[int]string{
		443: "127.0.0.1:5000", 80: "127.0.0.1:5000", 1023: "127.0.0.1:5000",
		1024: "127.0.0.1:1025", 4999: "127.0.0.1:5000", 5000: "127.0.0.1:5001",
		8443: "127.0.0.1:8444", 65534: "127.0.0.1:65535", 65535: "127.0.0.1:65534",
	} {
		if got := DefaultUpstream(proxy); got != want {
			t.Errorf("DefaultUpstream(%d) = %s, want %s", proxy, got, want)
		}
	}
	for p := 1; p <= 65535; p++ {
		if got := DefaultUpstream(p); collides("", p, got) {
			t.Fatalf("DefaultUpstream(%d) = %s collides with the proxy", p, got)
		}
	}
}

// TestCollision: a proxy and the registry behind it on the same port and
// overlapping addresses are refused as bad input, by the proxy's template
// and by the registry's behind a proxy alike, with the commands that move
// the registry; on other ports or addresses they render.
func TestCollision(t *testing.T) {
	m := newMaterial(t, "reg.example.com:5000")
	tests := []struct {
		listen, upstream string
		collide          bool
		suggest          string
	}{
		{"", "127.0.0.1:5000", true, "127.0.0.1:5001"},    // every address, from --host
		{":5000", "10.0.0.6:5000", true, "10.0.0.6:5001"}, // every address takes any
		{"5000", "[::1]:5000", true, "[::1]:5001"},
		{"0.0.0.0:5000", "127.0.0.1:5000", true, "127.0.0.1:5001"},
		{"[::]:5000", "127.0.0.1:5000", true, "127.0.0.1:5001"},
		{"127.0.0.1:5000", "0.0.0.0:5000", true, "0.0.0.0:5001"},
		{"127.0.0.1:5000", "127.0.0.1:5000", true, "127.0.0.1:5001"},
		{"[::ffff:127.0.0.1]:5000", "127.0.0.1:5000", true, "127.0.0.1:5001"},
		{"localhost:5000", "127.0.0.1:5000", true, "127.0.0.1:5001"},
		{"[::1]:5000", "localhost:5000", true, "localhost:5001"},
		{"reg.internal:443", "REG.internal:443", true, "REG.internal:5000"},
		{"127.0.0.1:443", "127.0.0.1:443", true, "127.0.0.1:5000"},
		{"127.0.0.1:5000", "127.0.0.2:5000", false, ""},
		{"10.0.0.5:5000", "127.0.0.1:5000", false, ""},
		{"reg.internal:5000", "127.0.0.1:5000", false, ""}, // a name is not resolved
		{"", "127.0.0.1:5001", false, ""},
		{"127.0.0.1:8443", "127.0.0.1:5000", false, ""},
	}
	for _, tc := range tests {
		for _, k := range []Kind{Nginx, Apache, Registry} {
			t.Run(string(k)+"/"+tc.listen+"/"+tc.upstream, func(t *testing.T) {
				opt := Options{Home: m.home, Registry: m.reg, Listen: tc.listen, Upstream: tc.upstream, BehindProxy: k == Registry}
				out, err := Render(k, opt)
				if !tc.collide {
					if err != nil {
						t.Fatalf("refused: %v", err)
					}
					return
				}
				var ce *CollisionError
				if !errors.As(err, &ce) || !errs.IsInput(err) {
					t.Fatalf("err = %v, want a *CollisionError that is bad input; rendered:\n%s", err, out)
				}
				if ce.Suggest != tc.suggest {
					t.Errorf("suggests --upstream %s, want %s", ce.Suggest, tc.suggest)
				}
				for _, w := range []string{"--upstream " + strconv.Quote(tc.upstream), "collide", "port " + strings.TrimPrefix(tc.upstream[strings.LastIndex(tc.upstream, ":"):], ":")} {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not say %q", err, w)
					}
				}
				proxy := string(k)
				if k == Registry {
					proxy = "nginx"
				}
				listen := ""
				if tc.listen != "" {
					listen = " --listen " + shellquote.Quote(tc.listen)
				}
				flags := " --host reg.example.com:5000" + listen + " --upstream " + shellquote.Quote(tc.suggest)
				for _, w := range []string{"certkit template registry" + flags + " --behind-proxy", "certkit template " + proxy + flags} {
					if !strings.Contains(errs.HintOf(err), w) {
						t.Errorf("hint %q does not name %q", errs.HintOf(err), w)
					}
				}
				// The suggested pair renders.
				opt.Upstream = tc.suggest
				if _, err := Render(k, opt); err != nil {
					t.Errorf("the suggested --upstream %s: %v", tc.suggest, err)
				}
			})
		}
	}
}
