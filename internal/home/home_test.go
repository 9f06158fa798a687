package home

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestResolve(t *testing.T) {
	tests := []struct {
		name string
		flag string
		env  map[string]string
		euid int
		want string
	}{
		{"flag wins", "/f", map[string]string{"CERTKIT_HOME": "/c"}, 1000, "/f"},
		{"CERTKIT_HOME", "", map[string]string{"CERTKIT_HOME": "/c", "XDG_DATA_HOME": "/x"}, 1000, "/c"},
		{"XDG_DATA_HOME", "", map[string]string{"XDG_DATA_HOME": "/x"}, 1000, "/x/certkit"},
		{"relative XDG ignored", "", map[string]string{"XDG_DATA_HOME": "x"}, 1000, "/home/me/.local/share/certkit"},
		{"default", "", nil, 1000, "/home/me/.local/share/certkit"},
		{"sudo uses invoking user", "", map[string]string{"SUDO_USER": "alice"}, 0, "/home/alice/.local/share/certkit"},
		{"sudo with CERTKIT_HOME", "", map[string]string{"SUDO_USER": "alice", "CERTKIT_HOME": "/c"}, 0, "/c"},
		{"SUDO_USER but not root", "", map[string]string{"SUDO_USER": "alice"}, 1000, "/home/me/.local/share/certkit"},
		{"unknown sudo user", "", map[string]string{"SUDO_USER": "ghost"}, 0, "/home/me/.local/share/certkit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := Env{
				Getenv:  func(k string) string { return tt.env[k] },
				HomeDir: func() (string, error) { return "/home/me", nil },
				LookupUser: func(n string) (string, error) {
					if n == "alice" {
						return "/home/alice", nil
					}
					return "", errors.New("no such user")
				},
				Geteuid: func() int { return tt.euid },
			}
			got, err := Resolve(tt.flag, env)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("Resolve = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestClientNamesAndRegistries(t *testing.T) {
	h := t.TempDir()
	write := func(rel string) {
		p := filepath.Join(h, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("hosts/reg:5000/b.cert")
	write("hosts/reg:5000/b.key")
	write("hosts/reg:5000/a.cert")
	write("hosts/reg:5000/a.key")
	write("hosts/reg:5000/lonely.cert")
	write("hosts/reg:5000/server.crt")
	write("hosts/reg:5000/server.key")
	write("hosts/only-server/server.crt")
	names, err := ClientNames(h, "reg:5000")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(names, " ") != "a b" {
		t.Errorf("ClientNames = %v, want [a b]", names)
	}
	regs, err := Registries(h)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(regs, " ") != "reg:5000" {
		t.Errorf("Registries = %v", regs)
	}
	if regs, err := Registries(t.TempDir()); err != nil || len(regs) != 0 {
		t.Errorf("empty home: %v, %v", regs, err)
	}
}
