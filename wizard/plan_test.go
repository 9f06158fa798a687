package wizard

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cflog "github.com/cloudflare/cfssl/log"

	"github.com/certkit/certkit/ca"
	"github.com/certkit/certkit/host"
	"github.com/certkit/certkit/install"
	"github.com/certkit/certkit/internal/errs"
	"github.com/certkit/certkit/internal/home"
)

func TestMain(m *testing.M) {
	cflog.Level = cflog.LevelFatal + 1 // as certkit's CLI does: cfssl never prints
	os.Exit(m.Run())
}

var testEnv = home.Env{Getenv: func(string) string { return "" }, HomeDir: func() (string, error) { return "/nonexistent", nil }}

func mustParse(t *testing.T, s string) host.Registry {
	t.Helper()
	r, err := host.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func files(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, rel)
		}
		return nil
	})
	return out
}

func TestRunMakesEverythingOnce(t *testing.T) {
	dir := t.TempDir()
	p := Plan{Home: filepath.Join(dir, "home"), Registry: mustParse(t, "reg.example.com:5000"), Role: Both,
		Names: []string{"a", "b"}, CertsDir: filepath.Join(dir, "certs.d")}
	p.Defaults()
	out, err := Run(p, testEnv, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !out.CACreated || out.Server == nil || out.Clients == nil || out.Install == nil {
		t.Fatalf("outcome %+v", out)
	}
	cfg, err := os.ReadFile(out.Config)
	if err != nil || out.Config != p.ConfigPath() {
		t.Fatalf("registry configuration %s: %v", out.Config, err)
	}
	for _, want := range []string{"clientcas:", "server-chain.crt", "minimumtls: tls1.2"} {
		if !strings.Contains(string(cfg), want) {
			t.Errorf("registry configuration lacks %q:\n%s", want, cfg)
		}
	}
	got := strings.Join(files(t, p.CertsDir), " ")
	if got != "reg.example.com:5000/.certkit-manifest.json reg.example.com:5000/a.cert reg.example.com:5000/a.key reg.example.com:5000/b.cert reg.example.com:5000/b.key reg.example.com:5000/ca.crt" {
		t.Errorf("certs.d holds %s", got)
	}
	// The same plan again keeps what exists and is valid, and writes
	// nothing: configuration management can run it every time.
	before := snapshot(t, p.Home, p.CertsDir)
	out, err = Run(p, testEnv, nil)
	if err != nil {
		t.Fatalf("second run: %v", err)
	}
	if out.Server != nil || out.Clients != nil || len(out.Kept) != 3 {
		t.Errorf("second run issued %v %v, kept %v; want all 3 kept", out.Server, out.Clients, out.Kept)
	}
	if after := snapshot(t, p.Home, p.CertsDir); after != before {
		t.Errorf("second run changed files:\nbefore %s\nafter  %s", before, after)
	}
	// One name more: only that one is issued and installed.
	p.Names = append(p.Names, "c")
	out, err = Run(p, testEnv, nil)
	if err != nil {
		t.Fatalf("run with a new name: %v", err)
	}
	if out.Clients == nil || len(out.Clients.Certs) != 1 || out.Clients.Certs[0].Name != "c" || len(out.Kept) != 3 {
		t.Fatalf("run with a new name issued %+v, kept %v", out.Clients, out.Kept)
	}
	if _, err := os.Stat(filepath.Join(p.CertsDir, "reg.example.com:5000", "c.cert")); err != nil {
		t.Errorf("c not installed: %v", err)
	}
	p.Names = p.Names[:len(p.Names)-1]
	// A certificate that is there but not valid (another CA's) is not
	// replaced without Force, before anything is written.
	other := t.TempDir()
	if _, err := Run(Plan{Home: other, Registry: p.Registry, Role: Client, CreateCA: true, Names: []string{"a"}, CertsDir: filepath.Join(other, "certs.d")}.withDefaults(), testEnv, nil); err != nil {
		t.Fatal(err)
	}
	for _, ext := range []string{".cert", ".key"} {
		data, _ := os.ReadFile(filepath.Join(other, "hosts", "reg.example.com:5000", "a"+ext))
		os.WriteFile(filepath.Join(p.Home, "hosts", "reg.example.com:5000", "a"+ext), data, 0o600)
	}
	if _, err := Run(p, testEnv, nil); !errors.Is(err, errExisting) || errs.HintOf(err) == "" || !strings.Contains(err.Error(), "does not verify against the CA") {
		t.Fatalf("run over another CA's pair: %v, want the existing-certificates refusal with a hint", err)
	}
	// With Force it issues again, keeping backups, and reuses the CA.
	caBefore, _ := os.ReadFile(filepath.Join(p.Home, "ca", "ca.crt"))
	p.Force = true
	out, err = Run(p, testEnv, nil)
	if err != nil {
		t.Fatal(err)
	}
	caAfter, _ := os.ReadFile(filepath.Join(p.Home, "ca", "ca.crt"))
	if out.CACreated || string(caBefore) != string(caAfter) {
		t.Error("a forced re-issue replaced the CA")
	}
	if len(out.Clients.Backups) != 4 {
		t.Errorf("client backups %v, want 4", out.Clients.Backups)
	}
}

// TestRunFailureLeavesNothing: when the install fails, the CA and the
// certificates the run made are taken away again.
func TestRunFailureLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	blocker := filepath.Join(dir, "file")
	os.WriteFile(blocker, nil, 0o644)
	p := Plan{Home: filepath.Join(dir, "home"), Registry: mustParse(t, "reg.example.com"), Role: Both,
		CertsDir: filepath.Join(blocker, "certs.d")}
	p.Defaults()
	if _, err := Run(p, testEnv, nil); err == nil {
		t.Fatal("install into a path under a file succeeded")
	}
	if _, err := os.Stat(p.Home); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the failed run left %v in the home", files(t, p.Home))
	}
}

