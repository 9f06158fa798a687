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
func FuzzOptions(f *testing.F) {
	for _, s := range [][3]string{
		{"", "", ""},
		{"127.0.0.1:5000", "127.0.0.1:5001", "/srv/registry"},
		{"[::1]:443", "reg.internal:5000", "relative/store"},
		{"5000", "[fd00::1]:80", "/srv/a b"},
		{":5000\nfoo: bar", "127.0.0.1:5000;\nlisten 80", "/srv\"\nx: y"},
		{"0.0.0.0:65535", "h:1", "/srv/#comment: x"},
	} {
		f.Add(s[0], s[1], s[2])
	}
	m := newMaterial(f, "reg.example.com:5000")
	f.Fuzz(func(t *testing.T, listen, upstream, storage string) {
		opt := Options{Home: m.home, Registry: m.reg, Listen: listen, Upstream: upstream, Storage: storage}
		out, err := Render(Registry, opt)
		if err != nil {
			if !errs.IsInput(err) {
				t.Fatalf("Render(registry, %q, %q, %q): %v is not an input error", listen, upstream, storage, err)
			}
			return
		}
		var cfg struct {
			Storage struct {
				Filesystem struct{ Rootdirectory string }
			}
			HTTP struct {
				Addr string
				TLS  struct{ Key string }
			} `yaml:"http"`
		}
		if err := yaml.Unmarshal(out, &cfg); err != nil {
			t.Fatalf("registry config does not parse: %v\n%s", err, out)
		}
		if want, _ := filepath.Abs(storage); storage != "" && cfg.Storage.Filesystem.Rootdirectory != want {
			t.Errorf("rootdirectory %q, want %q", cfg.Storage.Filesystem.Rootdirectory, want)
		}
		if cfg.HTTP.TLS.Key != filepath.Join(m.dir(), "server.key") {
			t.Errorf("tls.key %q: the configuration was altered", cfg.HTTP.TLS.Key)
		}
		if strings.ContainsAny(cfg.HTTP.Addr, " \t\n;\"'#{}") {
			t.Errorf("addr %q", cfg.HTTP.Addr)
		}

		out, err = Render(Nginx, opt)
		if err != nil {
			t.Fatalf("registry rendered but nginx did not: %v", err)
		}
		text := string(out)
		if strings.Count(text, "{") != strings.Count(text, "}") {
			t.Errorf("unbalanced braces in the nginx block:\n%s", text)
		}
		want := upstream
		if want == "" {
			want = DefaultUpstream
		}
		servers := 0
		for _, l := range strings.Split(text, "\n") {
			l = strings.TrimSpace(l)
			switch {
			case strings.HasPrefix(l, "server ") && l != "server {":
				servers++
				if l != "server "+want+";" {
					t.Errorf("upstream line %q, want server %s;", l, want)
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
