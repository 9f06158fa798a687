package testenv

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"go/parser"
	"go/token"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	cflog "github.com/cloudflare/cfssl/log"

	"github.com/certkit/certkit/ca"
	"github.com/certkit/certkit/host"
	"github.com/certkit/certkit/issue"
)

// The test binary doubles as the server program StartProcess is tested
// with, chosen by TESTENV_HELPER.
func TestMain(m *testing.M) {
	switch os.Getenv("TESTENV_HELPER") {
	case "":
		cflog.Level = cflog.LevelFatal + 1 // ca and issue go through cfssl, which logs
		os.Exit(m.Run())
	case "ready":
		fmt.Println("starting")
		fmt.Fprintf(os.Stderr, "ready, pid %d\n", os.Getpid())
		time.Sleep(time.Hour)
	case "listen":
		ln, err := net.Listen("tcp", os.Getenv("TESTENV_ADDR"))
		if err != nil {
			fmt.Println(err)
			os.Exit(1)
		}
		for {
			c, err := ln.Accept()
			if err != nil {
				os.Exit(1)
			}
			c.Close()
		}
	case "exit":
		fmt.Println("boom: no configuration")
		os.Exit(3)
	}
}

// recorder stands for a test in the cases where a helper must fail or skip
// it: it notes the message and stops the helper, as t.Fatal and t.Skip
// would.
type recorder struct {
	testing.TB
	fatal, skip string
}

type stopped struct{}

func (r *recorder) Fatal(args ...any) { r.fatal = fmt.Sprint(args...); panic(stopped{}) }
func (r *recorder) Fatalf(format string, args ...any) {
	r.fatal = fmt.Sprintf(format, args...)
	panic(stopped{})
}
func (r *recorder) Skip(args ...any) { r.skip = fmt.Sprint(args...); panic(stopped{}) }
func (r *recorder) Skipf(format string, args ...any) {
	r.skip = fmt.Sprintf(format, args...)
	panic(stopped{})
}

// record runs f with a recorder for t.
func record(t *testing.T, f func(tb testing.TB)) *recorder {
	r := &recorder{TB: t}
	func() {
		defer func() {
			if v := recover(); v != nil {
				if _, ok := v.(stopped); !ok {
					panic(v)
				}
			}
		}()
		f(r)
	}()
	return r
}

func executable(t *testing.T, dir, name string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	WriteFile(t, p, []byte("#!/bin/sh\nexit 0\n"), 0o755)
	return p
}

func TestNeedTool(t *testing.T) {
	onPath, inSbin := t.TempDir(), t.TempDir()
	t.Setenv("PATH", onPath)
	defer func(dirs []string) { sbinDirs = dirs }(sbinDirs)
	sbinDirs = []string{inSbin}
	pathTool := executable(t, onPath, "certkit-tool")
	sbinTool := executable(t, inSbin, "certkit-sbin-tool")
	WriteFile(t, filepath.Join(inSbin, "certkit-not-executable"), nil, 0o644)

	for _, tc := range []struct {
		name, tool, ci    string
		path, fatal, skip string
	}{
		{name: "on PATH", tool: "certkit-tool", ci: "true", path: pathTool},
		{name: "in sbin", tool: "certkit-sbin-tool", ci: "true", path: sbinTool},
		{name: "missing under CI", tool: "certkit-missing", ci: "true", fatal: "certkit-missing is not installed, and CI=true forbids skipping"},
		{name: "missing elsewhere", tool: "certkit-missing", skip: "certkit-missing is not installed: apt-get install certkit-missing "},
		{name: "not executable", tool: "certkit-not-executable", skip: "certkit-not-executable is not installed"},
		{name: "CI=1 is not CI=true", tool: "certkit-missing", ci: "1", skip: "apt-get install"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("CI", tc.ci)
			var got string
			r := record(t, func(tb testing.TB) { got = NeedTool(tb, tc.tool) })
			if got != tc.path || !contains(r.fatal, tc.fatal) || !contains(r.skip, tc.skip) {
				t.Errorf("NeedTool(%s) = %q, fatal %q, skip %q; want %q, fatal %q, skip %q", tc.tool, got, r.fatal, r.skip, tc.path, tc.fatal, tc.skip)
			}
		})
	}

	t.Run("NeedTools stops at the first missing", func(t *testing.T) {
		t.Setenv("CI", "true")
		r := record(t, func(tb testing.TB) {
			NeedTools(tb, "certkit-tool", "certkit-sbin-tool", "certkit-missing", "certkit-other")
		})
		if !strings.HasPrefix(r.fatal, "certkit-missing ") {
			t.Errorf("fatal %q", r.fatal)
		}
	})
}