// TestRunFailureRestoresReplaced: a forced run that fails puts back the
// certificates it replaced, and keeps the CA it did not make.
func TestRunFailureRestoresReplaced(t *testing.T) {
	dir := t.TempDir()
	p := Plan{Home: filepath.Join(dir, "home"), Registry: mustParse(t, "reg.example.com"), Role: Client, CreateCA: true, CertsDir: filepath.Join(dir, "ok")}
	p.Defaults()
	if _, err := Run(p, testEnv, nil); err != nil {
		t.Fatal(err)
	}
	cert := filepath.Join(home.HostDir(p.Home, "reg.example.com"), "client.cert")
	before, _ := os.ReadFile(cert)
	blocker := filepath.Join(dir, "file")
	os.WriteFile(blocker, nil, 0o644)
	p.Force, p.CertsDir = true, filepath.Join(blocker, "certs.d")
	if _, err := Run(p, testEnv, nil); err == nil {
		t.Fatal("want a failure")
	}
	after, err := os.ReadFile(cert)
	if err != nil || string(after) != string(before) {
		t.Errorf("client.cert not restored: %v", err)
	}
	if _, err := ca.Load(p.Home); err != nil {
		t.Errorf("the CA is gone: %v", err)
	}
	for _, f := range files(t, p.Home) {
		if strings.Contains(f, ".bak-") {
			t.Errorf("backup %s left behind after the restore", f)
		}
	}
}

func TestValidate(t *testing.T) {
	reg := host.Registry{Name: "reg"}
	bad := map[string]Plan{
		"no registry":     {Role: Client, KeyType: ca.ECDSAP256, Validity: time.Hour, Names: []string{"a"}},
		"bad role":        {Registry: reg, Role: "pusher", KeyType: ca.ECDSAP256, Validity: time.Hour},
		"bad key type":    {Registry: reg, Role: Server, KeyType: "rsa-1024", Validity: time.Hour},
		"zero validity":   {Registry: reg, Role: Server, KeyType: ca.ECDSAP256},
		"bad name":        {Registry: reg, Role: Client, KeyType: ca.ECDSAP256, Validity: time.Hour, Names: []string{"../x"}},
		"name twice":      {Registry: reg, Role: Client, KeyType: ca.ECDSAP256, Validity: time.Hour, Names: []string{"a", "a"}},
		"certs-dir and 2": {Registry: reg, Role: Client, KeyType: ca.ECDSAP256, Validity: time.Hour, Names: []string{"a"}, CertsDir: "/x", Targets: []install.Target{install.Docker, install.Podman}},
	}
	for name, p := range bad {
		if err := p.Validate(); !errs.IsInput(err) {
			t.Errorf("%s: %v, want an input error", name, err)
		}
	}
}

