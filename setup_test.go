package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	expect "github.com/Netflix/go-expect"
	"github.com/creack/pty"
	"github.com/hinshun/vt10x"
	"go.podman.io/image/v5/pkg/tlsclientconfig"

	"github.com/certkit/certkit/ca"
	"github.com/certkit/certkit/internal/certtest"
	"github.com/certkit/certkit/internal/testenv"
)

// wizardRun runs certkit in-process on a pseudo-terminal (as survey's own
// tests do): drive answers the questions through the console while run
// reads them. It returns the exit code, what the terminal showed, and
// stdout.
func wizardRun(t *testing.T, args []string, env map[string]string, drive func(c *expect.Console)) (int, string, string) {
	t.Helper()
	code, screen, stdout, _ := wizardRunTerm(t, args, env, drive)
	return code, screen, stdout
}

// wizardRunTerm is wizardRun that also returns what the terminal shows
// at the end, as a person sees it (lines erased are gone).
func wizardRunTerm(t *testing.T, args []string, env map[string]string, drive func(c *expect.Console)) (int, string, string, string) {
	t.Helper()
	for k, v := range env {
		t.Setenv(k, v)
	}
	ptm, tty, err := pty.Open()
	if err != nil {
		t.Fatalf("opening a pseudo-terminal: %v", err)
	}
	// 80 columns as a terminal has by default; rows enough that the end
	// state holds every line the run printed
	term := vt10x.New(vt10x.WithWriter(tty), vt10x.WithSize(80, 500))
	var screen bytes.Buffer
	c, err := expect.NewConsole(expect.WithStdin(ptm), expect.WithStdout(term, &screen), expect.WithCloser(ptm, tty),
		expect.WithDefaultTimeout(20*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// the same size for certkit on the console's terminal: survey counts
	// the lines a long one wraps into, to erase them
	if err := pty.Setsize(c.Tty(), &pty.Winsize{Cols: 80, Rows: 500}); err != nil {
		t.Fatal(err)
	}
	donec := make(chan struct{})
	go func() {
		defer close(donec)
		drive(c)
	}()
	var stdout bytes.Buffer
	codec := make(chan int, 1)
	go func() { codec <- runWith(append([]string{"certkit"}, args...), c.Tty(), &stdout, c.Tty()) }()
	var code int
	select {
	case code = <-codec:
	case <-time.After(time.Minute):
		// An answer went astray and certkit still waits for one. Closing
		// the terminal does not interrupt a blocked read, so press Ctrl-C
		// (the prompt has the terminal in raw mode by now) rather than
		// hang the suite.
		t.Errorf("certkit setup did not finish after the last answer; screen:\n%s", screen.String())
		c.Send(keyCtrlC)
		select {
		case code = <-codec:
		case <-time.After(10 * time.Second):
			t.Fatalf("certkit setup does not stop")
		}
	}
	// Let the driver see the last output, then stop it.
	c.Tty().Close()
	<-donec
	return code, expect.StripTrailingEmptyLines(screen.String()), stdout.String(), term.String()
}

func mustExpect(t *testing.T, c *expect.Console, s string) {
	t.Helper()
	if out, err := c.ExpectString(s); err != nil {
		t.Errorf("waiting for %q: %v\nscreen so far:\n%s", s, err, out)
	}
}

const (
	keyEnter = "\r"
	keyDown  = "\x1b[B"
	keyCtrlC = "\x03"
	keySpace = " "
)

// pressCtrlC presses Ctrl-C at the current question until until appears.
// survey draws a question before it turns the terminal's signal keys off
// (until then the line discipline eats a Ctrl-C); its cursor query comes
// after, so wait for that. It also drops a key that arrives in the same
// read as the terminal's answer to that query, so press again, as a person
// would, up to six times.
func pressCtrlC(t *testing.T, c *expect.Console, until string) {
	t.Helper()
	mustExpect(t, c, "\x1b[6n")
	for i := 0; i < 6; i++ {
		c.Send(keyCtrlC)
		if _, err := c.Expect(expect.String(until), expect.WithTimeout(3*time.Second)); err == nil {
			return
		}
	}
	t.Errorf("six Ctrl-C did not bring %q", until)
}

func TestSetupWizardFirstRunThenReuse(t *testing.T) {
	dir := t.TempDir()
	h := filepath.Join(dir, "home")
	certs := filepath.Join(dir, "certs.d")
	env := map[string]string{"CERTKIT_HOME": h, "NO_COLOR": "1"}

	// First run: no CA yet; a bad registry name is refused inline, then
	// corrected; defaults for the rest.
	code, screen, _ := wizardRun(t, []string{"setup", "--certs-dir", certs}, env, func(c *expect.Console) {
		mustExpect(t, c, "Registry, as in your image references")
		c.Send("https://reg.example.com:5000" + keyEnter)
		mustExpect(t, c, "drop the scheme")
		c.Send("reg.example.com:5000" + keyEnter)
		mustExpect(t, c, "What does this machine do with reg.example.com:5000?")
		c.Send(keyEnter) // pulls from it
		mustExpect(t, c, "No CA yet")
		c.Send(keyDown + keyEnter) // a new CA made here
		mustExpect(t, c, "Key type:")
		c.Send(keyEnter)
		mustExpect(t, c, "Validity of the certificates:")
		c.Send(keyEnter)
		mustExpect(t, c, "Client certificate names")
		c.Send("laptop" + keyEnter)
		mustExpect(t, c, "Write these files?")
		c.Send(keyEnter)
		mustExpect(t, c, "Run certkit verify now")
		c.Send("n" + keyEnter)
		mustExpect(t, c, "certkit setup --yes")
		c.ExpectEOF()
	})
	if code != 0 {
		t.Fatalf("first run exit %d\n%s", code, screen)
	}
	for _, want := range []string{"create a new CA", "issue client certificates laptop", "install ca.crt and the client pairs for docker",
		"certkit setup --yes --host reg.example.com:5000 --role client --create-ca --name laptop --target docker --certs-dir " + certs,
		"certkit issue client --host reg.example.com:5000 --name laptop"} {
		if !strings.Contains(screen, want) {
			t.Errorf("screen lacks %q:\n%s", want, screen)
		}
	}
	folder := filepath.Join(certs, "reg.example.com:5000")
	podmanLoads(t, folder, "laptop")
	caBefore, err := os.ReadFile(filepath.Join(h, "ca", "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}

	// Second run: the CA is offered for reuse and kept byte for byte.
	code, screen, _ = wizardRun(t, []string{"setup", "--host", "reg.example.com:5000", "--certs-dir", certs}, env, func(c *expect.Console) {
		mustExpect(t, c, "What does this machine do")
		c.Send(keyEnter)
		mustExpect(t, c, "Certificate authority:")
		mustExpect(t, c, "reuse \"certkit CA")
		c.Send(keyEnter)
		mustExpect(t, c, "Key type:")
		c.Send(keyEnter)
		mustExpect(t, c, "Validity")
		c.Send("90d" + keyEnter)
		mustExpect(t, c, "Client certificate names")
		c.Send("ci-1, ci-2" + keyEnter)
		mustExpect(t, c, "Write these files?")
		c.Send(keyEnter)
		mustExpect(t, c, "Run certkit verify now")
		c.Send("n" + keyEnter)
		c.ExpectEOF()
	})
	if code != 0 {
		t.Fatalf("second run exit %d\n%s", code, screen)
	}
	if !strings.Contains(screen, "reuse the CA") || !strings.Contains(screen, "Reused the CA") {
		t.Errorf("second run did not reuse the CA:\n%s", screen)
	}
	caAfter, _ := os.ReadFile(filepath.Join(h, "ca", "ca.crt"))
	if !bytes.Equal(caBefore, caAfter) {
		t.Error("the reused CA changed")
	}
	podmanLoads(t, folder, "ci-1", "ci-2", "laptop")
	c := readCertFile(t, filepath.Join(h, "hosts", "reg.example.com:5000", "ci-2.cert"))
	if days := c.NotAfter.Sub(c.NotBefore).Round(time.Hour).Hours() / 24; days != 90 {
		t.Errorf("ci-2 is valid for %v days, want 90", days)
	}
}

func TestSetupWizardCtrlCLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	h := filepath.Join(dir, "home")
	certs := filepath.Join(dir, "certs.d")
	code, screen, _ := wizardRun(t, []string{"setup", "--host", "reg.example.com", "--certs-dir", certs},
		map[string]string{"CERTKIT_HOME": h, "NO_COLOR": "1"}, func(c *expect.Console) {
			mustExpect(t, c, "What does this machine do")
			c.Send(keyDown + keyDown + keyEnter) // both
			mustExpect(t, c, "Key type:")
			c.Send(keyEnter)
			mustExpect(t, c, "Validity")
			c.Send(keyEnter)
			mustExpect(t, c, "Client certificate names")
			pressCtrlC(t, c, "interrupted")
			c.ExpectEOF()
		})
	if code != 130 {
		t.Fatalf("exit %d after Ctrl-C, want 130\n%s", code, screen)
	}
	for _, p := range []string{h, certs} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("%s exists after Ctrl-C", p)
		}
	}
}

func TestSetupWizardDeclineWritesNothing(t *testing.T) {
	dir := t.TempDir()
	h := filepath.Join(dir, "home")
	code, screen, _ := wizardRun(t, []string{"setup", "--host", "reg.example.com", "--role", "server"},
		map[string]string{"CERTKIT_HOME": h, "NO_COLOR": "1"}, func(c *expect.Console) {
			mustExpect(t, c, "Key type:")
			c.Send(keyDown + keyDown + keyEnter) // rsa-2048
			mustExpect(t, c, "Validity")
			c.Send(keyEnter)
			mustExpect(t, c, "Write these files?")
			c.Send("n" + keyEnter)
			c.ExpectEOF()
		})
	if code != 1 || !strings.Contains(screen, "nothing was written") {
		t.Fatalf("exit %d, want 1 and a note\n%s", code, screen)
	}
	if !strings.Contains(screen, "issue the server certificate for reg.example.com") {
		t.Errorf("summary lacks the server certificate:\n%s", screen)
	}
	if _, err := os.Stat(h); err == nil {
		t.Error("declining wrote files")
	}
}

// TestSetupNotATerminal: survey would hang on a pipe; setup refuses at once.
func TestSetupNotATerminal(t *testing.T) {
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer devnull.Close()
	// testscript.Main put certkit (this test binary) on PATH.
	cmd := exec.Command("certkit", "setup")
	cmd.Env = append(os.Environ(), "CERTKIT_HOME="+t.TempDir())
	cmd.Stdin = devnull
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-time.After(5 * time.Second):
		cmd.Process.Kill()
		t.Fatal("certkit setup </dev/null did not return")
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 {
		t.Fatalf("exit: %v, want 2\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "certkit: hint: run it without questions: certkit setup --yes --host") {
		t.Errorf("no hint:\n%s", stderr.String())
	}
}

// TestSetupCommandsReproduce: the commands setup prints, run on a fresh
// home, make the same folders as setup itself (modulo keys and serials).
func TestSetupCommandsReproduce(t *testing.T) {
	sh := testenv.NeedTool(t, "sh")
	a, b := t.TempDir(), t.TempDir()
	var stdout, stderr bytes.Buffer
	t.Setenv("CERTKIT_HOME", filepath.Join(a, "home"))
	code := runWith([]string{"certkit", "setup", "--yes", "--host", "reg.example.com:5000", "--role", "both",
		"--key-type", "ecdsa-p384", "--validity", "400d", "--name", "x", "--name", "y", "--certs-dir", filepath.Join(a, "certs.d")},
		nil, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("setup exit %d\n%s", code, stderr.String())
	}
	var script []string
	inSteps := false
	for _, line := range strings.Split(stderr.String(), "\n") {
		if strings.HasPrefix(line, "or step by step") {
			inSteps = true
			continue
		}
		if inSteps && strings.HasPrefix(line, "  certkit ") {
			script = append(script, strings.ReplaceAll(strings.TrimSpace(line), a, b))
		}
	}
	if len(script) != 5 {
		t.Fatalf("want 5 commands, got %d:\n%s", len(script), stderr.String())
	}
	cmd := exec.Command(sh, "-e", "-c", strings.Join(script, "\n"))
	cmd.Dir = b
	// testscript.Main put certkit (this test binary) on PATH.
	cmd.Env = append(os.Environ(), "CERTKIT_HOME="+filepath.Join(b, "home"))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the printed commands failed: %v\n%s\n%s", err, strings.Join(script, "\n"), out)
	}
	for _, sub := range []string{"home", "certs.d"} {
		if got, want := tree(t, filepath.Join(b, sub)), tree(t, filepath.Join(a, sub)); got != want {
			t.Errorf("%s differs:\nsetup:\n%s\ncommands:\n%s", sub, want, got)
		}
	}
	for _, f := range []string{"server.crt", "x.cert", "y.cert"} {
		ca := readCertFile(t, filepath.Join(a, "home", "hosts", "reg.example.com:5000", f))
		cb := readCertFile(t, filepath.Join(b, "home", "hosts", "reg.example.com:5000", f))
		fa := certtest.Join(certtest.SANs(ca)) + certtest.Join(certtest.ExtKeyUsageNames(ca.ExtKeyUsage)) + ca.Subject.CommonName
		fb := certtest.Join(certtest.SANs(cb)) + certtest.Join(certtest.ExtKeyUsageNames(cb.ExtKeyUsage)) + cb.Subject.CommonName
		if fa != fb || ca.NotAfter.Sub(ca.NotBefore) != cb.NotAfter.Sub(cb.NotBefore) || ca.PublicKeyAlgorithm != cb.PublicKeyAlgorithm {
			t.Errorf("%s: setup made %q valid %v, the commands %q valid %v", f, fa, ca.NotAfter.Sub(ca.NotBefore), fb, cb.NotAfter.Sub(cb.NotBefore))
		}
	}
}

// tree lists the files below dir with their modes, except backups.
func tree(t *testing.T, dir string) string {
	t.Helper()
	var lines []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		lines = append(lines, fi.Mode().String()+" "+rel)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

func readCertFile(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	certs, err := ca.ParseCerts(data)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return certs[0]
}

// podmanLoads loads folder with podman's own reader (the rules Docker
// uses too) and checks that exactly the named client pairs are loaded.
func podmanLoads(t *testing.T, folder string, names ...string) {
	t.Helper()
	cfg := &tls.Config{}
	if err := tlsclientconfig.SetupCertificates(folder, cfg); err != nil {
		t.Fatalf("podman's loader rejects %s: %v", folder, err)
	}
	if len(cfg.Certificates) != len(names) {
		t.Errorf("podman loaded %d client pairs from %s, want %d (%v)", len(cfg.Certificates), folder, len(names), names)
	}
	if cfg.RootCAs == nil {
		t.Errorf("podman found no CA in %s", folder)
	}
}

// TestSetupWizardCtrlCAtVerify: a Ctrl-C at the last question, after every
// file is written, still shows the commands to repeat the setup.
func TestSetupWizardCtrlCAtVerify(t *testing.T) {
	dir := t.TempDir()
	certs := filepath.Join(dir, "certs.d")
	code, screen, _ := wizardRun(t, []string{"setup", "--host", "reg.example.com", "--role", "client", "--key-type", "ecdsa-p256",
		"--validity", "30d", "--name", "a", "--certs-dir", certs},
		map[string]string{"CERTKIT_HOME": filepath.Join(dir, "home"), "NO_COLOR": "1"}, func(c *expect.Console) {
			mustExpect(t, c, "No CA yet")
			c.Send(keyDown + keyEnter) // a new CA made here
			mustExpect(t, c, "Write these files?")
			c.Send(keyEnter)
			mustExpect(t, c, "Run certkit verify now")
			pressCtrlC(t, c, "To do the same without questions")
			c.ExpectEOF()
		})
	if code != 130 {
		t.Errorf("exit %d, want 130\n%s", code, screen)
	}
	if !strings.Contains(screen, "certkit issue client --host reg.example.com --name a --validity 30d") {
		t.Errorf("the commands were not shown:\n%s", screen)
	}
	podmanLoads(t, filepath.Join(certs, "reg.example.com"), "a")
}

// The client names are checked at their question with the rule issue
// applies (names differing only in case collide), not after "Write these
// files?"; once a valid answer is given, the error lines are gone; and a
// "?" typed before an answer (asking for help) is not part of it.
func TestSetupWizardValidatesAtTheQuestion(t *testing.T) {
	dir := t.TempDir()
	h := filepath.Join(dir, "home")
	certs := filepath.Join(dir, "certs.d")
	env := map[string]string{"CERTKIT_HOME": h, "NO_COLOR": "1"}
	code, screen, _, final := wizardRunTerm(t, []string{"setup", "--certs-dir", certs}, env, func(c *expect.Console) {
		mustExpect(t, c, "Registry, as in your image references")
		c.Send("?reg.example.com:5000" + keyEnter)
		mustExpect(t, c, "What does this machine do with reg.example.com:5000?")
		c.Send(keyEnter)
		mustExpect(t, c, "No CA yet")
		c.Send(keyDown + keyEnter) // a new CA made here
		mustExpect(t, c, "Key type:")
		c.Send(keyEnter)
		mustExpect(t, c, "Validity of the certificates:")
		c.Send(keyEnter)
		mustExpect(t, c, "Client certificate names")
		c.Send("laptop, ci-runner, Laptop" + keyEnter)
		mustExpect(t, c, "differ only in case")
		c.Send("laptop, ci-runner" + keyEnter)
		mustExpect(t, c, "Write these files?")
		c.Send(keyEnter)
		mustExpect(t, c, "Run certkit verify now")
		c.Send("n" + keyEnter)
		c.ExpectEOF()
	})
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, screen)
	}
	if strings.Contains(final, "invalid") || strings.Contains(final, "differ only in case") {
		t.Errorf("an error line stayed on screen after the valid answer:\n%s", final)
	}
	if !strings.Contains(final, "laptop, ci-runner") {
		t.Errorf("the final screen lacks the answer:\n%s", final)
	}
	podmanLoads(t, filepath.Join(certs, "reg.example.com:5000"), "ci-runner", "laptop")
}

