//go:build unix

package main

import (
	"context"
	"crypto/tls"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/containerd/containerd/v2/core/remotes/docker/config"
	"go.podman.io/image/v5/pkg/tlsclientconfig"

	"github.com/certkit/certkit/internal/testenv"
)

// TestRotateEndToEnd: docker-registry runs from certkit template
// registry. Mid-rotation, restarted once, it takes a push and a pull
// from a client with a pair of the previous CA (its certs.d folder
// installed before the rotation) and from one with a pair of the new CA.
// After renew, rotate-ca --finish, install and a restart, a pair of the
// previous CA is refused. podman's and containerd's loaders accept the
// installed folders at every step.
func TestRotateEndToEnd(t *testing.T) {
	bin := testenv.NeedTool(t, "docker-registry")
	skopeo := testenv.NeedTool(t, "skopeo")
	port := strconv.Itoa(testenv.FreePort(t))
	reg := "localhost:" + port
	listen := "127.0.0.1:" + port
	h := filepath.Join(t.TempDir(), "home")
	work := t.TempDir()
	oldRoot := filepath.Join(work, "old-machine") // Docker's layout, installed before the rotation
	newRoot := filepath.Join(work, "new-machine") // containerd's, with hosts.toml, installed after
	must := func(args ...string) string {
		t.Helper()
		code, stderr := ck(t, append([]string{"--home", h}, args...)...)
		if code != 0 {
			t.Fatalf("certkit %s: exit %d\n%s", strings.Join(args, " "), code, stderr)
		}
		return stderr
	}
	cfg := filepath.Join(work, "config.yml")
	must("init-ca")
	must("issue", "server", "--host", reg)
	must("issue", "client", "--host", reg, "--name", "before")
	must("template", "registry", "--host", reg, "--listen", listen, "--storage", filepath.Join(work, "storage"), "--out", cfg)
	must("install", "--host", reg, "--certs-dir", oldRoot)
	// The pair of the previous CA, kept aside: renew replaces it in the home.
	oldPair := filepath.Join(work, "old-pair")
	if err := os.MkdirAll(oldPair, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"before.cert", "before.key"} {
		testenv.CopyFile(t, filepath.Join(oldRoot, reg, f), filepath.Join(oldPair, f), 0o600)
	}

	stderr := must("rotate-ca")
	if !strings.Contains(stderr, "Made a new CA") {
		t.Errorf("rotate-ca says:\n%s", stderr)
	}
	if code, stderr := ck(t, "--home", h, "rotate-ca"); code != 2 || !strings.Contains(stderr, "a CA rotation is under way") {
		t.Errorf("rotate-ca during a rotation: exit %d\n%s", code, stderr)
	}
	must("issue", "client", "--host", reg, "--name", "after")
	must("install", "--host", reg, "--target", "containerd", "--certs-dir", newRoot)
	newFolder := filepath.Join(newRoot, reg)
	for _, f := range []string{"ca.crt", "ca-previous.crt", "after.cert", "before.cert"} {
		if _, err := os.Stat(filepath.Join(newFolder, f)); err != nil {
			t.Errorf("mid-rotation install: %v", err)
		}
	}
	if toml := string(readFile(t, filepath.Join(newFolder, "hosts.toml"))); !strings.Contains(toml, `ca = ["ca.crt", "ca-previous.crt"]`) {
		t.Errorf("hosts.toml does not name both CAs:\n%s", toml)
	}
	// A client machine with the new CA's pair only.
	newOnly := filepath.Join(work, "new-only")
	if err := os.MkdirAll(newOnly, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"ca.crt", "ca-previous.crt", "after.cert", "after.key"} {
		testenv.CopyFile(t, filepath.Join(newFolder, f), filepath.Join(newOnly, f), 0o600)
	}

	image := filepath.Join(work, "image")
	testenv.WriteOCIImage(t, image, "latest")
	sk := skopeoIn(t, skopeo, work)
	pushPull := func(t *testing.T, dir, repo string) {
		t.Helper()
		ref := "docker://" + reg + "/certkit/" + repo + ":latest"
		if err := sk("copy", "--dest-cert-dir", dir, "oci:"+image+":latest", ref); err != nil {
			t.Errorf("push with %s: %v", dir, err)
		}
		if err := sk("copy", "--src-cert-dir", dir, ref, "oci:"+filepath.Join(t.TempDir(), "pulled")+":latest"); err != nil {
			t.Errorf("pull with %s: %v", dir, err)
		}
	}
	loaders := func(t *testing.T, root string) {
		t.Helper()
		cfg := &tls.Config{}
		if err := tlsclientconfig.SetupCertificates(filepath.Join(root, reg), cfg); err != nil || len(cfg.Certificates) == 0 {
			t.Errorf("podman's loader on %s: %v, %d pairs", root, err, len(cfg.Certificates))
		}
		hosts, err := config.ConfigureHosts(context.Background(), config.HostOptions{HostDir: config.HostDirFromRoot(root)})(reg)
		if err != nil || len(hosts) == 0 {
			t.Errorf("containerd's loader on %s: %v", root, err)
		}
	}

	// The loaders read the folders as installed before the rotation and
	// in the middle of it.
	loaders(t, oldRoot)
	loaders(t, newRoot)

	t.Run("mid-rotation", func(t *testing.T) {
		testenv.StartProcess(t, testenv.Program{Path: bin, Args: []string{"serve", cfg}, Listen: listen})
		pushPull(t, filepath.Join(oldRoot, reg), "old")
		pushPull(t, newOnly, "new")
		loaders(t, oldRoot)
		loaders(t, newRoot)
	})

	if code, stderr := ck(t, "--home", h, "rotate-ca", "--finish"); code != 1 || !strings.Contains(stderr, "still holds 2 certificate(s) of the previous CA: "+reg+" before, "+reg+" server") {
		t.Errorf("--finish with leaves of the previous CA: exit %d\n%s", code, stderr)
	}
	code, out := ck(t, "--home", h, "status", "--certs-dir", newRoot, "--target", "containerd")
	if code != 1 || !strings.Contains(out, "certkit renew --install") {
		t.Errorf("status mid-rotation: exit %d\n%s", code, out)
	}
	must("renew", "--install", "--target", "containerd", "--certs-dir", newRoot)
	loaders(t, newRoot)
	must("rotate-ca", "--finish")
	if code, stderr := ck(t, "--home", h, "rotate-ca", "--finish"); code != 2 || !strings.Contains(stderr, "no CA rotation is under way") {
		t.Errorf("--finish with no rotation: exit %d\n%s", code, stderr)
	}
	stderr = must("install", "--host", reg, "--target", "containerd", "--certs-dir", newRoot)
	if _, err := os.Stat(filepath.Join(newFolder, "ca-previous.crt")); err == nil || !strings.Contains(stderr, "ca-previous.crt") {
		t.Errorf("install after --finish left ca-previous.crt:\n%s", stderr)
	}
	// The old pair beside the new CA: refused for its certificate, not
	// for the server's.
	testenv.CopyFile(t, filepath.Join(newFolder, "ca.crt"), filepath.Join(oldPair, "ca.crt"), 0o644)

	t.Run("finished", func(t *testing.T) {
		testenv.StartProcess(t, testenv.Program{Path: bin, Args: []string{"serve", cfg}, Listen: listen})
		pushPull(t, newFolder, "renewed")
		if err := sk("inspect", "--cert-dir", oldPair, "docker://"+reg+"/certkit/old:latest"); err == nil {
			t.Error("the previous CA's pair is still accepted after the rotation")
		}
		if err := sk("inspect", "--cert-dir", newOnly, "docker://"+reg+"/certkit/new:latest"); err != nil {
			t.Errorf("the new CA's pair is refused: %v", err)
		}
		loaders(t, newRoot)
		if code, stderr := ck(t, "--home", h, "verify", "--host", reg, "--target", "containerd", "--certs-dir", newRoot); code != 0 {
			t.Errorf("verify after the rotation: exit %d\n%s", code, stderr)
		}
	})
}
