//go:build unix

package main

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
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

// TestPerRegistryAccess: two registries set up from one certkit home with
// certkit's templates, A served by docker-registry itself and B by
// docker-registry behind nginx or Apache. The client pair of A is refused
// by B and the pair of B by A; a machine holding both pairs, installed
// into the certs.d folders skopeo reads, pushes to and pulls from both;
// and a Go client holding both pairs sends each registry its own.
func TestPerRegistryAccess(t *testing.T) {
	curl := testenv.NeedTool(t, "curl")
	skopeo := testenv.NeedTool(t, "skopeo")
	registry := testenv.NeedTool(t, "docker-registry")
	for _, proxy := range []string{"nginx", "apache"} {
		t.Run(proxy, func(t *testing.T) {
			if proxy == "nginx" {
				testenv.NeedTool(t, "nginx")
			} else {
				testenv.NeedTool(t, "apache2")
			}
			pa, pb := testenv.FreePort(t), testenv.FreePortPair(t)
			regA, regB := "localhost:"+strconv.Itoa(pa), "localhost:"+strconv.Itoa(pb)
			work := t.TempDir()
			h := filepath.Join(work, "home")
			must(t, h, "init-ca")
			for _, r := range []string{regA, regB} {
				must(t, h, "issue", "server", "--host", r)
			}
			must(t, h, "issue", "client", "--host", regA, "--name", "alice")
			must(t, h, "issue", "client", "--host", regB, "--name", "bob")

			cfgA, cfgB, conf := filepath.Join(work, "a.yml"), filepath.Join(work, "b.yml"), filepath.Join(work, "proxy.conf")
			must(t, h, "template", "registry", "--host", regA, "--storage", filepath.Join(work, "a"), "--out", cfgA)
			must(t, h, "template", "registry", "--host", regB, "--behind-proxy", "--storage", filepath.Join(work, "b"), "--out", cfgB)
			must(t, h, "template", proxy, "--host", regB, "--out", conf)
			testenv.StartProcess(t, testenv.Program{Path: registry, Args: []string{"serve", cfgA}, Listen: "127.0.0.1:" + strconv.Itoa(pa)})
			testenv.StartProcess(t, testenv.Program{Path: registry, Args: []string{"serve", cfgB}, Listen: "127.0.0.1:" + strconv.Itoa(pb+1)})
			if proxy == "nginx" {
				testenv.StartNginx(t, string(readFile(t, conf)), "127.0.0.1:"+strconv.Itoa(pb))
			} else {
				testenv.StartApache(t, string(readFile(t, conf)), "127.0.0.1:"+strconv.Itoa(pb))
			}

			// This machine's certs.d folders, where containers/image looks
			// first for a user whose home is work.
			certs := filepath.Join(work, ".config", "containers", "certs.d")
			must(t, h, "install", "--certs-dir", certs, "--host", regA)
			must(t, h, "install", "--certs-dir", certs, "--host", regB)
			// curl reads a colon in --cert as a password separator: copy
			// the pairs to colon-free paths first.
			for _, r := range []string{regA, regB} {
				plain := filepath.Join(work, "plain", strings.ReplaceAll(r, ":", "_"))
				if err := os.MkdirAll(plain, 0o755); err != nil {
					t.Fatal(err)
				}
				for _, f := range []string{"ca.crt", "alice.cert", "alice.key", "bob.cert", "bob.key"} {
					if _, err := os.Stat(filepath.Join(certs, r, f)); err == nil {
						testenv.CopyFile(t, filepath.Join(certs, r, f), filepath.Join(plain, f), 0o600)
					}
				}
			}
			curlAs := func(reg, pairOf, name string) string {
				t.Helper()
				dir := filepath.Join(work, "plain", strings.ReplaceAll(pairOf, ":", "_"))
				out, _ := exec.Command(curl, "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "10",
					"--cacert", filepath.Join(dir, "ca.crt"), "--cert", filepath.Join(dir, name+".cert"), "--key", filepath.Join(dir, name+".key"),
					"https://"+reg+"/v2/").Output()
				return string(out)
			}
			if got := curlAs(regA, regA, "alice"); got != "200" {
				t.Errorf("A with A's pair: %q, want 200", got)
			}
			if got := curlAs(regB, regB, "bob"); got != "200" {
				t.Errorf("B (%s) with B's pair: %q, want 200", proxy, got)
			}
			if got := curlAs(regB, regA, "alice"); got == "200" {
				t.Errorf("B (%s) with A's pair: %q, want it refused", proxy, got)
			}
			if got := curlAs(regA, regB, "bob"); got == "200" {
				t.Errorf("A (docker-registry) with B's pair: %q, want it refused", got)
			}

			// skopeo, with HOME=work, finds both folders itself.
			image := filepath.Join(work, "image")
			testenv.WriteOCIImage(t, image, "latest")
			sk := skopeoIn(t, skopeo, work)
			for _, r := range []string{regA, regB} {
				ref := "docker://" + r + "/certkit/access:latest"
				if err := sk("copy", "oci:"+image+":latest", ref); err != nil {
					t.Errorf("skopeo push to %s through %s: %v", r, certs, err)
				}
				if err := sk("copy", ref, "oci:"+filepath.Join(work, "pulled-"+strconv.Itoa(len(r)))+":latest"); err != nil {
					t.Errorf("skopeo pull from %s: %v", r, err)
				}
			}

			// A Go client holding both pairs: each registry names its
			// issuing CA in the handshake, so Go sends the pair it issued.
			roots := x509.NewCertPool()
			caCert, err := ca.ParseCerts(readFile(t, filepath.Join(h, "ca", "ca.crt")))
			if err != nil {
				t.Fatal(err)
			}
			roots.AddCert(caCert[0])
			var pairs []tls.Certificate
			for _, p := range [][2]string{{regB, "bob"}, {regA, "alice"}} {
				pair, err := tls.LoadX509KeyPair(filepath.Join(certs, p[0], p[1]+".cert"), filepath.Join(certs, p[0], p[1]+".key"))
				if err != nil {
					t.Fatal(err)
				}
				pairs = append(pairs, pair)
			}
			c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
				TLSClientConfig: &tls.Config{RootCAs: roots, Certificates: pairs}, DisableKeepAlives: true}}
			for _, r := range []string{regA, regB} {
				resp, err := c.Get("https://" + r + "/v2/")
				if err != nil {
					t.Errorf("Go client with both pairs, %s: %v", r, err)
					continue
				}
				resp.Body.Close()
				if resp.StatusCode != 200 {
					t.Errorf("Go client with both pairs, %s: %s, want 200", r, resp.Status)
				}
			}
		})
	}
}
