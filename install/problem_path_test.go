package install

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/certkit/certkit/internal/testenv"
)

// A problem of hosts.toml with a file it names carries that file in Path
// (and in JSON, "path"), whatever the message says; other problems have
// none.
func TestReadFolderHostsTOMLProblemPath(t *testing.T) {
	p := newPKI(t)
	certPEM, keyPEM := p.client(t, "client", nil)
	_, otherKey := p.client(t, "other", nil)
	elsewhere := filepath.Join(t.TempDir(), "elsewhere.crt")
	tests := []struct {
		name  string
		entry string // the lines of [host."https://reg.example.com:5000"]
		kind  Kind
		path  string // relative to the folder, unless absolute
	}{
		{"a missing CA file", `ca = "gone.crt"`, KindHostsTOMLUnreadableFile, "gone.crt"},
		{"a missing CA file, absolute", `ca = "` + elsewhere + `"`, KindHostsTOMLUnreadableFile, elsewhere},
		{"a CA file with no PEM certificate", `ca = "notes.txt"`, KindHostsTOMLNotPEM, "notes.txt"},
		{"a missing client certificate", `client = [["gone.cert", "client.key"]]`, KindHostsTOMLUnreadableFile, "gone.cert"},
		{"a missing client key", `client = [["client.cert", "gone.key"]]`, KindHostsTOMLUnreadableFile, "gone.key"},
		{"a pair that does not load", `client = [["client.cert", "other.key.pem"]]`, KindHostsTOMLBadPair, "client.cert"},
		{"skip_verify: no file", `skip_verify = true`, KindSkipVerify, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "reg.example.com:5000")
			os.Mkdir(dir, 0o755)
			testenv.WriteFile(t, filepath.Join(dir, "ca.crt"), p.ca.CertPEM, 0o644)
			testenv.WriteFile(t, filepath.Join(dir, "client.cert"), certPEM, 0o644)
			testenv.WriteFile(t, filepath.Join(dir, "client.key"), keyPEM, 0o600)
			testenv.WriteFile(t, filepath.Join(dir, "other.key.pem"), otherKey, 0o600)
			testenv.WriteFile(t, filepath.Join(dir, "notes.txt"), []byte("not a certificate"), 0o644)
			toml := "server = \"https://reg.example.com:5000\"\nca = \"ca.crt\"\nclient = [[\"client.cert\", \"client.key\"]]\n[host.\"https://reg.example.com:5000\"]\n  " + tt.entry + "\n"
			testenv.WriteFile(t, filepath.Join(dir, HostsFile), []byte(toml), 0o644)
			f, err := ReadFolder(dir)
			if err != nil {
				t.Fatal(err)
			}
			want := tt.path
			if want != "" && !filepath.IsAbs(want) {
				want = filepath.Join(dir, want)
			}
			var found bool
			for _, pr := range f.Problems {
				if pr.Kind != tt.kind {
					if pr.Path != "" {
						t.Errorf("%s problem with a path: %+v", pr.Kind, pr)
					}
					continue
				}
				found = true
				if pr.Path != want {
					t.Errorf("%s: path %q, want %q", pr.Kind, pr.Path, want)
				}
				js, _ := json.Marshal(pr)
				if has := strings.Contains(string(js), `"path":`); has != (want != "") {
					t.Errorf("JSON %s: path shown %v, want %v", js, has, want != "")
				}
			}
			if !found {
				t.Fatalf("no %s problem in %+v", tt.kind, f.Problems)
			}
		})
	}
}

// namesNew goes by the problem's Path, never by its wording: a hosts.toml
// naming a file the run creates is no obstacle, one naming another file
// is, whatever the messages say.
func TestNamesNewByPath(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "reg.example.com:5000")
	os.Mkdir(dir, 0o755)
	testenv.WriteFile(t, filepath.Join(dir, "client.cert"), []byte("theirs"), 0o644)
	fr := &FolderResult{Root: filepath.Dir(dir), Registry: "reg.example.com:5000", Dir: dir,
		Files: []FileChange{{Name: "ca.crt", Action: Create}, {Name: "client.cert", Action: Keep}, {Name: "client.key", Action: Create}}}
	says := func(path string) string {
		return "names the CA file " + path + ", which containerd cannot read: no such file or directory"
	}
	tests := []struct {
		name string
		p    Problem
		want bool
	}{
		{"a file the run creates", Problem{Kind: KindHostsTOMLUnreadableFile, File: HostsFile, Path: filepath.Join(dir, "ca.crt"), Message: "reworded"}, true},
		{"the key the run creates", Problem{Kind: KindHostsTOMLUnreadableFile, File: HostsFile, Path: filepath.Join(dir, "client.key"), Message: says(filepath.Join(dir, "gone.crt"))}, true},
		{"another file, though the message names a new one", Problem{Kind: KindHostsTOMLUnreadableFile, File: HostsFile, Path: filepath.Join(dir, "gone.crt"), Message: says(filepath.Join(dir, "ca.crt"))}, false},
		{"a file the run keeps", Problem{Kind: KindHostsTOMLUnreadableFile, File: HostsFile, Path: filepath.Join(dir, "client.cert")}, false},
		{"a file of that name elsewhere", Problem{Kind: KindHostsTOMLUnreadableFile, File: HostsFile, Path: filepath.Join(t.TempDir(), "ca.crt")}, false},
		{"another kind", Problem{Kind: KindHostsTOMLBadPair, File: HostsFile, Path: filepath.Join(dir, "ca.crt")}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := fr.namesNew(tt.p); got != tt.want {
				t.Errorf("namesNew = %v, want %v", got, tt.want)
			}
		})
	}
}
