package install

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/containerd/containerd/v2/core/remotes/docker/config"
	"github.com/containerd/errdefs"
	"go.podman.io/image/v5/pkg/tlsclientconfig"

	"github.com/certkit/certkit/host"
)

// testRegistry is a TLS server on 127.0.0.1:0 that, like a registry with
// tls.clientcas, requires a client certificate signed by the certkit CA and
// answers GET /v2/ with 200 {}. Clients reach it under a non-loopback name
// (reg.certkit.test:PORT), mapped to 127.0.0.1 by their dialer, so that no
// loader treats it as localhost.
type testRegistry struct {
	Name host.Registry // reg.certkit.test:PORT: the certs.d folder name
	Addr string        // 127.0.0.1:PORT
}

const testHostname = "reg.certkit.test"

func startRegistry(t testing.TB, p *testPKI) *testRegistry {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM := p.server(t, testHostname)
	cert, err := tls.X509KeyPair(append(certPEM, p.ca.CertPEM...), keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	clientCAs := x509.NewCertPool()
	clientCAs.AddCert(p.ca.Cert)
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
			if r.URL.Path != "/v2/" || len(r.TLS.PeerCertificates) == 0 {
				http.NotFound(w, r)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, "{}")
		}),
		TLSConfig: &tls.Config{
			Certificates: []tls.Certificate{cert},
			ClientAuth:   tls.RequireAndVerifyClientCert,
			ClientCAs:    clientCAs,
			MinVersion:   tls.VersionTLS12,
		},
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          log.New(io.Discard, "", 0), // refused handshakes are expected
	}
	go srv.ServeTLS(ln, "", "")
	t.Cleanup(func() { srv.Close() })
	port := ln.Addr().(*net.TCPAddr).Port
	reg, err := host.Parse(fmt.Sprintf("%s:%d", testHostname, port))
	if err != nil {
		t.Fatal(err)
	}
	return &testRegistry{Name: reg, Addr: ln.Addr().String()}
}

// dial sends every connection to the test registry.
func (r *testRegistry) dial(ctx context.Context, network, _ string) (net.Conn, error) {
	d := net.Dialer{Timeout: 5 * time.Second}
	return d.DialContext(ctx, network, r.Addr)
}

// get does GET /v2/ with an http.Client whose transport the caller set up,
// and checks the registry's answer.
func (r *testRegistry) get(c *http.Client, url string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
	if resp.StatusCode != http.StatusOK || strings.TrimSpace(string(body)) != "{}" ||
		resp.Header.Get("Docker-Distribution-API-Version") != "registry/2.0" {
		return fmt.Errorf("GET %s: %s %q", url, resp.Status, body)
	}
	return nil
}

// viaPodman loads the folder with podman's and skopeo's loader
// (tlsclientconfig.SetupCertificates, Docker's rules) and does GET /v2/.
func (r *testRegistry) viaPodman(dir string) error {
	cfg := &tls.Config{}
	if err := tlsclientconfig.SetupCertificates(dir, cfg); err != nil {
		return fmt.Errorf("podman's loader: %w", err)
	}
	if len(cfg.Certificates) == 0 {
		return fmt.Errorf("podman's loader found no client certificate in %s", dir)
	}
	tr := &http.Transport{TLSClientConfig: cfg, DialContext: r.dial}
	defer tr.CloseIdleConnections()
	if err := r.get(&http.Client{Transport: tr}, "https://"+r.Name.String()+"/v2/"); err != nil {
		return fmt.Errorf("podman's loader: %w", err)
	}
	return nil
}

// viaContainerd resolves the registry the way containerd does, from the
// certs roots in config_path order (hosts.toml, else the loose files), and
// does GET /v2/ against every endpoint it configures.
func (r *testRegistry) viaContainerd(roots ...string) error {
	hosts := config.ConfigureHosts(context.Background(), config.HostOptions{
		HostDir: hostDirFromRoots(roots),
		UpdateClient: func(c *http.Client) error {
			tr, ok := c.Transport.(*http.Transport)
			if !ok {
				return fmt.Errorf("unexpected transport %T", c.Transport)
			}
			tr.DialContext = r.dial
			return nil
		},
	})
	hs, err := hosts(r.Name.String())
	if err != nil {
		return fmt.Errorf("containerd's loader: %w", err)
	}
	if len(hs) == 0 {
		return fmt.Errorf("containerd configured no endpoint")
	}
	for i, h := range hs {
		// Every endpoint, not only the first: containerd falls through to
		// the next one after an error and sends referrers requests only to
		// endpoints with that capability (the server entry, last).
		if h.Host != r.Name.String() || h.Scheme != "https" {
			return fmt.Errorf("containerd's endpoint %d is %s://%s", i, h.Scheme, h.Host)
		}
		if err := r.get(h.Client, h.Scheme+"://"+h.Host+h.Path+"/"); err != nil {
			return fmt.Errorf("containerd's loader, endpoint %d of %d (capabilities %b): %w", i+1, len(hs), h.Capabilities, err)
		}
	}
	return nil
}

// hostDirFromRoots is how containerd's CRI plugin searches the roots of
// its config_path (internal/cri/server/images.hostDirFromRoots): the
// first root with a folder for the host wins.
func hostDirFromRoots(roots []string) func(string) (string, error) {
	return func(host string) (dir string, err error) {
		for _, root := range roots {
			dir, err = config.HostDirFromRoot(root)(host)
			if (err != nil && !errdefs.IsNotFound(err)) || dir != "" {
				break
			}
		}
		return dir, err
	}
}

// refusesBareClient checks that the registry refuses a client that trusts
// it but sends no certificate: the oracles prove something only then.
func (r *testRegistry) refusesBareClient(p *testPKI) error {
	roots := x509.NewCertPool()
	roots.AddCert(p.ca.Cert)
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}, DialContext: r.dial}
	defer tr.CloseIdleConnections()
	if err := r.get(&http.Client{Transport: tr}, "https://"+r.Name.String()+"/v2/"); err == nil {
		return fmt.Errorf("the registry answered a client without a certificate")
	}
	return nil
}

// bothOracles asserts that podman's and containerd's loaders read the
// registry's folder in root and reach the registry with its client
// certificate.
func bothOracles(t testing.TB, r *testRegistry, root string) {
	t.Helper()
	if err := r.viaPodman(filepath.Join(root, r.Name.String())); err != nil {
		t.Error(err)
	}
	if err := r.viaContainerd(root); err != nil {
		t.Error(err)
	}
}
