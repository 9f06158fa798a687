package verify

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/certkit/certkit/host"
	"github.com/certkit/certkit/internal/testenv"
)

// Debian's docker-registry without http.tls.clientcas serves anyone: an
// error, whose fix is the registry's own setting.
func TestDockerRegistryWithoutClientCAs(t *testing.T) {
	t.Parallel()
	p := newPKI(t, time.Now(), 0)
	addr := testenv.StartRegistry(t, testenv.RegistryConfig{Chain: p.server.Certs[0].ChainPath, Key: p.server.Certs[0].KeyPath})
	_, port, _ := strings.Cut(addr, ":")
	reg, err := host.Parse(regName + ":" + port)
	if err != nil {
		t.Fatal(err)
	}
	dir := p.installClient(t, reg)
	rep := verifyLive(reg, dir, addr)
	if !rep.Failed() || rep.Errors != 1 {
		t.Fatalf("want one error:\n%s", dump(rep))
	}
	c := expect(t, rep, "client-cert-request", Error, "not-requested")
	contains(t, "message", c.Message, "anyone who can reach it")
	contains(t, "fix", c.Fix, "http.tls.clientcas", "--allow-open")
}

// nginx in front of docker-registry, telling the three settings of
// ssl_verify_client apart: off and optional let anyone in (errors that
// name nginx's directive, not the registry's clientcas), on passes; with
// the registry behind stopped, nginx's 502 says the registry is down.
func TestNginxClientVerify(t *testing.T) {
	t.Parallel()
	port := testenv.FreePort(t)
	name := regName + ":" + strconv.Itoa(port)
	p := newPKIFor(t, regName, time.Now(), 0)
	reg, err := host.Parse(name)
	if err != nil {
		t.Fatal(err)
	}
	dir := p.installClient(t, reg)
	upstream := testenv.StartRegistry(t, testenv.RegistryConfig{}) // plain HTTP behind nginx
	listen := "127.0.0.1:" + strconv.Itoa(port)
	block := func(verify, upstream string) string {
		return fmt.Sprintf(`server {
    listen %s ssl;
    server_name %s;
    ssl_certificate %s;
    ssl_certificate_key %s;
    ssl_client_certificate %s;
    ssl_verify_client %s;
    location /v2/ { proxy_pass http://%s; }
}
`, listen, regName, p.server.Certs[0].ChainPath, p.server.Certs[0].KeyPath, p.ca.CertPath(), verify, upstream)
	}
	for _, tt := range []struct {
		verify string
		check  string // the check that fails
		kind   string
		fix    string
	}{
		{"off", "client-cert-request", "not-requested", "ssl_verify_client on;"},
		{"optional", "no-client-cert", "not-enforced", "ssl_verify_client on;"},
		{"on", "", "", ""},
	} {
		t.Run(tt.verify, func(t *testing.T) {
			// one nginx at a time on the port: each subtest stops its own
			testenv.StartNginx(t, block(tt.verify, upstream), listen)
			rep := verifyLive(reg, dir, listen)
			if tt.check == "" {
				if rep.Failed() {
					t.Fatalf("failed:\n%s", dump(rep))
				}
				expect(t, rep, "no-client-cert", OK, "")
				return
			}
			if !rep.Failed() {
				t.Fatalf("passed:\n%s", dump(rep))
			}
			c := expect(t, rep, tt.check, Error, tt.kind)
			contains(t, "fix", c.Fix, "nginx", tt.fix)
			if strings.Contains(c.Fix, "clientcas") {
				t.Errorf("fix names the registry's setting behind nginx: %s", c.Fix)
			}
		})
	}
	t.Run("registry behind stopped", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		gone := ln.Addr().String()
		ln.Close() // nothing listens there now
		testenv.StartNginx(t, block("on", gone), listen)
		rep := verifyLive(reg, dir, listen)
		c := expect(t, rep, "pair:client", Error, "upstream-down")
		contains(t, "message", c.Message, "nginx answered 502 Bad Gateway", "the registry behind it is down")
		contains(t, "fix", c.Fix, "proxy_pass")
		expect(t, rep, "no-client-cert", OK, "")
	})
}
