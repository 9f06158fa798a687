package verify

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/certkit/certkit/ca"
	"github.com/certkit/certkit/host"
	"github.com/certkit/certkit/install"
)

// countingListener counts the connections it accepts.
type countingListener struct {
	net.Listener
	n *atomic.Int64
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.n.Add(1)
	}
	return c, err
}

// startCountingTLS is startTLS that counts the connections made to it.
func startCountingTLS(t testing.TB, cfg *tls.Config, h http.HandlerFunc) (string, *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	n := new(atomic.Int64)
	srv := &http.Server{Handler: h, ErrorLog: log.New(io.Discard, "", 0)}
	go srv.Serve(tls.NewListener(countingListener{ln, n}, cfg))
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String(), n
}

// verify --target all: podman finds no folder of its own and falls back
// to Docker's, the folder the docker report reads. That folder is read
// and its registry probed once for Docker's and podman's rules, which are
// the same: podman's report keeps its lookup, names the docker report,
// and counts nothing again. containerd reads the same folder by its own
// rules (hosts.toml), so its report is whole.
func TestAllReadsAFolderOnce(t *testing.T) {
	t.Parallel()
	root := newCA(t, "certkit CA all")
	client := root.issue(t, leafOpts{cn: "client"})
	addr, conns := startCountingTLS(t, serverConfig(root.server(t, regName), root), registryAnswer)
	reg := target(t, addr, regName, nil).Registry
	caKey, err := ca.MarshalKey(root.key)
	if err != nil {
		t.Fatal(err)
	}

	base := t.TempDir()
	droot := filepath.Join(base, "etc", "docker", "certs.d")
	croot := filepath.Join(base, "etc", "containerd", "certs.d")
	proots := []string{filepath.Join(base, "home", ".config", "containers", "certs.d"), filepath.Join(base, "etc", "containers", "certs.d"), droot}
	dockerDir := filepath.Join(droot, reg.String())
	// a CA key left in the folder: one problem, whoever reads it
	writeFolder(t, dockerDir, map[string][]byte{"ca.crt": ca.EncodeCert(root.cert), "client.cert": certPEM(client), "client.key": keyPEM(t, client), "ca.key": caKey})

	live := LiveOptions{Timeout: 10 * time.Second, Roots: x509.NewCertPool()}
	docker := Options{Registry: reg, Dir: dockerDir, Target: install.Docker, Addr: addr, Live: live,
		Root: install.Root{Target: install.Docker, Dir: droot, ContainerdFirst: []string{croot}}}
	var psearch []string
	for _, r := range proots {
		psearch = append(psearch, filepath.Join(r, reg.String()))
	}
	podman := Options{Registry: reg, Dir: psearch[0], Target: install.Podman, Search: psearch, Addr: addr, Live: live}
	containerd := Options{Registry: reg, Dir: filepath.Join(croot, reg.String()), Target: install.Containerd,
		Search: install.ContainerdSearch([]string{croot, droot}, reg), Addr: addr, Live: live}

	// what Docker's report alone costs
	alone := All(context.Background(), []Options{docker}, 0)[0]
	once := conns.Swap(0)
	if once == 0 || len(alone.Pairs) != 1 {
		t.Fatalf("the docker report made %d connections and tried %d pairs:\n%s", once, len(alone.Pairs), dump(alone))
	}

	reps := All(context.Background(), []Options{docker, podman, containerd}, 0)
	if got := conns.Load(); got != 2*once {
		t.Errorf("%d connections to the registry, want %d: %d for Docker's and podman's rules, once, and as many for containerd's", got, 2*once, once)
	}
	d, p, c := reps[0], reps[1], reps[2]
	for _, r := range reps {
		if r.Dir != dockerDir {
			t.Fatalf("report for --target %s read %s, want %s", r.Target, r.Dir, dockerDir)
		}
	}

	// docker: whole
	if d.CoveredBy != "" || d.Target != "docker" {
		t.Errorf("docker report: target %q, covered by %q", d.Target, d.CoveredBy)
	}
	expect(t, d, "file:ca.key", Error, "ca-key")
	expect(t, d, "pair:client", OK, "")

	// podman: its lookup, which names the docker report, and nothing else
	if p.CoveredBy != "docker" || p.Target != "podman" || p.InstallDir != psearch[0] {
		t.Errorf("podman report: target %q, covered by %q, install dir %q", p.Target, p.CoveredBy, p.InstallDir)
	}
	if len(p.Checks) != 1 {
		t.Fatalf("podman report has %d checks, want its lookup alone:\n%s", len(p.Checks), dump(p))
	}
	l := expect(t, p, "lookup", OK, "")
	contains(t, "lookup", l.Message, "podman, skopeo and buildah read "+dockerDir+":",
		"read it by the same rules as Docker and podman: the report for --target docker checks that folder")
	if p.Errors != 0 || p.Warnings != 0 || p.Failed() || len(p.Pairs) != 0 || p.Server != nil {
		t.Errorf("podman report counts again what the docker report found:\n%s", dump(p))
	}
	problems := 0
	for _, r := range reps[:2] {
		for _, ch := range r.Checks {
			if ch.Kind == "ca-key" {
				problems++
			}
		}
	}
	if problems != 1 {
		t.Errorf("the CA key is reported %d times by the docker and podman reports, want once", problems)
	}

	// containerd: the same folder by its own rules, whole
	if c.CoveredBy != "" || c.Target != "containerd" {
		t.Errorf("containerd report: target %q, covered by %q", c.Target, c.CoveredBy)
	}
	expect(t, c, "lookup", OK, "")
	expect(t, c, "file:ca.key", Error, "ca-key")
	expect(t, c, "pair:client", OK, "")

	// each report is valid JSON, and reads back as it was
	for _, r := range reps {
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		var back Report
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("%v:\n%s", err, b)
		}
		if back.CoveredBy != r.CoveredBy || back.Target != r.Target || len(back.Checks) != len(r.Checks) {
			t.Errorf("JSON does not read back: %s", b)
		}
	}
}

// TestAllLinkedRootsReadOnce: two certs roots that are one folder through
// a link (rootless Docker's root linked to Desktop's) are one folder: the
// second report is covered by the first.
func TestAllLinkedRootsReadOnce(t *testing.T) {
	t.Parallel()
	root := newCA(t, "certkit CA linked")
	client := root.issue(t, leafOpts{cn: "client"})
	reg, _ := host.Parse("reg.example.com:5000")
	base := t.TempDir()
	desktop := filepath.Join(base, "home", ".docker", "certs.d")
	rootless := filepath.Join(base, "cfg", "docker", "certs.d")
	writeFolder(t, filepath.Join(desktop, reg.String()), map[string][]byte{"ca.crt": ca.EncodeCert(root.cert), "client.cert": certPEM(client), "client.key": keyPEM(t, client)})
	if err := os.MkdirAll(filepath.Dir(rootless), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(desktop, rootless); err != nil {
		t.Fatal(err)
	}
	reps := All(context.Background(), []Options{
		{Registry: reg, Dir: filepath.Join(desktop, reg.String()), Target: install.DockerDesktop, Offline: true},
		{Registry: reg, Dir: filepath.Join(rootless, reg.String()), Target: install.DockerRootless, Offline: true},
	}, 0)
	if reps[0].CoveredBy != "" || reps[1].CoveredBy != string(install.DockerDesktop) {
		t.Errorf("covered by %q and %q, want the second covered by %s", reps[0].CoveredBy, reps[1].CoveredBy, install.DockerDesktop)
	}
}
