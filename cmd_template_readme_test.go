package main

import (
	"bytes"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// README's nginx and Apache set-up on one machine runs as written: its
// certkit commands succeed in that order, each file it installs is one a
// command before it wrote, the registry's config.yml listens where the
// nginx block and the Apache site send requests, and the address the
// README names is that one. (The acceptance tests in templates/ run the
// same set-up with the programs.)
func TestReadmeProxyOnOneMachine(t *testing.T) {
	data, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(data), "\n### nginx or Apache in front, on one machine\n")
	if !ok {
		t.Fatal("README.md lacks the section on nginx or Apache in front, on one machine")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	section, _, _ = strings.Cut(section, "\n### ")
	var blocks []string
	for rest := section; ; {
		_, after, ok := strings.Cut(rest, "```sh\n")
		if !ok {
			break
		}
		block, after, _ := strings.Cut(after, "```")
		blocks = append(blocks, block)
		rest = after
	}
	if len(blocks) != 4 {
		t.Fatalf("%d sh blocks, want 4 (registry, nginx, Apache, client)", len(blocks))
	}

	t.Setenv("CERTKIT_HOME", t.TempDir())
	rendered := map[string][]byte{} // template kind -> the file it wrote
	var said []string               // addresses the comments name
	for _, block := range blocks {
		t.Chdir(t.TempDir()) // each block on its own, as a person runs one of nginx and Apache
		for _, line := range strings.Split(strings.TrimSpace(block), "\n") {
			if c, ok := strings.CutPrefix(line, "# "); ok {
				if m := regexp.MustCompile(`plain HTTP on (\S+?),? `).FindStringSubmatch(c + " "); m != nil {
					said = append(said, m[1])
				}
				continue
			}
			args := strings.Fields(line)
			switch {
			case len(args) > 4 && args[0] == "sudo" && args[1] == "install":
				if _, err := os.Stat(args[len(args)-2]); err != nil {
					t.Errorf("%s: the file to install was not written by a command before it: %v", line, err)
				}
			case args[0] == "sudo":
				// systemctl, apt-get, a2enmod, nginx -t, certkit install:
				// root on a real machine.
			case args[0] == "certkit" && args[1] == "verify":
				// needs the registry on reg.example.com; the acceptance
				// tests verify through both proxies.
			case args[0] == "certkit":
				var stdout, stderr bytes.Buffer
				if code := runWith(args, strings.NewReader(""), &stdout, &stderr); code != 0 {
					t.Fatalf("%s: exit %d\n%s", line, code, stderr.String())
				}
				if args[1] == "template" {
					i := slices.Index(args, "--out")
					if i < 0 || i+1 == len(args) {
						t.Fatalf("%s: no --out", line)
					}
					b, err := os.ReadFile(args[i+1])
					if err != nil {
						t.Fatal(err)
					}
					rendered[args[2]] = b
				}
			default:
				t.Errorf("unexpected line %q", line)
			}
		}
	}

	var cfg struct {
		HTTP struct {
			Addr string
			TLS  map[string]any
		} `yaml:"http"`
	}
	if err := yaml.Unmarshal(rendered["registry"], &cfg); err != nil || cfg.HTTP.Addr == "" || cfg.HTTP.TLS != nil {
		t.Fatalf("the registry's config.yml: addr %q, tls %v, %v\n%s", cfg.HTTP.Addr, cfg.HTTP.TLS, err, rendered["registry"])
	}
	for kind, want := range map[string]string{
		"nginx":  "    server " + cfg.HTTP.Addr + ";\n",
		"apache": "    ProxyPass        /v2 http://" + cfg.HTTP.Addr + "/v2\n",
	} {
		if !bytes.Contains(rendered[kind], []byte(want)) {
			t.Errorf("%s does not send requests to the registry's %s:\n%s", kind, cfg.HTTP.Addr, rendered[kind])
		}
	}
	if len(said) == 0 {
		t.Error("README's commands do not say where the registry listens")
	}
	for _, s := range said {
		if s != cfg.HTTP.Addr {
			t.Errorf("README says the registry listens on %s; it listens on %s", s, cfg.HTTP.Addr)
		}
	}
}
