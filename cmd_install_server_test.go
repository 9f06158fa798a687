//go:build unix

package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/certkit/certkit/internal/testenv"
)

// TestInstallServerForDebianService: Debian's docker-registry service runs
// as user docker-registry, which cannot read the certkit home (0700). A
// config.yml naming the home's files fails to start as that user;
// install --server copies the chain, key (0640, group docker-registry) and
// CA out, template registry --server-dir names them, and the registry,
// run as docker-registry, takes a push and a pull with skopeo from a
// client certkit installed.
func TestInstallServerForDebianService(t *testing.T) {
	needRoot(t)
	bin := testenv.NeedTool(t, "docker-registry")
	skopeo := testenv.NeedTool(t, "skopeo")
	testenv.NeedHostname(t, e2eRegistryName)
	svc, err := user.Lookup("docker-registry")
	if err != nil {
		t.Fatalf("Debian's docker-registry package makes the user docker-registry: %v", err)
	}
	uid, _ := strconv.Atoi(svc.Uid)
	gid, _ := strconv.Atoi(svc.Gid)
	cred := &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	port := strconv.Itoa(testenv.FreePort(t))
	reg := e2eRegistryName + ":" + port

	// A place the service user can walk through, as /etc and /home are.
	base := t.TempDir()
	for _, d := range []string{filepath.Dir(base), base} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	h := filepath.Join(base, "home")
	must(t, h, "init-ca")
	must(t, h, "issue", "server", "--host", reg)
	must(t, h, "issue", "client", "--host", reg)
	storage := filepath.Join(base, "storage")
	if err := os.Mkdir(storage, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(storage, uid, gid); err != nil {
		t.Fatal(err)
	}
	render := func(out string, extra ...string) {
		t.Helper()
		args := append([]string{"template", "registry", "--host", reg, "--listen", "127.0.0.1:" + port, "--storage", storage, "--out", out}, extra...)
		must(t, h, args...)
	}

	// Without install --server: the service user cannot read the home's key.
	homeConfig := filepath.Join(base, "home-config.yml")
	render(homeConfig)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "serve", homeConfig)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	out, err := cmd.CombinedOutput()
	if err == nil || ctx.Err() != nil || !strings.Contains(string(out), "permission denied") {
		t.Fatalf("docker-registry as user docker-registry with the home's files: %v (want it to exit with permission denied)\n%s", err, out)
	}

	srv := filepath.Join(base, "etc", "registry-certs")
	stderr := must(t, h, "install", "--server", "--host", reg, "--dir", srv, "--group", "docker-registry")
	t.Logf("install --server:\n%s", stderr)
	for _, f := range []struct {
		name string
		mode os.FileMode
		gid  int
		from string
	}{
		{"server-chain.crt", 0o644, 0, filepath.Join(h, "hosts", reg, "server-chain.crt")},
		{"server.key", 0o640, gid, filepath.Join(h, "hosts", reg, "server.key")},
		// The registry's issuing CA: its clients only.
		{"ca.crt", 0o644, 0, filepath.Join(h, "ca", "registries", reg, "client-cas.crt")},
	} {
		p := filepath.Join(srv, f.name)
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		st := fi.Sys().(*syscall.Stat_t)
		if fi.Mode().Perm() != f.mode || int(st.Gid) != f.gid || st.Uid != 0 {
			t.Errorf("%s: mode %04o owner %d:%d, want %04o 0:%d", f.name, fi.Mode().Perm(), st.Uid, st.Gid, f.mode, f.gid)
		}
		got, _ := os.ReadFile(p)
		want, _ := os.ReadFile(f.from)
		if !bytes.Equal(bytes.TrimSpace(got), bytes.TrimSpace(want)) {
			t.Errorf("%s is not the home's %s", p, f.from)
		}
	}
	if again := must(t, h, "install", "--server", "--host", reg, "--dir", srv, "--group", "docker-registry"); !strings.Contains(again, "nothing changed") {
		t.Errorf("a second install --server did not say nothing changed:\n%s", again)
	}

	config := filepath.Join(base, "config.yml")
	render(config, "--server-dir", srv)
	// No setting names a file of the home (the service user cannot read
	// it); the comments' certkit commands carry the run's --home, as every
	// command certkit prints does.
	b, _ := os.ReadFile(config)
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") && strings.Contains(line, h) {
			t.Fatalf("the --server-dir config names the certkit home in a setting: %s\n%s", line, b)
		}
	}
	testenv.StartProcess(t, testenv.Program{
		Path: bin, Args: []string{"serve", config}, Credential: cred,
		Ready: regexp.MustCompile(`msg="listening on ([^\s,"]+), tls"`),
	})
	certs := filepath.Join(base, "certs.d")
	must(t, h, "install", "--host", reg, "--certs-dir", certs)
	pushPull(t, skopeo, reg, filepath.Join(certs, reg), "server-install")
}

