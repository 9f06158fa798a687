package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/certkit/certkit/internal/testenv"
)

// completionHome makes a certkit home with two registry folders (one with
// a port), client pairs, and things that are not registries or pairs.
func completionHome(t *testing.T) string {
	t.Helper()
	h := t.TempDir()
	for _, f := range []string{
		"hosts/reg.example.com:5000/laptop.cert", "hosts/reg.example.com:5000/laptop.key",
		"hosts/reg.example.com:5000/runner1.cert", "hosts/reg.example.com:5000/runner1.key",
		"hosts/reg.example.com:5000/server.crt", "hosts/reg.example.com:5000/server.key",
		"hosts/other.example.com/solo.cert", "hosts/other.example.com/solo.key",
		"hosts/other.example.com/lonely.cert", // no key: not a pair
		"hosts/.certkit-tmp-123/x.cert",       // not a registry name
		"hosts/README",                        // not a folder
	} {
		p := filepath.Join(h, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		testenv.WriteFile(t, p, nil, 0o600)
	}
	return h
}

// TestCompletionBash sources `certkit completion bash` in a real bash and
// calls the completion function it registers for certkit with COMP_WORDS
// and COMP_CWORD as bash's readline sets them: bash splits words at : and
// =, so reg.example.com:50 arrives as three words.
func TestCompletionBash(t *testing.T) {
	bash := testenv.NeedTool(t, "bash")
	testenv.NeedTool(t, "certkit") // this test binary, put on PATH by testscript.Main
	h := completionHome(t)
	other := t.TempDir()
	if err := os.MkdirAll(filepath.Join(other, "hosts", "elsewhere.example.com"), 0o700); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		words []string // COMP_WORDS; the last is the word under the cursor
		home  string   // CERTKIT_HOME
		want  []string
	}{
		{"command", []string{"certkit", "is"}, h, []string{"issue"}},
		{"commands", []string{"certkit", "i"}, h, []string{"init-ca", "issue", "install"}},
		{"subcommand", []string{"certkit", "issue", ""}, h, []string{"server", "client"}},
		{"help topic", []string{"certkit", "help", "ver"}, h, []string{"verify"}},
		{"flags", []string{"certkit", "issue", "client", "--ho"}, h, []string{"--home", "--host"}},
		{"root flags", []string{"certkit", "--"}, h, []string{"--home", "--help", "--version"}},
		{"host", []string{"certkit", "issue", "client", "--host", ""}, h, []string{"other.example.com", "reg.example.com:5000"}},
		{"host prefix", []string{"certkit", "verify", "--host", "re"}, h, []string{"reg.example.com:5000"}},
		// bash replaces only what follows the last colon
		{"host after colon", []string{"certkit", "verify", "--host", "reg.example.com", ":"}, h, []string{"5000"}},
		{"host port", []string{"certkit", "verify", "--host", "reg.example.com", ":", "50"}, h, []string{"5000"}},
		{"host=", []string{"certkit", "install", "--host", "=", "o"}, h, []string{"other.example.com"}},
		{"home flag", []string{"certkit", "--home", other, "verify", "--host", ""}, h, []string{"elsewhere.example.com"}},
		{"no home", []string{"certkit", "verify", "--host", ""}, filepath.Join(h, "missing"), nil},
		{"client names", []string{"certkit", "issue", "client", "--host", "reg.example.com", ":", "5000", "--name", ""}, h, []string{"laptop", "runner1"}},
		{"all client names", []string{"certkit", "issue", "client", "--name", ""}, h, []string{"laptop", "runner1", "solo"}},
		{"target", []string{"certkit", "install", "--target", "d"}, h, []string{"docker", "docker-rootless", "docker-desktop"}},
		{"key type", []string{"certkit", "issue", "server", "--key-type", "rsa-2"}, h, []string{"rsa-2048"}},
		{"after a bool flag", []string{"certkit", "install", "--dry-run", "--ta"}, h, []string{"--target"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			script := `set -u
source <(certkit completion bash)
spec=$(complete -p certkit) || exit 3
fn=${spec#*-F }; fn=${fn%% *}
COMP_WORDS=("$@")
COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
COMP_LINE="${COMP_WORDS[*]}"
COMP_POINT=${#COMP_LINE}
COMPREPLY=()
"$fn" certkit "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
for c in "${COMPREPLY[@]}"; do printf '%s\n' "$c"; done
`
			cmd := exec.Command(bash, append([]string{"--norc", "--noprofile", "-c", script, "bash"}, tt.words...)...)
			cmd.Env = append(os.Environ(), "CERTKIT_HOME="+tt.home)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil || stderr.Len() > 0 {
				t.Fatalf("bash: %v\n%s", err, stderr.String())
			}
			got := strings.Fields(string(out))
			if !slices.Equal(got, tt.want) {
				t.Errorf("completing %q: got %q, want %q", tt.words, got, tt.want)
			}
		})
	}
}

