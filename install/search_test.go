package install

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/containerd/containerd/v2/core/remotes/docker/config"

	"github.com/certkit/certkit/internal/testenv"
)

// ContainerdSearch is containerd's order (certsd.md §2): the roots in
// config_path order, in each host_port_, host:port, then _default.
func TestContainerdSearch(t *testing.T) {
	tests := []struct {
		reg   string
		roots []string
		want  []string
	}{
		{"reg.example.com:5000", []string{"/c"}, []string{"/c/reg.example.com_5000_", "/c/reg.example.com:5000", "/c/_default"}},
		{"reg.example.com", []string{"/c"}, []string{"/c/reg.example.com", "/c/_default"}},
		{"[fd00::1]:5000", []string{"/c"}, []string{"/c/[fd00::1]_5000_", "/c/[fd00::1]:5000", "/c/_default"}},
		{"reg.example.com:5000", []string{"/etc/containerd/certs.d", "/etc/docker/certs.d"}, []string{
			"/etc/containerd/certs.d/reg.example.com_5000_", "/etc/containerd/certs.d/reg.example.com:5000", "/etc/containerd/certs.d/_default",
			"/etc/docker/certs.d/reg.example.com_5000_", "/etc/docker/certs.d/reg.example.com:5000", "/etc/docker/certs.d/_default"}},
		{"reg.example.com:5000", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.reg+" in "+strings.Join(tt.roots, ","), func(t *testing.T) {
			if got := ContainerdSearch(tt.roots, mustParse(t, tt.reg)); !slices.Equal(got, tt.want) {
				t.Errorf("ContainerdSearch = %q, want %q", got, tt.want)
			}
		})
	}
}

// The folder ContainerdSearch and FirstExisting pick in a certs root is
// the one containerd's own lookup (config.HostDirFromRoot) finds, for
// every set of the folders it tries; and across roots, the first root
// where containerd finds one decides.
func TestContainerdSearchOracle(t *testing.T) {
	for _, name := range []string{"reg.example.com:5000", "reg.example.com", "[fd00::1]:5000"} {
		reg := mustParse(t, name)
		cands := ContainerdSearch([]string{"X"}, reg)
		for set := range 1 << len(cands) {
			base := t.TempDir()
			roots := []string{filepath.Join(base, "containerd"), filepath.Join(base, "docker")}
			var made []string
			for i, c := range cands {
				if set&(1<<i) != 0 {
					made = append(made, filepath.Base(c))
					// in the first root, and always in the second, which
					// only counts when the first has none
					os.MkdirAll(filepath.Join(roots[0], filepath.Base(c)), 0o755)
				}
			}
			os.MkdirAll(filepath.Join(roots[1], reg.String()), 0o755)
			search := ContainerdSearch(roots, reg)
			i, err := FirstExisting(search)
			if err != nil {
				t.Fatal(err)
			}
			var want string
			for _, r := range roots {
				// "" and ErrNotFound when the root has none of them
				if d, _ := config.HostDirFromRoot(r)(name); d != "" {
					want = d
					break
				}
			}
			if i < 0 || search[i] != want {
				t.Errorf("%s with %q: picked %d of %q, containerd reads %s", name, made, i, search, want)
			}
		}
	}
}

// PodmanSearch is containers/image's order: ~/.config/containers/certs.d
// of whoever runs podman (its home, even under sudo), then
// /etc/containers/certs.d, then /etc/docker/certs.d; the folder certkit
// installs for the podman target is among them.
func TestPodmanSearch(t *testing.T) {
	env := func(home string, euid int, vars map[string]string) RootEnv {
		return RootEnv{
			Getenv: func(k string) string { return vars[k] },
			HomeDir: func() (string, error) {
				if home == "" {
					return "", errors.New("no home")
				}
				return home, nil
			},
			LookupUser: func(string) (string, error) { return "/home/alice", nil },
			Geteuid:    func() int { return euid },
		}
	}
	const sys, dkr = "/etc/containers/certs.d/reg.example.com:5000", "/etc/docker/certs.d/reg.example.com:5000"
	tests := []struct {
		name string
		env  RootEnv
		want []string
	}{
		{"a user", env("/home/alice", 1000, nil), []string{"/home/alice/.config/containers/certs.d/reg.example.com:5000", sys, dkr}},
		{"root", env("/root", 0, nil), []string{"/root/.config/containers/certs.d/reg.example.com:5000", sys, dkr}},
		// podman run with sudo reads root's home, not the invoking user's
		{"sudo", env("/root", 0, map[string]string{"SUDO_USER": "alice"}), []string{"/root/.config/containers/certs.d/reg.example.com:5000", sys, dkr}},
		{"no home", env("", 1000, nil), []string{sys, dkr}},
	}
	reg := mustParse(t, "reg.example.com:5000")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := PodmanSearch(tt.env, reg)
			if !slices.Equal(got, tt.want) {
				t.Errorf("PodmanSearch = %q, want %q", got, tt.want)
			}
			if r, err := ResolveRoot(Podman, tt.env); err == nil && !slices.Contains(got, r.Folder(reg)) {
				t.Errorf("PodmanSearch = %q lacks %s, where certkit installs for podman", got, r.Folder(reg))
			}
		})
	}
}

