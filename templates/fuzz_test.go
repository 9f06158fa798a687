package templates

import (
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/certkit/certkit/internal/errs"
)

// FuzzOptions feeds --listen, --upstream and --storage values to the
// templates: each is refused as bad input, or lands in the configuration as
// one value, never as extra configuration (YAML keys, nginx directives).
// The registry behind a proxy and nginx, from the same values, agree.
func FuzzOptions(f *testing.F) {
	for _, s := range [][3]string{
		{"", "", ""},
		{"127.0.0.1:5000", "127.0.0.1:5001", "/srv/registry"},
		{"[::1]:443", "reg.internal:5000", "relative/store"},
		{"5000", "[fd00::1]:80", "/srv/a b"},
		{":5000\nfoo: bar", "127.0.0.1:5000;\nlisten 80", "/srv\"\nx: y"},
		{"0.0.0.0:65535", "h:1", "/srv/#comment: x"},
		{"localhost:5000", "127.0.0.1:5000", ""},
		{"[::1]:5000", "[::]:5000", ""},
	} {
		f.Add(s[0], s[1], s[2])
	}
	m := newMaterial(f, "reg.example.com:5000")
	f.Fuzz(func(t *testing.T, listen, upstream, storage string) {
		opt := Options{Home: m.home, Registry: m.reg, Listen: listen, Storage: storage}
		out, err := Render(Registry, opt)
		if err != nil {
			if !errs.IsInput(err) {
				t.Fatalf("Render(registry, %q, %q): %v is not an input error", listen, storage, err)
			}
			return
		}
		var cfg struct {
			Storage struct {
				Filesystem struct{ Rootdirectory string }
			}
			HTTP struct {
				Addr string
				TLS  *struct{ Key string }
			} `yaml:"http"`
		}
		if err := yaml.Unmarshal(out, &cfg); err != nil {
			t.Fatalf("registry config does not parse: %v\n%s", err, out)
		}
		if want, _ := filepath.Abs(storage); storage != "" && cfg.Storage.Filesystem.Rootdirectory != want {
			t.Errorf("rootdirectory %q, want %q", cfg.Storage.Filesystem.Rootdirectory, want)
		}
		if cfg.HTTP.TLS == nil || cfg.HTTP.TLS.Key != filepath.Join(m.dir(), "server.key") {
			t.Errorf("tls %+v: the configuration was altered", cfg.HTTP.TLS)
		}
		if strings.ContainsAny(cfg.HTTP.Addr, " \t\n;\"'#{}") {
			t.Errorf("addr %q", cfg.HTTP.Addr)
		}

		// The registry behind a proxy and the proxy, rendered from the
		// same options, agree: both refuse the pair, or the registry
		// listens where nginx sends requests, never where nginx listens.
		opt.Upstream, opt.BehindProxy = upstream, true
		behind, berr := Render(Registry, opt)
		opt.BehindProxy = false
		out, err = Render(Nginx, opt)
		if (err == nil) != (berr == nil) {
			t.Fatalf("nginx: %v, but the registry behind it: %v", err, berr)
		}
		if err != nil {
			if !errs.IsInput(err) || !errs.IsInput(berr) {
				t.Fatalf("%v / %v: not input errors", err, berr)
			}
			return
		}
		cfg.HTTP.Addr, cfg.HTTP.TLS = "", nil
		if err := yaml.Unmarshal(behind, &cfg); err != nil {
			t.Fatalf("registry config behind a proxy does not parse: %v\n%s", err, behind)
		}
		if cfg.HTTP.TLS != nil {
			t.Errorf("the registry behind a proxy has a tls section:\n%s", behind)
		}
		lhost, lport, err := parseListen(listen, m.reg)
		if err != nil {
			t.Fatal(err)
		}
		if collides(lhost, lport, cfg.HTTP.Addr) || upstream == "" && cfg.HTTP.Addr != DefaultUpstream(lport) || upstream != "" && cfg.HTTP.Addr != upstream {
			t.Errorf("behind a proxy on %q, the registry listens on %q (--upstream %q)", listen, cfg.HTTP.Addr, upstream)
		}
		text := string(out)
		if strings.Count(text, "{") != strings.Count(text, "}") {
			t.Errorf("unbalanced braces in the nginx block:\n%s", text)
		}
		servers := 0
		for _, l := range strings.Split(text, "\n") {
			l = strings.TrimSpace(l)
			switch {
			case strings.HasPrefix(l, "server ") && l != "server {":
				servers++
				if l != "server "+cfg.HTTP.Addr+";" {
					t.Errorf("upstream line %q, want server %s;", l, cfg.HTTP.Addr)
				}
			case strings.HasPrefix(l, "listen "):
				if strings.Count(l, ";") != 1 || !strings.HasSuffix(l, " ssl;") || strings.ContainsAny(l, "\"'#{}") {
					t.Errorf("listen line %q", l)
				}
			}
		}
		if servers != 1 {
			t.Errorf("%d upstream server lines, want 1", servers)
		}
	})
}