// TestCompletionFish asks fish itself (complete -C) what it completes.
func TestCompletionFish(t *testing.T) {
	fish := testenv.NeedTool(t, "fish")
	testenv.NeedTool(t, "certkit")
	h := completionHome(t)
	tests := []struct {
		line string
		want []string
	}{
		{"certkit is", []string{"issue"}},
		{"certkit issue client --host ", []string{"other.example.com", "reg.example.com:5000"}},
		{"certkit issue client --host reg.example.com:5000 --name r", []string{"runner1"}},
		{"certkit install --target po", []string{"podman"}},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			cmd := exec.Command(fish, "--no-config", "-c", `certkit completion fish | source; complete -C"$argv[1]"`, tt.line)
			cmd.Env = append(os.Environ(), "CERTKIT_HOME="+h, "HOME="+t.TempDir(), "XDG_CONFIG_HOME="+t.TempDir())
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil || stderr.Len() > 0 {
				t.Fatalf("fish: %v\n%s", err, stderr.String())
			}
			var got []string
			for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
				if l != "" {
					got = append(got, strings.SplitN(l, "\t", 2)[0])
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("completing %q: got %q, want %q", tt.line, got, tt.want)
			}
		})
	}
}

// TestCompletionZsh: the zsh script parses, and defines its completion
// function both ways it is loaded (sourced, and from fpath).
func TestCompletionZsh(t *testing.T) {
	zsh := testenv.NeedTool(t, "zsh")
	var stdout, stderr bytes.Buffer
	if code := runWith([]string{"certkit", "completion", "zsh"}, nil, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	file := filepath.Join(t.TempDir(), "_certkit")
	testenv.WriteFile(t, file, stdout.Bytes(), 0o644)
	if out, err := exec.Command(zsh, "-n", file).CombinedOutput(); err != nil {
		t.Fatalf("zsh -n: %v\n%s", err, out)
	}
	if !strings.HasPrefix(stdout.String(), "#compdef certkit\n") {
		t.Error("the script does not start with #compdef certkit, which fpath autoloading needs")
	}
	out, err := exec.Command(zsh, "-f", "-c", `autoload -Uz compinit && compinit -u -D && source "$1" && whence -w _certkit && echo "${_comps[certkit]}"`, "zsh", file).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "_certkit: function") || !strings.HasSuffix(strings.TrimSpace(string(out)), "_certkit") {
		t.Errorf("sourcing the zsh script does not register _certkit for certkit: %v\n%s", err, out)
	}
}

// TestCompletionUsage: the shell is required and must be one certkit knows.
func TestCompletionUsage(t *testing.T) {
	for _, args := range [][]string{{"completion"}, {"completion", "tcsh"}, {"completion", "bash", "zsh"}} {
		var stdout, stderr bytes.Buffer
		code := runWith(append([]string{"certkit"}, args...), nil, &stdout, &stderr)
		if code != 2 || stdout.Len() > 0 || !strings.HasPrefix(stderr.String(), "certkit: error: ") {
			t.Errorf("certkit %s: exit %d, stdout %q, stderr %q; want exit 2 and an error", strings.Join(args, " "), code, stdout.String(), stderr.String())
		}
	}
}
