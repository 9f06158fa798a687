// Package examples runs the runnable examples, each against a freshly built
// certkit, in temporary folders, on free 127.0.0.1 ports, and checks that
// the committed compose example is what certkit renders today.
package examples

import (
	"bytes"
	"context"
	"flag"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	cflog "github.com/cloudflare/cfssl/log"
	"go.yaml.in/yaml/v3"

	"github.com/certkit/certkit/ca"
	"github.com/certkit/certkit/host"
	"github.com/certkit/certkit/internal/testenv"
	"github.com/certkit/certkit/issue"
	"github.com/certkit/certkit/templates"
)

var update = flag.Bool("update", false, "rewrite compose/docker-compose.yml from the template")

// certkitBin is the certkit binary built for this run.
var certkitBin string

func TestMain(m *testing.M) {
	flag.Parse()
	cflog.Level = cflog.LevelFatal + 1
	dir, err := os.MkdirTemp("", "certkit-examples-")
	if err != nil {
		panic(err)
	}
	certkitBin = filepath.Join(dir, "certkit")
	build := exec.Command("go", "build", "-o", certkitBin, "github.com/certkit/certkit")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		os.RemoveAll(dir)
		panic("building certkit: " + err.Error())
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// runExample runs DIR/run.sh with env, and checks that it succeeded, left
// nothing in its temporary folder and nothing listening on its ports.
func runExample(t *testing.T, dir string, ports map[string]int, want ...string) {
	t.Helper()
	tmp := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", filepath.Join(dir, "run.sh"))
	cmd.Env = append(os.Environ(), "CERTKIT="+certkitBin, "TMPDIR="+tmp)
	for k, v := range ports {
		cmd.Env = append(cmd.Env, k+"="+strconv.Itoa(v))
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if err != nil {
		t.Fatalf("%s/run.sh: %v\n%s", dir, err, out.String())
	}
	for _, w := range want {
		if !strings.Contains(out.String(), w) {
			t.Errorf("%s/run.sh output lacks %q", dir, w)
		}
	}
	if left, _ := os.ReadDir(tmp); len(left) > 0 {
		t.Errorf("%s/run.sh left %d entries in its temporary folder, e.g. %s", dir, len(left), left[0].Name())
	}
	for name, port := range ports {
		if c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), time.Second); err == nil {
			c.Close()
			t.Errorf("%s/run.sh left something listening on %s=%d", dir, name, port)
		}
	}
	if t.Failed() {
		t.Logf("output:\n%s", out.String())
	}
}

func TestRegistryMTLS(t *testing.T) {
	testenv.NeedTools(t, "bash", "docker-registry", "skopeo", "curl", "tar", "gzip", "sha256sum")
	runExample(t, "registry-mtls", map[string]int{"PORT": testenv.FreePort(t)},
		"minimumtls: tls1.2", "{}", "certkit/hello", "Done: the registry served only the client with the certificate")
}

func TestClientMachines(t *testing.T) {
	testenv.NeedTools(t, "bash", "docker-registry", "skopeo", "tar", "gzip", "sha256sum")
	runExample(t, "client-machines", map[string]int{"PORT": testenv.FreePort(t)},
		"certkit/laptop", "Done: two client machines reached the registry, and neither held the CA key")
}

func TestNginxProxy(t *testing.T) {
	testenv.NeedTools(t, "bash", "docker-registry", "nginx", "skopeo", "curl", "tar", "gzip", "sha256sum")
	port, upstream := testenv.FreePort(t), testenv.FreePort(t)
	for upstream == port {
		upstream = testenv.FreePort(t)
	}
	runExample(t, "nginx-proxy", map[string]int{"PORT": port, "UPSTREAM_PORT": upstream},
		"  addr: \"127.0.0.1:"+strconv.Itoa(upstream)+"\"", "ssl_verify_client on;", "HTTP 400", "{}", "certkit/hello",
		"Done: nginx let through only the client with the certificate")
}

// exampleHome is the certkit home the compose example is rendered for.
const exampleHome = "/home/me/.local/share/certkit"

