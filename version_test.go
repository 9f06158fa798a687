package main

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/certkit/certkit/internal/testenv"
)

func TestVersionOf(t *testing.T) {
	rev := "d66d50931aafe5fe1b8106edf058172c7c2209c8"
	vcs := func(modified string) []debug.BuildSetting {
		return []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: rev}, {Key: "vcs.modified", Value: modified}}
	}
	tests := []struct {
		name string
		bi   debug.BuildInfo
		want string
	}{
		{"release", debug.BuildInfo{Main: debug.Module{Version: "v1.2.0"}}, "v1.2.0"},
		{"tagged checkout", debug.BuildInfo{Main: debug.Module{Version: "v1.2.0"}, Settings: vcs("false")}, "v1.2.0 (revision " + rev + ")"},
		{"checkout", debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20260102150405-d66d50931aaf"}, Settings: vcs("false")},
			"v0.0.0-20260102150405-d66d50931aaf (revision " + rev + ")"},
		{"changed checkout", debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20260102150405-d66d50931aaf+dirty"}, Settings: vcs("true")},
			"v0.0.0-20260102150405-d66d50931aaf+dirty (revision " + rev + ", modified)"},
		{"no version stamped", debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs("false")}, "devel (revision " + rev + ")"},
		{"nothing known", debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, "devel"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := versionOf(&tt.bi); got != tt.want {
				t.Errorf("versionOf = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestVersionFromCheckout builds certkit with go build in a git checkout of
// this source, as a developer does, and checks that --version names the
// version go stamped and the commit.
func TestVersionFromCheckout(t *testing.T) {
	if testing.Short() {
		t.Skip("builds certkit")
	}
	git := testenv.NeedTool(t, "git")
	src := t.TempDir()
	// The module's Go files, go.mod, go.sum and embedded templates: a
	// fresh checkout (a git worktree is not one: go build stamps nothing
	// where .git is a file).
	err := filepath.WalkDir(".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != "." && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") {
				return filepath.SkipDir
			}
			return os.MkdirAll(filepath.Join(src, p), 0o755)
		}
		if d.Type().IsRegular() && (strings.HasSuffix(p, ".go") && !strings.HasSuffix(p, "_test.go") ||
			p == "go.mod" || p == "go.sum" || strings.HasSuffix(p, ".tmpl")) {
			testenv.CopyFile(t, p, filepath.Join(src, p), 0o644)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	gitEnv := append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com",
		"GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
	for _, args := range [][]string{{"init", "-q"}, {"add", "."}, {"commit", "-q", "-m", "certkit"}} {
		cmd := exec.Command(git, args...)
		cmd.Dir, cmd.Env = src, gitEnv
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	cmd := exec.Command(git, "rev-parse", "HEAD")
	cmd.Dir, cmd.Env = src, gitEnv
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	rev := strings.TrimSpace(string(out))
	bin := filepath.Join(t.TempDir(), "certkit")
	// go build as it is by default: -buildvcs=auto (this machine's GOFLAGS
	// may turn it off).
	cmd = exec.Command("go", "build", "-trimpath", "-o", bin, ".")
	cmd.Dir, cmd.Env = src, append(gitEnv, "GOFLAGS=-buildvcs=auto")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err = exec.Command(bin, "--version").CombinedOutput()
	if err != nil {
		t.Fatalf("certkit --version: %v\n%s", err, out)
	}
	want := regexp.MustCompile(`^certkit version v0\.0\.0-\d{14}-` + rev[:12] + ` \(revision ` + rev + `\)\n$`)
	if !want.Match(out) {
		t.Errorf("certkit --version printed %q, want %s", out, want)
	}
}
