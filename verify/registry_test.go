package verify

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/certkit/certkit/ca"
	"github.com/certkit/certkit/host"
	"github.com/certkit/certkit/install"
	"github.com/certkit/certkit/internal/testenv"
	"github.com/certkit/certkit/issue"
)

// The acceptance tests against Debian's docker-registry (distribution
// 2.8): certkit's own CA, server and client certificates (ca, issue) and
// its installed folder (install), the registry configured with
// tls.certificate, key and clientcas on 127.0.0.1 with a free port.

// pki is a certkit home with a CA, a server certificate for
// registry.test, and the clock they were made with.
type pki struct {
	home   string
	ca     *ca.CA
	server *issue.Result
}

func newPKI(t *testing.T, now time.Time, serverValidity time.Duration) *pki {
	t.Helper()
	return newPKIFor(t, regName, now, serverValidity)
}

// newPKIFor is newPKI with the server certificate issued for name.
func newPKIFor(t *testing.T, name string, now time.Time, serverValidity time.Duration) *pki {
	t.Helper()
	clock := func() time.Time { return now }
	h := t.TempDir()
	res, err := ca.Create(ca.Options{Home: h, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	reg, _ := host.Parse(name)
	srv, err := issue.Issue(issue.Options{Home: h, Registry: reg, Kind: issue.Server, CA: res.CA, Now: clock, Validity: serverValidity})
	if err != nil {
		t.Fatal(err)
	}
	return &pki{home: h, ca: res.CA, server: srv}
}

// start runs a registry with this PKI's server certificate and returns
// the registry name with its port, and the address.
func (p *pki) start(t *testing.T) (host.Registry, string) {
	t.Helper()
	addr := testenv.StartRegistry(t, testenv.RegistryConfig{Chain: p.server.Certs[0].ChainPath, Key: p.server.Certs[0].KeyPath, ClientCAs: []string{p.ca.CertPath()}})
	_, port, _ := strings.Cut(addr, ":")
	reg, err := host.Parse(regName + ":" + port)
	if err != nil {
		t.Fatal(err)
	}
	return reg, addr
}

// installClient issues a client pair for reg and installs it, with the
// CA, into a new certs root; it returns the registry's folder.
func (p *pki) installClient(t *testing.T, reg host.Registry) string {
	t.Helper()
	if _, err := issue.Issue(issue.Options{Home: p.home, Registry: reg, Kind: issue.Client, CA: p.ca}); err != nil {
		t.Fatal(err)
	}
	root, err := install.CustomRoot(install.Docker, filepath.Join(t.TempDir(), "certs.d"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := install.Install(install.Options{Home: p.home, Registries: []host.Registry{reg}, Roots: []install.Root{root}}); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(root.Dir, reg.String())
}

func verifyLive(reg host.Registry, dir, addr string) *Report {
	return Verify(context.Background(), Options{Registry: reg, Dir: dir, Addr: addr, Live: LiveOptions{Timeout: 10 * time.Second}})
}

func TestDockerRegistry(t *testing.T) {
	t.Parallel()
	p := newPKI(t, time.Now(), 0)
	reg, addr := p.start(t)
	dir := p.installClient(t, reg)

	t.Run("installed folder passes", func(t *testing.T) {
		rep := verifyLive(reg, dir, addr)
		if rep.Failed() {
			t.Fatalf("failed:\n%s", dump(rep))
		}
		expect(t, rep, "folder", OK, "")
		expect(t, rep, "tls", OK, "")
		c := expect(t, rep, "client-cert-request", OK, "")
		contains(t, "message", c.Message, nameOf(p.ca.Cert.Subject), "Docker sends client.cert")
		expect(t, rep, "pair:client", OK, "")
		expect(t, rep, "no-client-cert", OK, "")
		expect(t, rep, "api-version", OK, "")
		if rep.WillSend != "client" || len(rep.Accepted) != 1 {
			t.Fatalf("will send %q, accepted %v", rep.WillSend, rep.Accepted)
		}
	})

	t.Run("the folder's CA replaced by another CA", func(t *testing.T) {
		other, err := ca.Create(ca.Options{Home: t.TempDir(), CN: "certkit CA impostor"})
		if err != nil {
			t.Fatal(err)
		}
		d := copyFolder(t, dir)
		if err := os.WriteFile(filepath.Join(d, install.CAFileName), other.CA.CertPEM, 0o644); err != nil {
			t.Fatal(err)
		}
		rep := verifyLive(reg, d, addr)
		c := expect(t, rep, "tls", Error, "unknown-authority")
		contains(t, "message", c.Message, "signed by the CA "+nameOf(p.ca.Cert.Subject), `the folder's CA "certkit CA impostor"`)
		// certkit installed ca.crt: install replaces it only with --force
		contains(t, "fix", c.Fix, "certkit install --force --host "+reg.String())
		// the client pair no longer chains to the folder's CA either
		expect(t, rep, "file:client.cert", Warning, "untrusted-client")
	})

	t.Run("the client pair removed", func(t *testing.T) {
		d := copyFolder(t, dir)
		for _, f := range []string{"client.cert", "client.key"} {
			if err := os.Remove(filepath.Join(d, f)); err != nil {
				t.Fatal(err)
			}
		}
		rep := verifyLive(reg, d, addr)
		c := expect(t, rep, "client-cert-request", Error, "no-pairs")
		contains(t, "message", c.Message, "no client pair", "Docker sends no certificate")
		contains(t, "fix", c.Fix, "certkit issue client --host "+reg.String())
		c = expect(t, rep, "no-client-cert", OK, "")
		contains(t, "message", c.Message, "refuses the connection")
	})

	// certsd.md §1: a key without its certificate makes Docker and podman
	// fail every pull before they connect, whatever the registry accepts.
	t.Run("a stray CA key in the folder", func(t *testing.T) {
		d := copyFolder(t, dir)
		testenv.CopyFile(t, p.ca.KeyPath(), filepath.Join(d, "ca.key"), 0o600)
		rep := verifyLive(reg, d, addr)
		if !rep.Failed() {
			t.Fatalf("passed:\n%s", dump(rep))
		}
		expect(t, rep, "file:ca.key", Error, "ca-key")
		c := expect(t, rep, "folder", Error, "")
		contains(t, "folder message", c.Message, "Docker and podman refuse to load it: 1 error")
		c = expect(t, rep, "loader", Error, "folder-refused")
		contains(t, "message", c.Message, "missing client certificate ca.cert for key ca.key", "every pull and login for "+reg.String()+" fails")
		// the registry still accepts the pair: it is shown, not as sent
		c = expect(t, rep, "pair:client", OK, "")
		contains(t, "message", c.Message, "client.cert (the pair Docker would send once the folder loads): accepted")
		if rep.WillSend != "" || len(rep.Accepted) != 1 {
			t.Fatalf("will send %q, accepted %v", rep.WillSend, rep.Accepted)
		}
	})

	t.Run("the host name not in the server's SANs", func(t *testing.T) {
		other, err := host.Parse("other.test:" + strings.TrimPrefix(reg.String(), regName+":"))
		if err != nil {
			t.Fatal(err)
		}
		d := copyFolder(t, dir)
		rep := verifyLive(other, d, addr)
		c := expect(t, rep, "tls", Error, "hostname")
		contains(t, "message", c.Message, "valid for DNS:registry.test, not for other.test", "lacks the SAN DNS:other.test")
		contains(t, "fix", c.Fix, "certkit issue server --host "+other.String()+" --san registry.test")
		expectNo(t, rep, "pair:client")
	})
}

// A registry on localhost that requires client certificates: podman and
// containerd send the pair, Docker's classic path sends none, so Docker is
// refused (certsd.md §4); verify says so instead of "Docker sends".
func TestDockerRegistryLoopback(t *testing.T) {
	t.Parallel()
	p := newPKIFor(t, "localhost", time.Now(), 0)
	addr := testenv.StartRegistry(t, testenv.RegistryConfig{Chain: p.server.Certs[0].ChainPath, Key: p.server.Certs[0].KeyPath, ClientCAs: []string{p.ca.CertPath()}})
	_, port, _ := strings.Cut(addr, ":")
	reg, err := host.Parse("localhost:" + port)
	if err != nil {
		t.Fatal(err)
	}
	dir := p.installClient(t, reg)
	rep := verifyLive(reg, dir, addr)
	if rep.Failed() {
		t.Fatalf("failed:\n%s", dump(rep))
	}
	c := expect(t, rep, "client-cert-request", OK, "")
	contains(t, "message", c.Message, "podman sends client.cert, Docker none (loopback)")
	c = expect(t, rep, "pair:client", OK, "")
	contains(t, "message", c.Message, "client.cert (the pair podman and containerd send; Docker sends none to a loopback registry): accepted")
	expect(t, rep, "no-client-cert", OK, "")
	c = expect(t, rep, "loopback", Warning, "loopback")
	contains(t, "message", c.Message, "so docker login and pull are refused here")
	for _, c := range rep.Checks {
		if strings.Contains(c.Message, "Docker sends client.cert") || strings.Contains(c.Message, "the pair Docker sends") {
			t.Errorf("%s: %s", c.ID, c.Message)
		}
	}
}

// A server certificate that expired: issued with a clock ten days back,
// valid for one day.
func TestDockerRegistryExpiredServer(t *testing.T) {
	t.Parallel()
	then := time.Now().Add(-10 * 24 * time.Hour)
	p := newPKI(t, then, 24*time.Hour)
	reg, addr := p.start(t)
	dir := p.installClient(t, reg)
	rep := verifyLive(reg, dir, addr)
	c := expect(t, rep, "tls", Error, "expired")
	contains(t, "message", c.Message, "the server certificate expired on "+day(p.server.NotAfter), "days ago")
	contains(t, "fix", c.Fix, "certkit issue server --host "+reg.String()+" --force")
	if !rep.Failed() {
		t.Fatal("an expired server certificate passed")
	}
}

// copyFolder copies a registry folder (flat, as install writes it) under a
// new certs root, keeping modes.
func copyFolder(t *testing.T, dir string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), filepath.Base(dir))
	if err := os.Mkdir(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		fi, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		testenv.CopyFile(t, filepath.Join(dir, e.Name()), filepath.Join(dst, e.Name()), fi.Mode().Perm())
	}
	return dst
}
