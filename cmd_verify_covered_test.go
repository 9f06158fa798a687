package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/certkit/certkit/host"
	"github.com/certkit/certkit/install"
	"github.com/certkit/certkit/verify"
)

// verify --target all where podman and containerd fall back to Docker's
// folder, which holds a CA key: the folder is read once for Docker's and
// podman's rules and once for containerd's, and the failure line names
// each read once, the containerd one as such. podman's report says which
// report covers it; --json stays one valid object per report.
func TestVerifyReportCoveredFolder(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	const name = "reg.example.com:5000"
	must(t, home, "init-ca")
	must(t, home, "issue", "client", "--host", name)
	base := t.TempDir()
	droot := filepath.Join(base, "etc", "docker", "certs.d")
	croot := filepath.Join(base, "etc", "containerd", "certs.d")
	must(t, home, "install", "--host", name, "--certs-dir", droot)
	key, err := os.ReadFile(filepath.Join(home, "ca", "ca.key"))
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(droot, name)
	if err := os.WriteFile(filepath.Join(dir, "ca.key"), key, 0o600); err != nil {
		t.Fatal(err)
	}
	reg, _ := host.Parse(name)
	var psearch []string
	for _, r := range []string{filepath.Join(base, "home", ".config", "containers", "certs.d"), filepath.Join(base, "etc", "containers", "certs.d"), droot} {
		psearch = append(psearch, filepath.Join(r, name))
	}
	opts := []verify.Options{
		{Registry: reg, Dir: dir, Target: install.Docker, Offline: true},
		{Registry: reg, Dir: psearch[0], Target: install.Podman, Search: psearch, Offline: true},
		{Registry: reg, Dir: filepath.Join(croot, name), Target: install.Containerd, Offline: true,
			Search: install.ContainerdSearch([]string{croot, droot}, reg)},
	}
	reports := verify.All(context.Background(), opts, 0)

	var stdout, stderr bytes.Buffer
	err = reportVerify(newEnv(strings.NewReader(""), &stdout, &stderr), false, false, reports)
	want := "2 of 2 folders failed verification: " + dir + " (ca-key); " + dir + " as containerd reads it (ca-key)"
	if err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
	out := stderr.String()
	if n := strings.Count(out, "file:ca.key"); n != 2 {
		t.Errorf("the CA key is reported %d times, want twice (Docker's rules, containerd's):\n%s", n, out)
	}
	for _, s := range []string{
		"read it by the same rules as Docker and podman: the report for --target docker checks that folder",
		name + ": 0 errors, 0 warnings; the folder is checked in the report for --target docker (",
	} {
		if !strings.Contains(out, s) {
			t.Errorf("the report lacks %q:\n%s", s, out)
		}
	}

	stdout.Reset()
	if err := reportVerify(newEnv(strings.NewReader(""), &stdout, &stderr), true, false, reports); err == nil {
		t.Error("--json: no failure")
	}
	dec := json.NewDecoder(&stdout)
	var covered []string
	for range reports {
		var r verify.Report
		if err := dec.Decode(&r); err != nil {
			t.Fatalf("--json: %v:\n%s", err, stdout.String())
		}
		covered = append(covered, r.Target+":"+r.CoveredBy)
	}
	if got := strings.Join(covered, " "); got != "docker: podman:docker containerd:" {
		t.Errorf("--json targets:covered_by %s", got)
	}
}
