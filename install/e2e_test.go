//go:build unix

package install

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/certkit/certkit/ca"
	"github.com/certkit/certkit/host"
	"github.com/certkit/certkit/internal/home"
	"github.com/certkit/certkit/issue"
)

// e2eHostname is the registry's name in the end-to-end test: not a
// loopback name (Docker would read no certs.d for one), resolved to
// 127.0.0.1 through /etc/hosts.
const e2eHostname = "certkit-test.internal"

// needTool returns the path of an external program. A missing one fails
// the test under CI=true and skips it elsewhere.
func needTool(t *testing.T, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is not installed, and CI=true forbids skipping; run ./scripts/test, which installs it", name)
	}
	t.Skipf("%s is not installed; apt-get install %s to run this test", name, pkg)
	return ""
}

// needHostname makes e2eHostname resolve to 127.0.0.1: under CI=true as
// root it adds the line to /etc/hosts if missing; elsewhere the test skips
// with the line to add.
func needHostname(t *testing.T) {
	t.Helper()
	if resolvesToLoopback(e2eHostname) {
		return
	}
	line := "127.0.0.1 " + e2eHostname
	if os.Getenv("CI") != "true" || os.Geteuid() != 0 {
		t.Skipf("%s does not resolve; add %q to /etc/hosts (CI=true as root does it) to run this test", e2eHostname, line)
	}
	f, err := os.OpenFile("/etc/hosts", os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatalf("cannot add %s to /etc/hosts: %v", e2eHostname, err)
	}
	defer f.Close()
	if _, err := fmt.Fprintf(f, "\n%s\n", line); err != nil {
		t.Fatal(err)
	}
	// Go caches /etc/hosts for a few seconds; skopeo, a new process,
	// reads it afresh.
}

func resolvesToLoopback(name string) bool {
	addrs, err := net.LookupHost(name)
	if err != nil {
		return false
	}
	for _, a := range addrs {
		if a == "127.0.0.1" {
			return true
		}
	}
	return false
}

// TestInstallEndToEnd: Debian's docker-registry, with tls.clientcas set to
// the certkit CA and a certkit server certificate, takes a push from skopeo
// and answers skopeo inspect, with only the folder certkit installed
// (--dest-cert-dir, --cert-dir); and it refuses a client without the
// client certificate.
func TestInstallEndToEnd(t *testing.T) {
	registryBin := needTool(t, "docker-registry", "docker-registry")
	skopeo := needTool(t, "skopeo", "skopeo")
	needHostname(t)

	// A port for the registry: the program cannot take a listener, so one
	// is picked and given back just before it starts.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	reg, err := host.Parse(e2eHostname + ":" + strconv.Itoa(port))
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

	work := t.TempDir()
	hd := home.HostDir(h, reg.String())
	config := fmt.Sprintf(`version: 0.1
log:
  level: info
  formatter: text
storage:
  filesystem:
    rootdirectory: %s
http:
  addr: 127.0.0.1:%d
  tls:
    certificate: %s
    key: %s
    clientcas:
      - %s
`, filepath.Join(work, "data"), port, filepath.Join(hd, home.ServerChain), filepath.Join(hd, home.ServerKey), filepath.Join(home.CADir(h), ca.CertFile))
	cfgPath := filepath.Join(work, "config.yml")
	writeFile(t, cfgPath, []byte(config), 0o600)
	startProgram(t, registryBin, []string{"serve", cfgPath}, "listening on 127.0.0.1:"+strconv.Itoa(port))

	// The real loaders agree, against the real registry.
	r := &testRegistry{Name: reg, Addr: "127.0.0.1:" + strconv.Itoa(port)}
	bothOracles(t, r, certsRoot)

	image := filepath.Join(work, "image")
	layerDigest := writeOCILayout(t, image)
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
	if len(inspected.Layers) != 1 || inspected.Layers[0] != layerDigest {
		t.Errorf("skopeo inspect lists layers %v, want [%s]", inspected.Layers, layerDigest)
	}

	// The same registry refuses a client that trusts it but has no client
	// certificate.
	caOnly := filepath.Join(t.TempDir(), reg.String())
	if err := os.Mkdir(caOnly, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(caOnly, CAFileName), mustRead(t, filepath.Join(folder, CAFileName)), 0o644)
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

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
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

// startProgram starts a server and waits until it logs ready (on stdout or
// stderr); it is killed when the test ends.
func startProgram(t *testing.T, name string, args []string, ready string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait(); pw.Close() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})
	found := make(chan bool, 1)
	var log strings.Builder
	go func() {
		sc := bufio.NewScanner(pr)
		ok := false
		for sc.Scan() {
			if !ok {
				log.WriteString(sc.Text() + "\n")
			}
			if !ok && strings.Contains(sc.Text(), ready) {
				ok = true
				found <- true
			}
		}
		if !ok {
			found <- false
		}
	}()
	select {
	case ok := <-found:
		if !ok {
			t.Fatalf("%s exited before it was ready:\n%s", name, log.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("%s did not say %q within 30s", name, ready)
	}
}

// writeOCILayout writes a one-layer image as an OCI layout (tag latest) and
// returns the layer's digest.
func writeOCILayout(t *testing.T, dir string) string {
	t.Helper()
	var tarBuf bytes.Buffer
	tw := tar.NewWriter(&tarBuf)
	content := []byte("pushed through a certs.d folder that certkit installed\n")
	if err := tw.WriteHeader(&tar.Header{Name: "hello.txt", Mode: 0o644, Size: int64(len(content)), ModTime: time.Unix(0, 0)}); err != nil {
		t.Fatal(err)
	}
	tw.Write(content)
	tw.Close()
	var gzBuf bytes.Buffer
	gz := gzip.NewWriter(&gzBuf)
	gz.Write(tarBuf.Bytes())
	gz.Close()

	blobs := filepath.Join(dir, "blobs", "sha256")
	if err := os.MkdirAll(blobs, 0o755); err != nil {
		t.Fatal(err)
	}
	put := func(data []byte) (string, int) {
		s := sha256.Sum256(data)
		h := hex.EncodeToString(s[:])
		writeFile(t, filepath.Join(blobs, h), data, 0o644)
		return "sha256:" + h, len(data)
	}
	diffID := sha256.Sum256(tarBuf.Bytes())
	layer, layerSize := put(gzBuf.Bytes())
	cfg, _ := json.Marshal(map[string]any{
		"architecture": "amd64", "os": "linux", "config": map[string]any{},
		"rootfs": map[string]any{"type": "layers", "diff_ids": []string{"sha256:" + hex.EncodeToString(diffID[:])}},
	})
	cfgDigest, cfgSize := put(cfg)
	manifest, _ := json.Marshal(map[string]any{
		"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
		"config": map[string]any{"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cfgDigest, "size": cfgSize},
		"layers": []any{map[string]any{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": layer, "size": layerSize}},
	})
	mDigest, mSize := put(manifest)
	index, _ := json.Marshal(map[string]any{
		"schemaVersion": 2,
		"manifests": []any{map[string]any{
			"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": mDigest, "size": mSize,
			"annotations": map[string]string{"org.opencontainers.image.ref.name": "latest"},
		}},
	})
	writeFile(t, filepath.Join(dir, "index.json"), index, 0o644)
	writeFile(t, filepath.Join(dir, "oci-layout"), []byte(`{"imageLayoutVersion":"1.0.0"}`), 0o644)
	return layer
}
