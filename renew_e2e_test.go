//go:build unix

package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/containerd/containerd/v2/core/remotes/docker/config"
	"go.podman.io/image/v5/pkg/tlsclientconfig"

	"github.com/certkit/certkit/internal/testenv"
)

// TestRenewEndToEnd: a registry served by Debian's docker-registry, with a
// client pair installed by certkit. certkit renew --all --install renews
// the server certificate and the pair and installs the pair; verify,
// before the registry is restarted, says to restart it; after the
// restart, the registry serves the renewed certificate and takes a push
// and a pull from skopeo with the renewed pair, and podman's and
// containerd's loaders read the folder.
func TestRenewEndToEnd(t *testing.T) {
	testenv.NeedTool(t, "docker-registry")
	skopeo := testenv.NeedTool(t, "skopeo")
	const name = "certkit-test.internal"
	testenv.NeedHostname(t, name)
	port := strconv.Itoa(testenv.FreePort(t))
	reg := name + ":" + port
	h := filepath.Join(t.TempDir(), "home")
	certs := filepath.Join(t.TempDir(), "certs.d")
	folder := filepath.Join(certs, reg)
	must := func(args ...string) string {
		t.Helper()
		code, stderr := ck(t, append([]string{"--home", h}, args...)...)
		if code != 0 {
			t.Fatalf("certkit %s: exit %d\n%s", strings.Join(args, " "), code, stderr)
		}
		return stderr
	}
	must("init-ca")
	must("issue", "server", "--host", reg)
	must("issue", "client", "--host", reg, "--name", "laptop")
	must("install", "--host", reg, "--certs-dir", certs)
	hd := filepath.Join(h, "hosts", reg)
	regCfg := testenv.RegistryConfig{
		Addr:      "127.0.0.1:" + port,
		Chain:     filepath.Join(hd, "server-chain.crt"),
		Key:       filepath.Join(hd, "server.key"),
		ClientCAs: []string{filepath.Join(h, "ca", "ca.crt")},
	}
	oldPair := readFile(t, filepath.Join(folder, "laptop.key"))

	work := t.TempDir()
	image := filepath.Join(work, "image")
	testenv.WriteOCIImage(t, image, "latest")
	env := append(os.Environ(), "HOME="+work, "XDG_RUNTIME_DIR="+work, "REGISTRY_AUTH_FILE="+filepath.Join(work, "auth.json"))
	ref := "docker://" + reg + "/certkit/renew:latest"
	skopeoRun := func(t *testing.T, args ...string) {
		t.Helper()
		cmd := exec.Command(skopeo, args...)
		cmd.Env = env
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("skopeo %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}

	t.Run("renewed, not restarted", func(t *testing.T) {
		testenv.StartRegistry(t, regCfg)
		skopeoRun(t, "--insecure-policy", "copy", "--dest-cert-dir", folder, "oci:"+image+":latest", ref)
		stderr := must("renew", "--all", "--install", "--host", reg, "--certs-dir", certs)
		for _, want := range []string{"Renewed 2 certificates", "Installed " + reg, "restart"} {
			if !strings.Contains(stderr, want) {
				t.Errorf("renew does not say %q:\n%s", want, stderr)
			}
		}
		if bytes.Equal(readFile(t, filepath.Join(folder, "laptop.key")), oldPair) {
			t.Error("the installed key is the old one")
		}
		if !bytes.Equal(readFile(t, filepath.Join(folder, "laptop.cert")), readFile(t, filepath.Join(hd, "laptop.cert"))) {
			t.Error("the installed certificate is not the home's renewed one")
		}
		code, stderr := ck(t, "--home", h, "verify", "--host", reg, "--certs-dir", certs)
		if !strings.Contains(stderr, "restart the registry") || !strings.Contains(stderr, "older than the certkit home's") {
			t.Errorf("verify (exit %d) does not say the registry must restart:\n%s", code, stderr)
		}
	})
	t.Run("restarted", func(t *testing.T) {
		addr := testenv.StartRegistry(t, regCfg)
		skopeoRun(t, "--insecure-policy", "copy", "--dest-cert-dir", folder, "oci:"+image+":latest", ref)
		skopeoRun(t, "inspect", "--cert-dir", folder, ref)
		if code, stderr := ck(t, "--home", h, "verify", "--host", reg, "--certs-dir", certs); code != 0 || strings.Contains(stderr, "restart") {
			t.Errorf("verify after the restart (exit %d):\n%s", code, stderr)
		}
		// podman's loader, against the registry.
		cfg := &tls.Config{}
		if err := tlsclientconfig.SetupCertificates(folder, cfg); err != nil || len(cfg.Certificates) == 0 {
			t.Fatalf("podman's loader: %v, %d pairs", err, len(cfg.Certificates))
		}
		_ = addr // the name resolves to it (NeedHostname)
		// containerd's loader reads the folder from its root.
		hosts := config.ConfigureHosts(context.Background(), config.HostOptions{HostDir: config.HostDirFromRoot(certs)})
		if _, err := hosts(reg); err != nil {
			t.Errorf("containerd's loader: %v", err)
		}
		tr := &http.Transport{TLSClientConfig: cfg}
		defer tr.CloseIdleConnections()
		resp, err := (&http.Client{Transport: tr}).Get("https://" + reg + "/v2/")
		if err != nil {
			t.Fatalf("GET /v2/ with podman's configuration: %v", err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("GET /v2/ with podman's configuration: %s", resp.Status)
		}
	})
}

func readFile(t *testing.T, p string) []byte {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