// contains is strings.Contains where want "" means got must be "" too.
func contains(got, want string) bool {
	if want == "" {
		return got == ""
	}
	return strings.Contains(got, want)
}

func TestInstallHint(t *testing.T) {
	for tool, pkg := range map[string]string{"apache2ctl": "apache2", "sha256sum": "coreutils", "skopeo": "skopeo", "docker-registry": "docker-registry"} {
		if h := installHint(tool); !strings.Contains(h, "apt-get install "+pkg+" ") {
			t.Errorf("installHint(%s) = %q, want apt-get install %s", tool, h, pkg)
		}
	}
}

func TestHaveTool(t *testing.T) {
	onPath, inSbin := t.TempDir(), t.TempDir()
	t.Setenv("PATH", onPath)
	defer func(dirs []string) { sbinDirs = dirs }(sbinDirs)
	sbinDirs = []string{inSbin}
	executable(t, onPath, "certkit-tool")
	executable(t, inSbin, "certkit-sbin-tool")
	for _, tc := range []struct {
		tool, ci string
		have     bool
		err      bool
	}{
		{"certkit-tool", "true", true, false},
		{"certkit-tool", "", true, false},
		{"certkit-missing", "", false, false},
		{"certkit-missing", "true", false, true},
		// exec in a script looks on PATH only
		{"certkit-sbin-tool", "", false, false},
		{"certkit-sbin-tool", "true", false, true},
	} {
		t.Setenv("CI", tc.ci)
		have, err := HaveTool(tc.tool)
		if have != tc.have || (err != nil) != tc.err {
			t.Errorf("CI=%q HaveTool(%s) = %v, %v; want %v, error %v", tc.ci, tc.tool, have, err, tc.have, tc.err)
		}
		if err != nil && !strings.Contains(err.Error(), "CI=true forbids skipping") {
			t.Errorf("HaveTool(%s): %v", tc.tool, err)
		}
	}
}

func self(t *testing.T) string {
	t.Helper()
	p, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestStartProcess(t *testing.T) {
	bin := self(t)

	t.Run("ready line", func(t *testing.T) {
		var pid int
		t.Run("start", func(t *testing.T) {
			m := StartProcess(t, Program{Path: bin, Env: []string{"TESTENV_HELPER=ready"}, Ready: regexp.MustCompile(`ready, pid (\d+)`)})
			if len(m) != 2 {
				t.Fatalf("submatches %q", m)
			}
			pid, _ = strconv.Atoi(m[1])
			if p, err := os.FindProcess(pid); err != nil || p.Signal(syscall.Signal(0)) != nil {
				t.Fatalf("process %d is not running: %v", pid, err)
			}
		})
		// The subtest's cleanup killed the program and waited for it.
		if p, err := os.FindProcess(pid); err == nil && p.Signal(syscall.Signal(0)) == nil {
			p.Kill()
			t.Errorf("process %d still runs after the test ended", pid)
		}
	})

	t.Run("listening", func(t *testing.T) {
		addr := "127.0.0.1:" + strconv.Itoa(FreePort(t))
		if m := StartProcess(t, Program{Path: bin, Env: []string{"TESTENV_HELPER=listen", "TESTENV_ADDR=" + addr}, Listen: addr}); m != nil {
			t.Errorf("submatches %q without Ready", m)
		}
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("StartProcess returned, but nothing listens on %s: %v", addr, err)
		}
		c.Close()
	})

	for _, tc := range []struct {
		name string
		p    Program
		want string
	}{
		{"exits before ready", Program{Ready: regexp.MustCompile(`ready`)}, "exited before it said it was ready"},
		{"exits before listening", Program{Listen: "127.0.0.1:" + strconv.Itoa(FreePort(t))}, "exited before it listened on 127.0.0.1:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.p.Path, tc.p.Env = bin, []string{"TESTENV_HELPER=exit"}
			r := record(t, func(tb testing.TB) { StartProcess(tb, tc.p) })
			if !strings.Contains(r.fatal, tc.want) || !strings.Contains(r.fatal, "boom: no configuration") {
				t.Errorf("fatal %q, want %q and the program's output", r.fatal, tc.want)
			}
		})
	}
}

