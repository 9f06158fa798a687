package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/certkit/certkit/verify"
)

// README's failure example of verify is what verify prints in that case:
// the folder's ca.crt replaced by another CA's. Paths, the port, the CA's
// fingerprint and the time taken are the run's own; the rest must match,
// so the example cannot drift from the messages.
func TestReadmeVerifyFailure(t *testing.T) {
	data, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	const intro = "A failure, here after the folder's `ca.crt` was replaced by another CA:"
	_, rest, ok := strings.Cut(string(data), intro)
	if !ok {
		t.Fatal("README.md lacks the failure example of verify")
	}
	_, block, _ := strings.Cut(rest, "```console\n")
	block, _, _ = strings.Cut(block, "```")
	lines := strings.Split(strings.TrimRight(block, "\n"), "\n")
	if len(lines) < 4 || !strings.HasPrefix(lines[0], "$ certkit verify ") || lines[len(lines)-2] != "$ echo $?" {
		t.Fatalf("unexpected example:\n%s", block)
	}
	want := lines[1 : len(lines)-2]

	home, staging := t.TempDir(), t.TempDir()
	base := t.TempDir()
	certs := filepath.Join(base, "certs.d")
	const reg = "reg.example.com:5000"
	must(t, home, "init-ca", "--cn", "certkit CA vm 6240db46")
	must(t, home, "issue", "server", "--host", reg)
	must(t, home, "issue", "client", "--host", reg, "--name", "client", "--name", "laptop")
	must(t, home, "install", "--host", reg, "--certs-dir", certs)
	must(t, staging, "init-ca", "--cn", "certkit CA staging")
	other, err := os.ReadFile(filepath.Join(staging, "ca", "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(certs, reg, "ca.crt"), other, 0o644); err != nil {
		t.Fatal(err)
	}
	addr := serveRegistry(t, home, reg)

	// As in the README, the home is the default one: no --home to carry.
	t.Setenv("CERTKIT_HOME", home)
	var errBuf bytes.Buffer
	code := runWith([]string{"certkit", "verify", "--host", reg, "--certs-dir", certs, "--addr", addr}, strings.NewReader(""), io.Discard, &errBuf)
	stderr := errBuf.String()
	if want := lines[len(lines)-1]; want != "1" || code != 1 {
		t.Errorf("exit %d; the example says %s", code, want)
	}
	// the run's own paths, address, fingerprint and time, as in the example
	fp := regexp.MustCompile(`SHA-256 [0-9A-F:]+…`)
	took := regexp.MustCompile(`\(\d+ms\)$`)
	norm := strings.NewReplacer(base, "/tmp/rd", addr, "127.0.0.1:5000")
	var got []string
	for _, l := range strings.Split(strings.TrimRight(stderr, "\n"), "\n") {
		got = append(got, norm.Replace(l))
	}
	for i := range max(len(got), len(want)) {
		var g, w string
		if i < len(got) {
			g = got[i]
		}
		if i < len(want) {
			w = want[i]
		}
		if m := fp.FindString(w); m != "" {
			g = fp.ReplaceAllLiteralString(g, m)
		}
		if m := took.FindString(w); m != "" {
			g = took.ReplaceAllLiteralString(g, m)
		}
		if g != w {
			t.Errorf("README.md's failure example, line %d:\n got: %s\nwant: %s", i+1, g, w)
		}
	}
}

// README's --json row names the report's fields and every field of a
// check, and the check IDs and kinds it lists are ones verify (or the
// folder reader in install) really uses.
func TestReadmeVerifyJSON(t *testing.T) {
	data, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	var row string
	for _, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(l, "| `--json` | one JSON object per registry") {
			row = l
		}
	}
	if row == "" {
		t.Fatal("README.md lacks verify's --json row")
	}
	fields := []string{"registry", "target", "dir", "install_dir", "covered_by", "errors", "warnings"}
	ct := reflect.TypeFor[verify.Check]()
	for i := range ct.NumField() {
		tag, _, _ := strings.Cut(ct.Field(i).Tag.Get("json"), ",")
		fields = append(fields, tag)
	}
	for _, f := range fields {
		if !strings.Contains(row, "`"+f+"`") {
			t.Errorf("the --json row does not name the field %s", f)
		}
	}

	// the string literals of verify's and install's code
	var src strings.Builder
	for _, pat := range []string{"verify/*.go", "install/*.go"} {
		files, _ := filepath.Glob(pat)
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			src.Write(b)
		}
	}
	code := src.String()
	_, ids, ok := strings.Cut(row, "Check IDs:")
	ids, kinds, ok2 := strings.Cut(ids, "`kind` names the diagnosis")
	if !ok || !ok2 {
		t.Fatalf("the --json row lists no check IDs or no kinds: %s", row)
	}
	tick := regexp.MustCompile("`([a-z0-9:-]+)(NAME)?`")
	for _, m := range tick.FindAllStringSubmatch(ids, -1) {
		if !strings.Contains(code, `"`+m[1]) {
			t.Errorf("the --json row lists the check ID %s, which verify never uses", m[0])
		}
	}
	var listed []string
	for _, m := range tick.FindAllStringSubmatch(kinds, -1) {
		listed = append(listed, m[1])
		if !strings.Contains(code, `"`+m[1]+`"`) {
			t.Errorf("the --json row lists the kind %s, which neither verify nor install uses", m[1])
		}
	}
	for _, k := range []string{"no-folder", "misnamed-folder", "shadowed", "folder-refused", "misnamed-client-cert", "self-signed-client", "case-collision", "rejected-tls"} {
		if !slices.Contains(listed, k) {
			t.Errorf("the --json row does not list the kind %s", k)
		}
	}
}