// TestComposeExample: compose/docker-compose.yml is exactly what certkit
// template compose renders for reg.example.com:5000 (a home at
// exampleHome), and parses as a compose file. -update rewrites it.
func TestComposeExample(t *testing.T) {
	h := t.TempDir()
	reg, err := host.Parse("reg.example.com:5000")
	if err != nil {
		t.Fatal(err)
	}
	res, err := ca.Create(ca.Options{Home: h, KeyType: ca.ECDSAP256, Machine: "example", PerRegistry: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := issue.Issue(issue.Options{Home: h, Registry: reg, Kind: issue.Server, CA: res.CA}); err != nil {
		t.Fatal(err)
	}
	out, err := templates.Render(templates.Compose, templates.Options{Home: h, Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	out = bytes.ReplaceAll(out, []byte(h), []byte(exampleHome))
	path := filepath.Join("compose", "docker-compose.yml")
	if *update {
		if err := os.WriteFile(path, out, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	committed, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(committed, out) {
		t.Errorf("%s differs from what certkit renders now; run go test ./examples -run TestComposeExample -args -update", path)
	}

	var c struct {
		Services map[string]struct {
			Image   string
			Volumes []struct {
				Type, Source, Target string
				ReadOnly             bool `yaml:"read_only"`
			}
		}
	}
	if err := yaml.Unmarshal(committed, &c); err != nil {
		t.Fatal(err)
	}
	svc, ok := c.Services["registry"]
	if !ok || svc.Image != "registry:2" {
		t.Fatalf("no registry:2 service: %+v", c.Services)
	}
	binds := 0
	for _, v := range svc.Volumes {
		if v.Type == "bind" {
			binds++
			if !v.ReadOnly || !strings.HasPrefix(v.Source, exampleHome+"/") {
				t.Errorf("mount %+v is not a read-only bind from the certkit home", v)
			}
		}
	}
	if binds != 3 {
		t.Errorf("%d certificate mounts, want 3 (chain, key, CA)", binds)
	}
}

// TestSystemdRenew runs the commands of systemd/certkit-renew.service, as
// systemd would, against a home with a client certificate inside its
// renewal window: ExecCondition lets the renewal run (exit 0), ExecStart
// renews the certificate, and ExecCondition then skips the next run (an
// exit from 1 to 254).
func TestSystemdRenew(t *testing.T) {
	unit, err := os.ReadFile(filepath.Join("systemd", "certkit-renew.service"))
	if err != nil {
		t.Fatal(err)
	}
	cmds := map[string]string{}
	for _, line := range strings.Split(string(unit), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok && (k == "ExecCondition" || k == "ExecStart") {
			cmds[k] = strings.ReplaceAll(v, "/usr/local/bin/certkit", certkitBin)
		}
	}
	if len(cmds) != 2 {
		t.Fatalf("the unit has %d of ExecCondition and ExecStart: %v", len(cmds), cmds)
	}

	// A client certificate issued 800 days ago for 825 days: 25 days
	// left, inside the 30-day window; the CA's CRL, signed then, is past
	// its nextUpdate, so the next ExecCondition skips only if ExecStart
	// signed it again too.
	h := t.TempDir()
	then := time.Now().Add(-800 * 24 * time.Hour)
	if _, err := ca.Create(ca.Options{Home: h, Machine: "systemd", Now: func() time.Time { return then }}); err != nil {
		t.Fatal(err)
	}
	reg, err := host.Parse("reg.example.com:5000")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := issue.Issue(issue.Options{Home: h, Registry: reg, Kind: issue.Client, Now: func() time.Time { return then }}); err != nil {
		t.Fatal(err)
	}
	certPath := filepath.Join(h, "hosts", reg.String(), "client.cert")
	before, err := os.ReadFile(certPath)
	if err != nil {
		t.Fatal(err)
	}
	// systemd runs a command line itself; sh -c runs it the same way for
	// these (a program and its arguments, or sh -c '…').
	run := func(key string) (int, string) {
		t.Helper()
		cmd := exec.Command("sh", "-c", cmds[key])
		cmd.Env = append(os.Environ(), "CERTKIT_HOME="+h, "HOME="+t.TempDir())
		out, err := cmd.CombinedOutput()
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode(), string(out)
		} else if err != nil {
			t.Fatal(err)
		}
		return 0, string(out)
	}
	if code, out := run("ExecCondition"); code != 0 {
		t.Fatalf("ExecCondition exits %d with a certificate due, want 0 (run the renewal):\n%s", code, out)
	}
	if code, out := run("ExecStart"); code != 0 {
		t.Fatalf("ExecStart exits %d:\n%s", code, out)
	}
	after, err := os.ReadFile(certPath)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(before, after) {
		t.Error("ExecStart did not renew the certificate")
	}
	if code, out := run("ExecCondition"); code < 1 || code > 254 {
		t.Errorf("ExecCondition exits %d once nothing is due, want 1 to 254 (skip the unit):\n%s", code, out)
	}
}