func TestStartRegistry(t *testing.T) {
	t.Run("plain", func(t *testing.T) {
		addr := StartRegistry(t, RegistryConfig{})
		if !strings.HasPrefix(addr, "127.0.0.1:") || strings.HasSuffix(addr, ":0") {
			t.Fatalf("address %q", addr)
		}
		a := get(t, &http.Client{Timeout: 10 * time.Second}, "http://"+addr+"/v2/")
		if a != "200 {}" {
			t.Errorf("GET /v2/: %s", a)
		}
	})

	t.Run("TLS with client CAs on a given port", func(t *testing.T) {
		h := t.TempDir()
		res, err := ca.Create(ca.Options{Home: h})
		if err != nil {
			t.Fatal(err)
		}
		want := "127.0.0.1:" + strconv.Itoa(FreePort(t))
		reg, err := host.Parse("localhost:" + strings.TrimPrefix(want, "127.0.0.1:"))
		if err != nil {
			t.Fatal(err)
		}
		srv, err := issue.Issue(issue.Options{Home: h, Registry: reg, Kind: issue.Server, CA: res.CA})
		if err != nil {
			t.Fatal(err)
		}
		cli, err := issue.Issue(issue.Options{Home: h, Registry: reg, Kind: issue.Client, CA: res.CA})
		if err != nil {
			t.Fatal(err)
		}
		addr := StartRegistry(t, RegistryConfig{Addr: want, Chain: srv.Certs[0].ChainPath, Key: srv.Certs[0].KeyPath, ClientCAs: []string{res.CA.CertPath()}})
		if addr != want {
			t.Fatalf("address %q, want %q", addr, want)
		}
		roots := x509.NewCertPool()
		roots.AddCert(res.CA.Cert)
		pair, err := tls.LoadX509KeyPair(cli.Certs[0].CertPath, cli.Certs[0].KeyPath)
		if err != nil {
			t.Fatal(err)
		}
		client := func(certs ...tls.Certificate) *http.Client {
			return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, Certificates: certs}}}
		}
		url := "https://" + reg.String() + "/v2/"
		if a := get(t, client(pair), url); a != "200 {}" {
			t.Errorf("GET /v2/ with the client certificate: %s", a)
		}
		if a := get(t, client(), url); !strings.HasPrefix(a, "error") {
			t.Errorf("GET /v2/ without a client certificate: %s, want a TLS failure", a)
		}
	})

	t.Run("client CAs without a certificate", func(t *testing.T) {
		r := record(t, func(tb testing.TB) { StartRegistry(tb, RegistryConfig{ClientCAs: []string{"ca.crt"}}) })
		if !strings.Contains(r.fatal, "client CAs need both") {
			t.Errorf("fatal %q", r.fatal)
		}
	})
}

// get returns "STATUS BODY" or "error: ...".
func get(t *testing.T, c *http.Client, url string) string {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		return "error: " + err.Error()
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "error: " + err.Error()
	}
	return strconv.Itoa(resp.StatusCode) + " " + strings.TrimSpace(string(body))
}