// setup --yes run again keeps what exists and is valid and does only what
// is missing, so CI and configuration management can call it every time;
// with --role both it does not run verify before the registry can serve
// the new certificate, and says what to run once it does.
func TestSetupYesRerun(t *testing.T) {
	home := t.TempDir()
	certs := filepath.Join(t.TempDir(), "certs.d")
	args := []string{"setup", "--yes", "--host", "reg.example.com:5000", "--role", "both", "--name", "laptop", "--certs-dir", certs, "--verify"}
	code, _, stderr := certkit(t, home, args...)
	if code != 0 {
		t.Fatalf("first run: exit %d\n%s", code, stderr)
	}
	for _, want := range []string{"not running verify: the registry must first be (re)started",
		"Next, once the registry runs with " + filepath.Join(home, "hosts", "reg.example.com:5000", "registry-config.yml") + ": certkit verify --host reg.example.com:5000 --target docker --certs-dir " + certs} {
		if !strings.Contains(stderr, want) {
			t.Errorf("first run lacks %q:\n%s", want, stderr)
		}
	}
	key := filepath.Join(home, "hosts", "reg.example.com:5000", "laptop.key")
	before, err := os.ReadFile(key)
	if err != nil {
		t.Fatal(err)
	}
	args = args[:len(args)-1] // no --verify: reg.example.com does not resolve
	code, _, stderr = certkit(t, home, args...)
	if code != 0 {
		t.Fatalf("second run: exit %d\n%s", code, stderr)
	}
	for _, want := range []string{`Kept the server certificate "server"`, `Kept the client certificate "laptop"`, "Kept the registry's configuration"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("second run lacks %q:\n%s", want, stderr)
		}
	}
	if strings.Contains(stderr, "Issued") {
		t.Errorf("second run issued again:\n%s", stderr)
	}
	if after, _ := os.ReadFile(key); !bytes.Equal(before, after) {
		t.Error("the second run replaced laptop.key")
	}
	// one more name: only it is issued
	code, _, stderr = certkit(t, home, append(args, "--name", "ci")...)
	if code != 0 || !strings.Contains(stderr, `Issued the client certificate "ci"`) || strings.Contains(stderr, `Issued the client certificate "laptop"`) {
		t.Fatalf("run with a new name: exit %d\n%s", code, stderr)
	}
	podmanLoads(t, filepath.Join(certs, "reg.example.com:5000"), "ci", "laptop")
}

// TestSetupWizardClientMachine: on a machine with no CA, a client setup
// asks where the certificate comes from; the registry's CA elsewhere (the
// default) stops, writes nothing, and says the three ways to get one.
func TestSetupWizardClientMachine(t *testing.T) {
	dir := t.TempDir()
	h := filepath.Join(dir, "home")
	certs := filepath.Join(dir, "certs.d")
	code, screen, _ := wizardRun(t, []string{"setup", "--host", "reg.example.com:5000", "--role", "client", "--certs-dir", certs},
		map[string]string{"CERTKIT_HOME": h, "NO_COLOR": "1"}, func(c *expect.Console) {
			mustExpect(t, c, "No CA yet")
			c.Send(keyEnter) // the registry's CA, on another machine
			mustExpect(t, c, "add --create-ca")
			c.ExpectEOF()
		})
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s", code, screen)
	}
	for _, want := range []string{"certkit export --host reg.example.com:5000", "certkit install --from", "certkit request", "certkit init-ca --remote"} {
		if !strings.Contains(screen, want) {
			t.Errorf("the screen lacks %q:\n%s", want, screen)
		}
	}
	for _, p := range []string{h, certs} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("%s was made", p)
		}
	}
}