// FirstExisting passes over folders that do not exist or may not be
// looked into, follows links, and stops at any other failure.
func TestFirstExisting(t *testing.T) {
	base := t.TempDir()
	dir := filepath.Join(base, "dir")
	file := filepath.Join(base, "file")
	link := filepath.Join(base, "link")
	dangling := filepath.Join(base, "dangling")
	os.Mkdir(dir, 0o755)
	os.WriteFile(file, nil, 0o644)
	os.Symlink(dir, link)
	os.Symlink(filepath.Join(base, "nothing"), dangling)
	missing := filepath.Join(base, "missing")
	tests := []struct {
		name    string
		search  []string
		want    int
		wantErr bool
	}{
		{"none", []string{missing, dangling}, -1, false},
		{"the first that exists", []string{missing, dir, link}, 1, false},
		{"a link to a folder", []string{dangling, link, dir}, 1, false},
		{"a failure ends the search", []string{missing, filepath.Join(file, "x"), dir}, 1, true},
		{"empty", nil, -1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := FirstExisting(tt.search)
			if got != tt.want || (err != nil) != tt.wantErr {
				t.Errorf("FirstExisting = %d, %v; want %d, error %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

// ShadowMove moves a shadow folder out of its certs root, beside it, to a
// free name: pasted, it never overwrites a name nor moves the folder into
// another, and no runtime reads the folder afterwards.
func TestShadowMove(t *testing.T) {
	base := t.TempDir()
	root := filepath.Join(base, "certs.d")
	shadow := filepath.Join(root, "[fd00::1]_5000_")
	os.MkdirAll(shadow, 0o755)
	os.WriteFile(filepath.Join(shadow, "ca.crt"), []byte("theirs"), 0o644)
	if got, want := ShadowMove(shadow), "mv '"+shadow+"' '"+filepath.Join(base, "[fd00::1]_5000_.certkit-old")+"'"; got != want {
		t.Errorf("ShadowMove = %s, want %s", got, want)
	}
	// the name is taken: the next free one
	os.Mkdir(filepath.Join(base, "[fd00::1]_5000_.certkit-old"), 0o755)
	os.WriteFile(filepath.Join(base, "[fd00::1]_5000_.certkit-old2"), nil, 0o644)
	cmd := ShadowMove(shadow + "/")
	if !strings.HasSuffix(cmd, "_5000_.certkit-old3'") {
		t.Errorf("ShadowMove = %s, want the free name [fd00::1]_5000_.certkit-old3", cmd)
	}
	runShell(t, cmd)
	if exists(shadow) || !exists(filepath.Join(base, "[fd00::1]_5000_.certkit-old3", "ca.crt")) {
		t.Errorf("after %s: %s", cmd, names(snapshot(t, base)))
	}
	if entries, _ := os.ReadDir(filepath.Join(base, "[fd00::1]_5000_.certkit-old")); len(entries) != 0 {
		t.Errorf("the move went into the taken name")
	}
	if regs, err := Registries(root); err != nil || len(regs) != 0 {
		t.Errorf("the certs root still lists %v, %v", regs, err)
	}
}

// ContainerdConfigPath is the containerd root, then Docker's, and agrees
// with the roots install writes and with Docker's Root.ContainerdFirst.
func TestContainerdConfigPath(t *testing.T) {
	env := RootEnv{Getenv: func(string) string { return "" }, HomeDir: func() (string, error) { return "/home/alice", nil }, Geteuid: func() int { return 1000 }}
	c, err := ResolveRoot(Containerd, env)
	if err != nil {
		t.Fatal(err)
	}
	d, err := ResolveRoot(Docker, env)
	if err != nil {
		t.Fatal(err)
	}
	got := ContainerdConfigPath()
	if want := []string{c.Dir, d.Dir}; !slices.Equal(got, want) {
		t.Errorf("ContainerdConfigPath = %q, want %q", got, want)
	}
	if !slices.Equal(d.ContainerdFirst, got[:1]) {
		t.Errorf("Docker's root: ContainerdFirst %q, want the config_path roots before it, %q", d.ContainerdFirst, got[:1])
	}
}

// CertkitFolder is a folder named after the registry whose manifest is
// certkit's for it, with files; its other files are not read.
func TestCertkitFolder(t *testing.T) {
	reg := mustParse(t, "reg.example.com:5000")
	base := t.TempDir()
	manifest := func(registry string, files ...string) []byte {
		m := &Manifest{Version: manifestVersion, Registry: registry}
		for _, f := range files {
			m.Files = append(m.Files, ManifestEntry{Name: f, SHA256: sum(nil)})
		}
		return m.encode()
	}
	tests := []struct {
		name, dir string
		manifest  []byte // nil: none
		want      bool
	}{
		{"certkit's", "reg.example.com:5000", manifest("reg.example.com:5000", "ca.crt"), true},
		{"another name", "reg.example.com_5000_", manifest("reg.example.com:5000", "ca.crt"), false},
		{"no manifest", "reg.example.com:5000", nil, false},
		{"another registry's manifest", "reg.example.com:5000", manifest("reg.example.com", "ca.crt"), false},
		{"a manifest of nothing", "reg.example.com:5000", manifest("reg.example.com:5000"), false},
		{"not a manifest", "reg.example.com:5000", []byte("{"), false},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(base, strconv.Itoa(i), tt.dir)
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			// a file no loader can read is not looked at
			testenv.WriteFile(t, filepath.Join(dir, "ca.crt"), []byte("not PEM"), 0o644)
			if tt.manifest != nil {
				testenv.WriteFile(t, filepath.Join(dir, ManifestFile), tt.manifest, 0o644)
			}
			if got := CertkitFolder(dir, reg); got != tt.want {
				t.Errorf("CertkitFolder = %v, want %v", got, tt.want)
			}
		})
	}
}