// TestWriteOCIImage reads the layout back as skopeo would: index.json names
// the manifest by tag, every blob is named by its digest, and the layer is
// a gzipped tar of one file.
func TestWriteOCIImage(t *testing.T) {
	dir := t.TempDir()
	img := WriteOCIImage(t, dir, "1.0")
	read := func(digest string) []byte {
		t.Helper()
		hexSum, ok := strings.CutPrefix(digest, "sha256:")
		if !ok {
			t.Fatalf("digest %q", digest)
		}
		b, err := os.ReadFile(filepath.Join(dir, "blobs", "sha256", hexSum))
		if err != nil {
			t.Fatal(err)
		}
		if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != hexSum {
			t.Fatalf("blob %s has digest %x", digest, sum)
		}
		return b
	}
	type descriptor struct {
		MediaType, Digest string
		Size              int
		Annotations       map[string]string
	}
	var index struct{ Manifests []descriptor }
	b, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &index); err != nil {
		t.Fatal(err)
	}
	if len(index.Manifests) != 1 || index.Manifests[0].Digest != img.Manifest || index.Manifests[0].Annotations["org.opencontainers.image.ref.name"] != "1.0" || index.Manifests[0].MediaType != ociManifest {
		t.Fatalf("index.json %s; want the manifest %s tagged 1.0", b, img.Manifest)
	}
	var manifest struct {
		Config descriptor
		Layers []descriptor
	}
	if err := json.Unmarshal(read(img.Manifest), &manifest); err != nil {
		t.Fatal(err)
	}
	if len(manifest.Layers) != 1 || manifest.Layers[0].Digest != img.Layer || manifest.Config.MediaType != ociConfig {
		t.Fatalf("manifest %+v; want the layer %s", manifest, img.Layer)
	}
	layer := read(img.Layer)
	if len(layer) != manifest.Layers[0].Size {
		t.Errorf("layer size %d, manifest says %d", len(layer), manifest.Layers[0].Size)
	}
	zr, err := gzip.NewReader(bytes.NewReader(layer))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	hdr, err := tr.Next()
	if err != nil || hdr.Name != "hello.txt" {
		t.Fatalf("layer: %v %+v", err, hdr)
	}
	var config struct {
		RootFS struct {
			DiffIDs []string `json:"diff_ids"`
		} `json:"rootfs"`
	}
	if err := json.Unmarshal(read(manifest.Config.Digest), &config); err != nil {
		t.Fatal(err)
	}
	raw, _ := gzip.NewReader(bytes.NewReader(layer))
	tarBytes, _ := io.ReadAll(raw)
	if sum := sha256.Sum256(tarBytes); len(config.RootFS.DiffIDs) != 1 || config.RootFS.DiffIDs[0] != "sha256:"+hex.EncodeToString(sum[:]) {
		t.Errorf("diff_ids %q, want the uncompressed layer's digest", config.RootFS.DiffIDs)
	}
}

func TestFreePort(t *testing.T) {
	port := FreePort(t)
	ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		t.Fatalf("port %d is not free: %v", port, err)
	}
	ln.Close()
}

func TestCopyFile(t *testing.T) {
	dir := t.TempDir()
	from, to := filepath.Join(dir, "from"), filepath.Join(dir, "to")
	WriteFile(t, from, []byte("certificate"), 0o600)
	WriteFile(t, to, []byte("an older, longer file"), 0o600)
	CopyFile(t, from, to, 0o644) // over an existing file: its mode changes too
	b, err := os.ReadFile(to)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(to)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != "certificate" || fi.Mode().Perm() != 0o644 {
		t.Errorf("copy %q, mode %04o", b, fi.Mode().Perm())
	}
}

func TestNeedHostname(t *testing.T) {
	t.Setenv("CI", "")
	if r := record(t, func(tb testing.TB) { NeedHostname(tb, "localhost") }); r.fatal != "" || r.skip != "" {
		t.Errorf("localhost: fatal %q, skip %q", r.fatal, r.skip)
	}
	// .invalid never resolves (RFC 2606); off CI nothing is written.
	r := record(t, func(tb testing.TB) { NeedHostname(tb, "certkit-testenv.invalid") })
	if !strings.Contains(r.skip, `add "127.0.0.1 certkit-testenv.invalid" to /etc/hosts`) {
		t.Errorf("skip %q", r.skip)
	}
}

// TestOnlyTestsImport: no file of certkit but a _test.go file imports this
// package.
func TestOnlyTestsImport(t *testing.T) {
	const self = "github.com/certkit/certkit/internal/testenv"
	root := filepath.Join("..", "..")
	n := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || d.Name() == "vendor" || strings.HasPrefix(d.Name(), ".") && path != root) {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		n++
		for _, imp := range f.Imports {
			if imp.Path.Value == strconv.Quote(self) {
				t.Errorf("%s imports %s, which is for tests only", path, self)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 20 {
		t.Fatalf("read only %d files from %s", n, root)
	}
}