func TestCommands(t *testing.T) {
	p := Plan{Home: "/h", Registry: mustParse(t, "[fd00::1]:5000"), Role: Both, KeyType: ca.RSA2048,
		Validity: 90 * 24 * time.Hour, Names: []string{"ci 1"}, Targets: []install.Target{install.Podman}, NewCA: true}
	want := []string{
		"certkit init-ca --key-type rsa-2048 --force",
		"certkit issue server --host '[fd00::1]:5000' --key-type rsa-2048 --validity 90d",
		"certkit issue client --host '[fd00::1]:5000' --name 'ci 1' --key-type rsa-2048 --validity 90d",
		"certkit install --host '[fd00::1]:5000' --target podman --force",
		"certkit template registry --host '[fd00::1]:5000' --out '/h/hosts/[fd00::1]:5000/registry-config.yml'",
	}
	if got := p.Commands(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("Commands:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	p.HomeFlag = true
	if got := p.Commands()[1]; got != "certkit issue server --home /h --host '[fd00::1]:5000' --key-type rsa-2048 --validity 90d" {
		t.Errorf("with --home: %s", got)
	}
	if got := p.SetupCommand(); !strings.HasPrefix(got, "certkit setup --yes --home /h --host") {
		t.Errorf("with --home: %s", got)
	}
	p.HomeFlag = false
	if got, want := p.SetupCommand(), "certkit setup --yes --host '[fd00::1]:5000' --role both --new-ca --key-type rsa-2048 --validity 90d --name 'ci 1' --target podman"; got != want {
		t.Errorf("SetupCommand:\n%s\nwant\n%s", got, want)
	}
}

func TestDetect(t *testing.T) {
	fi, _ := os.Stat(".")
	probe := Probe{
		LookPath: func(n string) (string, error) {
			if n == "podman" || n == "containerd" {
				return "/usr/bin/" + n, nil
			}
			return "", errors.New("not found")
		},
		Stat: func(p string) (os.FileInfo, error) {
			if p == "/run/user/1000/docker.sock" {
				return fi, nil
			}
			return nil, fs.ErrNotExist
		},
		Getenv: func(k string) string {
			if k == "XDG_RUNTIME_DIR" {
				return "/run/user/1000"
			}
			return ""
		},
	}
	got := Detect(probe)
	want := []install.Target{install.DockerRootless, install.Podman, install.Containerd}
	if len(got) != len(want) {
		t.Fatalf("Detect = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("Detect = %v, want %v", got, want)
		}
	}
}

func (p Plan) withDefaults() Plan { p.Defaults(); return p }

// snapshot lists the files under dirs with their sizes and times.
func snapshot(t *testing.T, dirs ...string) string {
	t.Helper()
	var b strings.Builder
	for _, d := range dirs {
		filepath.WalkDir(d, func(path string, e fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			fi, err := e.Info()
			if err != nil {
				return err
			}
			fmt.Fprintf(&b, "%s %d %d\n", path, fi.Size(), fi.ModTime().UnixNano())
			return nil
		})
	}
	return b.String()
}

// TestClientMachineMakesNoCA: a client-only setup in a home with no CA
// writes nothing and says how a client machine gets its certificate;
// with CreateCA it makes the CA.
func TestClientMachineMakesNoCA(t *testing.T) {
	dir := t.TempDir()
	p := Plan{Home: filepath.Join(dir, "home"), Registry: mustParse(t, "reg.example.com:5000"), Role: Client, Names: []string{"laptop"}, CertsDir: filepath.Join(dir, "certs.d")}
	p.Defaults()
	_, err := Run(p, testEnv, nil)
	var nc *NoCAError
	if !errors.As(err, &nc) {
		t.Fatalf("Run: %v, want a NoCAError", err)
	}
	for _, want := range []string{"certkit export --host reg.example.com:5000 --name laptop", "certkit install --from laptop.bundle", "certkit request --host reg.example.com:5000 --name laptop", "certkit init-ca --remote", "--create-ca"} {
		if !strings.Contains(nc.Hint(), want) {
			t.Errorf("the hint lacks %q: %s", want, nc.Hint())
		}
	}
	for _, d := range []string{p.Home, p.CertsDir} {
		if _, err := os.Stat(d); err == nil {
			t.Errorf("%s was made", d)
		}
	}
	p.CreateCA = true
	if _, err := Run(p, testEnv, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(p.Home, "ca", "ca.key")); err != nil {
		t.Errorf("with CreateCA: %v", err)
	}
	if !strings.Contains(p.SetupCommand(), " --create-ca") {
		t.Errorf("the printed command lacks --create-ca: %s", p.SetupCommand())
	}
}
