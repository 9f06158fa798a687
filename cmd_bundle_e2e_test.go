//go:build unix

package main

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/certkit/certkit/internal/testenv"
)

// e2eRegistryName is the registry's name in these tests: not a loopback
// name (Docker would read no certs.d for one), resolved to 127.0.0.1
// through /etc/hosts.
const e2eRegistryName = "certkit-test.internal"

// TestClientMachineFlows: the two ways a client machine gets its pair
// without the CA's key, each ending with skopeo pushing and pulling
// through the certs.d folder certkit installed, against Debian's
// docker-registry that takes only clients of the certkit CA.
//
//   - export → install --from, on a machine with no certkit home at all
//     (a fresh HOME, no CERTKIT_HOME): nothing but the bundle is read,
//     and no home is made.
//   - request → sign → install --cert: the key is made in the client's
//     home and no file of the CA machine, nor anything sign reads or
//     writes, ever holds it.
func TestClientMachineFlows(t *testing.T) {
	testenv.NeedTool(t, "docker-registry")
	skopeo := testenv.NeedTool(t, "skopeo")
	testenv.NeedHostname(t, e2eRegistryName)
	reg := e2eRegistryName + ":" + strconv.Itoa(testenv.FreePort(t))

	caHome := t.TempDir()
	must(t, caHome, "init-ca")
	must(t, caHome, "issue", "server", "--host", reg)
	hd := filepath.Join(caHome, "hosts", reg)
	addr := testenv.StartRegistry(t, testenv.RegistryConfig{
		Addr:      "127.0.0.1:" + strings.Split(reg, ":")[1],
		Chain:     filepath.Join(hd, "server-chain.crt"),
		Key:       filepath.Join(hd, "server.key"),
		ClientCAs: []string{filepath.Join(caHome, "ca", "ca.crt")},
	})
	t.Logf("docker-registry on %s", addr)

	t.Run("export-install-from", func(t *testing.T) {
		must(t, caHome, "issue", "client", "--host", reg, "--name", "laptop")
		bundle := filepath.Join(t.TempDir(), "laptop.bundle")
		must(t, caHome, "export", "--host", reg, "--name", "laptop", "--out", bundle)
		if fi, err := os.Stat(bundle); err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("the bundle: %v, mode %v (want 0600)", err, fi.Mode().Perm())
		}
		data, _ := os.ReadFile(bundle)
		caKey, _ := os.ReadFile(filepath.Join(caHome, "ca", "ca.key"))
		if bytes.Contains(data, bytes.TrimSpace(caKey)) {
			t.Fatal("the bundle holds the CA's key")
		}

		// The client machine: an empty HOME and no certkit home.
		fresh := t.TempDir()
		t.Setenv("HOME", fresh)
		t.Setenv("CERTKIT_HOME", "")
		t.Setenv("XDG_DATA_HOME", "")
		t.Setenv("XDG_CONFIG_HOME", "")
		certs := filepath.Join(t.TempDir(), "certs.d")
		var stderr bytes.Buffer
		if code := runWith([]string{"certkit", "install", "--from", bundle, "--certs-dir", certs}, strings.NewReader(""), &bytes.Buffer{}, &stderr); code != 0 {
			t.Fatalf("install --from: exit %d\n%s", code, stderr.String())
		}
		t.Logf("install --from:\n%s", stderr.String())
		if entries, _ := os.ReadDir(fresh); len(entries) > 0 {
			t.Errorf("install --from wrote into the empty HOME: %v", entries)
		}
		pushPull(t, skopeo, reg, filepath.Join(certs, reg), "bundle")
	})

	t.Run("request-sign-install-cert", func(t *testing.T) {
		clientHome := t.TempDir()
		carry := t.TempDir() // what travels between the machines
		csr := filepath.Join(carry, "runner.csr")
		must(t, clientHome, "request", "--host", reg, "--name", "runner", "--out", csr)
		key, err := os.ReadFile(filepath.Join(clientHome, "pending", reg, "runner.key"))
		if err != nil {
			t.Fatal(err)
		}
		key = bytes.TrimSpace(key)

		cert := filepath.Join(carry, "runner.cert")
		must(t, caHome, "sign", "--yes", "--host", reg, "--out", cert, csr)
		// The key never reached the CA machine: no file of its home, and
		// nothing sign read (the request) or wrote, holds it.
		for _, dir := range []string{caHome, carry} {
			filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
				if err == nil && d.Type().IsRegular() {
					if b, _ := os.ReadFile(p); bytes.Contains(b, key) {
						t.Errorf("%s holds the client's key", p)
					}
				}
				return nil
			})
		}

		certs := filepath.Join(t.TempDir(), "certs.d")
		must(t, clientHome, "install", "--cert", cert, "--certs-dir", certs)
		installed, err := os.ReadFile(filepath.Join(certs, reg, "runner.key"))
		if err != nil || !bytes.Equal(bytes.TrimSpace(installed), key) {
			t.Fatalf("the installed key is not the one request made (%v)", err)
		}
		if _, err := os.Stat(filepath.Join(clientHome, "pending")); !os.IsNotExist(err) {
			t.Errorf("the pending request is still in the home after install --cert (%v)", err)
		}
		pushPull(t, skopeo, reg, filepath.Join(certs, reg), "request")
	})
}

// pushPull pushes a small image to the registry with skopeo through the
// certs.d folder dir, and reads it back (skopeo inspect).
// skopeoIn returns a runner of skopeo (--insecure-policy) for a user whose
// home is work: it finds the certs.d folders under work/.config, logs
// what a failed run printed, and returns its error.
func skopeoIn(t *testing.T, skopeo, work string) func(args ...string) error {
	env := append(os.Environ(), "HOME="+work, "XDG_RUNTIME_DIR="+work, "REGISTRY_AUTH_FILE="+filepath.Join(work, "auth.json"))
	return func(args ...string) error {
		cmd := exec.Command(skopeo, append([]string{"--insecure-policy"}, args...)...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Logf("skopeo %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return err
	}
}

func pushPull(t *testing.T, skopeo, reg, dir, repo string) {
	t.Helper()
	work := t.TempDir()
	image := filepath.Join(work, "image")
	img := testenv.WriteOCIImage(t, image, "latest")
	ref := "docker://" + reg + "/certkit/" + repo + ":latest"
	env := append(os.Environ(), "HOME="+work, "XDG_RUNTIME_DIR="+work, "REGISTRY_AUTH_FILE="+filepath.Join(work, "auth.json"))
	run := func(args ...string) string {
		cmd := exec.Command(skopeo, args...)
		cmd.Env = env
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("skopeo %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
		}
		return string(out)
	}
	run("--insecure-policy", "copy", "--dest-cert-dir", dir, "oci:"+image+":latest", ref)
	var inspected struct{ Layers []string }
	if err := json.Unmarshal([]byte(run("inspect", "--cert-dir", dir, ref)), &inspected); err != nil {
		t.Fatal(err)
	}
	if len(inspected.Layers) != 1 || inspected.Layers[0] != img.Layer {
		t.Errorf("skopeo inspect lists layers %v, want [%s]", inspected.Layers, img.Layer)
	}
	pulled := filepath.Join(work, "pulled")
	run("--insecure-policy", "copy", "--src-cert-dir", dir, ref, "dir:"+pulled)
	if _, err := os.Stat(filepath.Join(pulled, strings.TrimPrefix(img.Layer, "sha256:"))); err != nil {
		t.Errorf("skopeo pulled no layer %s: %v", img.Layer, err)
	}
}
