//go:build unix

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/certkit/certkit/ca"
	"github.com/certkit/certkit/internal/testenv"
)

// TestRevokeBehindProxy: nginx and Apache from certkit's templates,
// rendered before any revocation, in front of docker-registry. After
// certkit revoke, curl and skopeo with the revoked pair are refused and
// another pair is served; with the CRL past its nextUpdate every client
// is refused, status having warned while it was due; certkit crl mends it.
// The proxies read the CRL at start, so each step starts the proxy anew
// (what a reload does).
func TestRevokeBehindProxy(t *testing.T) {
	curl := testenv.NeedTool(t, "curl")
	skopeo := testenv.NeedTool(t, "skopeo")
	testenv.NeedTool(t, "docker-registry")
	for _, proxy := range []string{"nginx", "apache"} {
		t.Run(proxy, func(t *testing.T) {
			if proxy == "nginx" {
				testenv.NeedTool(t, "nginx")
			} else {
				testenv.NeedTool(t, "apache2")
			}
			port := testenv.FreePortPair(t)
			reg := "localhost:" + strconv.Itoa(port)
			listen := "127.0.0.1:" + strconv.Itoa(port)
			h := filepath.Join(t.TempDir(), "home")
			certs := filepath.Join(t.TempDir(), "certs.d")
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
			must("issue", "client", "--host", reg, "--name", "alice", "--name", "bob")
			work := t.TempDir()
			cfg := filepath.Join(work, "config.yml")
			conf := filepath.Join(work, "proxy.conf")
			must("template", "registry", "--host", reg, "--behind-proxy", "--storage", filepath.Join(work, "storage"), "--out", cfg)
			must("template", proxy, "--host", reg, "--out", conf)
			block := string(readFile(t, conf))
			testenv.StartProcess(t, testenv.Program{Path: testenv.NeedTool(t, "docker-registry"), Args: []string{"serve", cfg},
				Listen: "127.0.0.1:" + strconv.Itoa(port+1)})
			start := func(t *testing.T) {
				t.Helper()
				if proxy == "nginx" {
					testenv.StartNginx(t, block, listen)
				} else {
					testenv.StartApache(t, block, listen)
				}
			}
			// Each client's certs.d folder, as install makes it; alice's
			// is copied now, since revoke deletes her key from the home.
			folder := func(name string) string {
				dir := filepath.Join(work, "client-"+name) // curl reads a colon in --cert as a password
				if err := os.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				hd := filepath.Join(h, "hosts", reg)
				testenv.CopyFile(t, filepath.Join(h, "ca", "ca.crt"), filepath.Join(dir, "ca.crt"), 0o644)
				testenv.CopyFile(t, filepath.Join(hd, name+".cert"), filepath.Join(dir, name+".cert"), 0o644)
				testenv.CopyFile(t, filepath.Join(hd, name+".key"), filepath.Join(dir, name+".key"), 0o600)
				return dir
			}
			alice, bob := folder("alice"), folder("bob")
			get := func(dir, name string) string {
				t.Helper()
				out, err := exec.Command(curl, "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "10",
					"--cacert", filepath.Join(dir, "ca.crt"), "--cert", filepath.Join(dir, name+".cert"), "--key", filepath.Join(dir, name+".key"),
					"https://"+reg+"/v2/").Output()
				if ee, ok := err.(*exec.ExitError); ok && string(out) != "200" {
					t.Logf("curl as %s: %s", name, ee.Stderr)
				}
				return string(out)
			}
			image := filepath.Join(work, "image")
			testenv.WriteOCIImage(t, image, "latest")
			ref := "docker://" + reg + "/certkit/revoke:latest"
			sk := skopeoIn(t, skopeo, work)

			t.Run("before", func(t *testing.T) {
				start(t)
				if a, b := get(alice, "alice"), get(bob, "bob"); a != "200" || b != "200" {
					t.Fatalf("before any revocation: alice %q, bob %q, want 200 both", a, b)
				}
			})
			stderr := must("revoke", "--host", reg, "--name", "alice", "--reason", "key-compromise", "--certs-dir", certs)
			if !strings.Contains(stderr, "Revoked client certificate \"alice\"") {
				t.Errorf("revoke says:\n%s", stderr)
			}
			t.Run("revoked", func(t *testing.T) {
				start(t)
				if a := get(alice, "alice"); a == "200" {
					t.Errorf("curl with the revoked pair: %s, want it refused", a)
				}
				if b := get(bob, "bob"); b != "200" {
					t.Errorf("curl with bob's pair: %q, want 200", b)
				}
				if err := sk("copy", "--dest-cert-dir", bob, "oci:"+image+":latest", ref); err != nil {
					t.Errorf("skopeo copy with bob's pair: %v", err)
				}
				if err := sk("inspect", "--cert-dir", bob, ref); err != nil {
					t.Errorf("skopeo inspect with bob's pair: %v", err)
				}
				if err := sk("inspect", "--cert-dir", alice, ref); err == nil {
					t.Error("skopeo inspect with the revoked pair succeeded")
				}
			})
			// A CRL signed 25 days ago for 30 days: status warns, 5 days
			// before its nextUpdate, and the proxy still serves.
			refresh := func(ago time.Duration) {
				t.Helper()
				if _, err := ca.RefreshCRL(ca.CRLOptions{Home: h, Now: func() time.Time { return time.Now().Add(-ago) }}); err != nil {
					t.Fatal(err)
				}
			}
			refresh(25 * 24 * time.Hour)
			code, stderr := ck(t, "--home", h, "status", "--certs-dir", certs)
			if code != 1 || !strings.Contains(stderr, "ca.crl is due to be signed again") || !strings.Contains(stderr, "certkit crl") {
				t.Errorf("status with the CRL due (exit %d):\n%s", code, stderr)
			}
			refresh(31 * 24 * time.Hour)
			t.Run("CRL past its nextUpdate", func(t *testing.T) {
				start(t)
				if b := get(bob, "bob"); b == "200" {
					t.Errorf("curl with bob's pair and an expired CRL: 200, want refused")
				}
				if err := sk("inspect", "--cert-dir", bob, ref); err == nil {
					t.Error("skopeo inspect with bob's pair and an expired CRL succeeded")
				}
			})
			must("crl")
			if code, stderr := ck(t, "--home", h, "status", "--certs-dir", certs); code != 0 {
				t.Errorf("status after certkit crl (exit %d):\n%s", code, stderr)
			}
			t.Run("certkit crl", func(t *testing.T) {
				start(t)
				if a, b := get(alice, "alice"), get(bob, "bob"); a == "200" || b != "200" {
					t.Errorf("after certkit crl: alice %q (want refused), bob %q (want 200)", a, b)
				}
				if err := sk("inspect", "--cert-dir", bob, ref); err != nil {
					t.Errorf("skopeo inspect with bob's pair: %v", err)
				}
			})
			// A CA rotation: the proxy, from the same configuration,
			// trusts the clients of both CAs and checks both CRLs.
			must("rotate-ca")
			must("issue", "client", "--host", reg, "--name", "carol")
			carol := folder("carol")
			// The server's certificate is still the previous CA's.
			testenv.CopyFile(t, filepath.Join(bob, "ca.crt"), filepath.Join(carol, "ca.crt"), 0o644)
			t.Run("mid-rotation", func(t *testing.T) {
				start(t)
				if a, b, c := get(alice, "alice"), get(bob, "bob"), get(carol, "carol"); a == "200" || b != "200" || c != "200" {
					t.Errorf("mid-rotation: alice %q (want refused), bob %q and carol %q (want 200)", a, b, c)
				}
			})
		})
	}
}
