//go:build unix

package install

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/certkit/certkit/ca"
	"github.com/certkit/certkit/host"
	"github.com/certkit/certkit/internal/home"
	"github.com/certkit/certkit/internal/testenv"
	"github.com/certkit/certkit/issue"
)

// e2eHostname is the registry's name in the end-to-end test: not a
// loopback name (Docker would read no certs.d for one), resolved to
// 127.0.0.1 through /etc/hosts.
const e2eHostname = "certkit-test.internal"

// TestInstallEndToEnd: Debian's docker-registry, with tls.clientcas set to
// the certkit CA and a certkit server certificate, takes a push from skopeo
// and answers skopeo inspect, with only the folder certkit installed
// (--dest-cert-dir, --cert-dir); and it refuses a client without the
// client certificate.
func TestInstallEndToEnd(t *testing.T) {
	testenv.NeedTool(t, "docker-registry") // before any work; StartRegistry runs it
	skopeo := testenv.NeedTool(t, "skopeo")
	testenv.NeedHostname(t, e2eHostname)

	// A port for the registry, picked before the certificates since its
	// folder is named with it: the program cannot take a listener.
	port := strconv.Itoa(testenv.FreePort(t))
	reg, err := host.Parse(e2eHostname + ":" + port)
	if err != nil {
		t.Fatal(err)
	}

	// certkit material, made by certkit's own packages.
	h := t.TempDir()
	if _, err := ca.Create(ca.Options{Home: h, Machine: "e2e"}); err != nil {
		t.Fatal(err)
	}
	for _, kind := range []issue.Kind{issue.Server, issue.Client} {
		if _, err := issue.Issue(issue.Options{Home: h, Registry: reg, Kind: kind}); err != nil {
			t.Fatal(err)
		}
	}
	certsRoot := filepath.Join(t.TempDir(), "certs.d")
	if _, err := Install(Options{Home: h, Registries: []host.Registry{reg}, Roots: []Root{customRoot(t, Docker, certsRoot)}}); err != nil {
		t.Fatal(err)
	}
	folder := filepath.Join(certsRoot, reg.String())

	hd := home.HostDir(h, reg.String())
	addr := testenv.StartRegistry(t, testenv.RegistryConfig{
		Addr:      "127.0.0.1:" + port,
		Chain:     filepath.Join(hd, home.ServerChain),
		Key:       filepath.Join(hd, home.ServerKey),
		ClientCAs: []string{filepath.Join(home.CADir(h), ca.CertFile)},
	})

	// The real loaders agree, against the real registry.
	r := &testRegistry{Name: reg, Addr: addr}
	bothOracles(t, r, certsRoot)

	work := t.TempDir()
	image := filepath.Join(work, "image")
	img := testenv.WriteOCIImage(t, image, "latest")
	ref := "docker://" + reg.String() + "/certkit/e2e:latest"
	env := append(os.Environ(), "HOME="+work, "XDG_RUNTIME_DIR="+work, "REGISTRY_AUTH_FILE="+filepath.Join(work, "auth.json"))
	runTool(t, env, skopeo, "--insecure-policy", "copy", "--dest-cert-dir", folder, "oci:"+image+":latest", ref)
	out := runTool(t, env, skopeo, "inspect", "--cert-dir", folder, ref)
	var inspected struct {
		Name   string
		Layers []string
	}
	if err := json.Unmarshal([]byte(out), &inspected); err != nil {
		t.Fatalf("skopeo inspect: %v\n%s", err, out)
	}
	t.Logf("skopeo inspect %s: %s, layers %v", ref, inspected.Name, inspected.Layers)
	if len(inspected.Layers) != 1 || inspected.Layers[0] != img.Layer {
		t.Errorf("skopeo inspect lists layers %v, want [%s]", inspected.Layers, img.Layer)
	}

	// The same registry refuses a client that trusts it but has no client
	// certificate.
	caOnly := filepath.Join(t.TempDir(), reg.String())
	if err := os.Mkdir(caOnly, 0o755); err != nil {
		t.Fatal(err)
	}
	testenv.CopyFile(t, filepath.Join(folder, CAFileName), filepath.Join(caOnly, CAFileName), 0o644)
	cmd := exec.Command(skopeo, "inspect", "--cert-dir", caOnly, ref)
	cmd.Env = env
	msg, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("the registry answered skopeo without a client certificate:\n%s", msg)
	}
	t.Logf("without a client certificate: %s", bytes.TrimSpace(msg))
	if !strings.Contains(string(msg), "bad certificate") && !strings.Contains(string(msg), "certificate required") {
		t.Errorf("skopeo without a client certificate failed, but not on the certificate:\n%s", msg)
	}
}

func runTool(t *testing.T, env []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr.String())
	}
	return string(out)
}