// TestInstallServerInputs: what install --server refuses, changes and
// keeps, without running a registry.
func TestInstallServerInputs(t *testing.T) {
	h := t.TempDir()
	must(t, h, "init-ca")
	reg := "reg.example.com:5000"
	must(t, h, "issue", "server", "--host", reg)
	dir := filepath.Join(t.TempDir(), "srv")
	group := []string{"--group", strconv.Itoa(os.Getegid())}

	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"dir-without-server", []string{"install", "--host", reg, "--dir", dir}, 2, "--dir is for --server"},
		{"no-host", []string{"install", "--server", "--dir", dir}, 2, "--server needs one --host"},
		{"two-hosts", []string{"install", "--server", "--host", reg, "--host", "other:5000", "--dir", dir}, 2, "--server needs one --host"},
		{"with-certs-dir", []string{"install", "--server", "--host", reg, "--certs-dir", dir}, 2, "--certs-dir is for client machines"},
		{"into-certs-d", []string{"install", "--server", "--host", reg, "--dir", filepath.Join(dir, "certs.d", reg)}, 2, "under a certs.d root"},
		{"no-such-group", []string{"install", "--server", "--host", reg, "--dir", dir, "--group", "no-such-group-certkit"}, 2, "no such group"},
		{"not-issued", []string{"install", "--server", "--host", "other.example.com", "--dir", dir}, 1, "hint: issue one first: certkit issue server --host other.example.com"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := certkit(t, h, tc.args...)
			if code != tc.code || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, want %d with %q:\n%s", code, tc.code, tc.want, stderr)
			}
			if _, err := os.Stat(dir); !os.IsNotExist(err) {
				t.Errorf("a refused install --server made %s", dir)
			}
		})
	}

	args := append([]string{"install", "--server", "--host", reg, "--dir", dir}, group...)
	if stderr := must(t, h, append(args, "--dry-run")...); !strings.Contains(stderr, "Would install") {
		t.Errorf("--dry-run:\n%s", stderr)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("--dry-run made %s", dir)
	}
	must(t, h, args...)
	key := filepath.Join(dir, "server.key")
	if fi, err := os.Stat(key); err != nil || fi.Mode().Perm() != 0o640 {
		t.Fatalf("server.key: %v %v, want 0640", fi, err)
	}

	// A re-issued certificate differs: refused without --force, replaced
	// with it, the old chain kept as a backup.
	old, _ := os.ReadFile(filepath.Join(dir, "server-chain.crt"))
	must(t, h, "issue", "server", "--host", reg, "--force")
	code, _, stderr := certkit(t, h, args...)
	if code != 1 || !strings.Contains(stderr, "add --force") {
		t.Fatalf("exit %d, want 1 with a hint to add --force:\n%s", code, stderr)
	}
	if now, _ := os.ReadFile(filepath.Join(dir, "server-chain.crt")); !bytes.Equal(now, old) {
		t.Fatal("a refused install --server changed server-chain.crt")
	}
	stderr = must(t, h, append(args, "--force")...)
	if !strings.Contains(stderr, "backup") || !strings.Contains(stderr, "restart the registry") {
		t.Errorf("install --server --force names no backup or restart:\n%s", stderr)
	}
	backups, _ := filepath.Glob(filepath.Join(dir, "server-chain.crt.bak-*"))
	if len(backups) != 1 {
		t.Fatalf("backups of server-chain.crt: %v", backups)
	}
	if b, _ := os.ReadFile(backups[0]); !bytes.Equal(b, old) {
		t.Error("the backup is not the old chain")
	}

	// template registry --server-dir names the folder's files, and refuses
	// a folder without them.
	code, out, stderr := certkit(t, h, "template", "registry", "--host", reg, "--server-dir", dir)
	if code != 0 || !strings.Contains(out, `certificate: "`+filepath.Join(dir, "server-chain.crt")+`"`) ||
		!strings.Contains(out, `key: "`+key+`"`) || !strings.Contains(out, `- "`+filepath.Join(dir, "ca.crt")+`"`) {
		t.Errorf("template registry --server-dir: exit %d\n%s%s", code, out, stderr)
	}
	empty := t.TempDir()
	code, _, stderr = certkit(t, h, "template", "registry", "--host", reg, "--server-dir", empty)
	if code != 1 || !strings.Contains(stderr, "hint: sudo certkit install --server --host "+reg+" --dir "+empty) {
		t.Errorf("template registry --server-dir of an empty folder: exit %d\n%s", code, stderr)
	}
}
