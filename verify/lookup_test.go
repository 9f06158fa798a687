package verify

import (
	"context"
	"crypto/x509"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/certkit/certkit/ca"
	"github.com/certkit/certkit/host"
	"github.com/certkit/certkit/install"
	"github.com/certkit/certkit/issue"
)

// podmanRoots lays out podman's three certs roots under a temporary
// folder, in the order podman searches them: ~/.config/containers/certs.d,
// /etc/containers/certs.d, /etc/docker/certs.d.
func podmanRoots(t *testing.T) []string {
	t.Helper()
	base := t.TempDir()
	return []string{
		filepath.Join(base, "home", ".config", "containers", "certs.d"),
		filepath.Join(base, "etc", "containers", "certs.d"),
		filepath.Join(base, "etc", "docker", "certs.d"),
	}
}

// podman, skopeo and buildah read the first of their three folders that
// exists, and only that one: verify checks that folder, says which it is,
// and warns when it hides the one certkit installed.
func TestVerifyPodmanSearch(t *testing.T) {
	t.Parallel()
	root := newCA(t, "certkit CA podman")
	client := root.issue(t, leafOpts{cn: "client"})
	caKey, err := ca.MarshalKey(root.key)
	if err != nil {
		t.Fatal(err)
	}
	reg, _ := host.Parse("reg.example.com:5000")
	good := map[string][]byte{"ca.crt": ca.EncodeCert(root.cert), "client.cert": certPEM(client), "client.key": keyPEM(t, client)}
	// a leftover that podman refuses: a CA key without a certificate
	leftover := map[string][]byte{"ca.crt": ca.EncodeCert(root.cert), "ca.key": caKey}

	const (
		user    = 0 // ~/.config/containers/certs.d
		etc     = 1 // /etc/containers/certs.d
		docker  = 2 // /etc/docker/certs.d
		nowhere = -1
	)
	tests := []struct {
		name    string
		folders map[int]map[string][]byte
		own     int // where certkit installs: etc as root, user otherwise
		read    int // the folder podman reads
		status  Status
		kind    string
		message []string // {0}, {1}, {2} stand for the three folders
	}{
		{"as root, only the folder certkit installed", map[int]map[string][]byte{etc: good}, etc, etc, OK, "",
			[]string{"podman, skopeo and buildah read {1}: the first that exists of {0}, {1} and {2}"}},
		{"as root, a leftover in the home hides the folder certkit installed", map[int]map[string][]byte{user: leftover, etc: good}, etc, user, Warning, "shadowed",
			[]string{"read {0}, not {1} where certkit installs", "so {0} hides {1}"}},
		{"as root, no podman folder, the Docker one is read", map[int]map[string][]byte{docker: good}, etc, docker, OK, "",
			[]string{"read {2}: {1}, where certkit installs, does not exist, and {2} is the first that exists"}},
		{"as a user, no folder in the home, the system one is read", map[int]map[string][]byte{etc: good}, user, etc, OK, "",
			[]string{"read {1}: {0}, where certkit installs, does not exist"}},
		{"as root, one in the home, none where certkit installs", map[int]map[string][]byte{user: good}, etc, user, OK, "",
			[]string{"read {0}: {1}, where certkit installs, does not exist", "a folder installed at {1} would stay hidden behind it"}},
		{"none at all", nil, etc, nowhere, Error, "no-folder",
			[]string{"none of {0}, {1} and {2} exists: podman, skopeo and buildah trust no extra CA"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var search []string
			for _, r := range podmanRoots(t) {
				search = append(search, filepath.Join(r, reg.String()))
			}
			for i, files := range tt.folders {
				writeFolder(t, search[i], files)
			}
			subst := strings.NewReplacer("{0}", search[0], "{1}", search[1], "{2}", search[2])
			opt := Options{Registry: reg, Dir: search[tt.own], Target: install.Podman, Search: search, Offline: true}
			rep := Verify(context.Background(), opt)

			if tt.read == nowhere {
				c := expect(t, rep, "folder", tt.status, tt.kind)
				for _, m := range tt.message {
					contains(t, "message", c.Message, subst.Replace(m))
				}
				expectNo(t, rep, "lookup")
				return
			}
			c := expect(t, rep, "lookup", tt.status, tt.kind)
			for _, m := range tt.message {
				contains(t, "message", c.Message, subst.Replace(m))
			}
			if tt.kind == "shadowed" {
				contains(t, "fix", c.Fix, "mv "+search[user]+" ", "certkit install --host "+reg.String()+" --target podman --certs-dir "+filepath.Dir(search[user]))
			}
			if rep.Dir != search[tt.read] {
				t.Errorf("report dir %s, want the folder podman reads, %s", rep.Dir, search[tt.read])
			}
			if want := search[tt.own]; tt.read != tt.own && rep.InstallDir != want {
				t.Errorf("install dir %q, want %s", rep.InstallDir, want)
			}
			// the folder checks are those of the folder podman reads
			f := expect(t, rep, "folder", map[bool]Status{true: Error, false: OK}[tt.folders[tt.read]["ca.key"] != nil], "")
			contains(t, "folder message", f.Message, search[tt.read]+":")
			for _, c := range rep.Checks {
				if strings.Contains(c.Message, "send it no client certificate") {
					t.Errorf("%s says no certificate is sent, yet podman reads %s: %s", c.ID, search[tt.read], c.Message)
				}
			}
		})
	}
}

// An empty folder that podman reads first (as root, in root's home) hides
// the folder certkit installs: the fix installs into the folder podman
// reads, not into the hidden one.
func TestVerifyPodmanEmptyFolderFirst(t *testing.T) {
	t.Parallel()
	reg, _ := host.Parse("reg.example.com:5000")
	roots := podmanRoots(t)
	var search []string
	for _, r := range roots {
		search = append(search, filepath.Join(r, reg.String()))
	}
	writeFolder(t, search[0], nil)
	rep := Verify(context.Background(), Options{Registry: reg, Dir: search[1], Target: install.Podman, Search: search, Offline: true})
	c := expect(t, rep, "folder", Warning, "empty-folder")
	contains(t, "message", c.Message, search[0])
	contains(t, "fix", c.Fix, "certkit install --host "+reg.String()+" --target podman --certs-dir "+roots[0])
}

// Live, a leftover folder that podman reads first decides what it sends:
// here a pair from an old CA, which the registry refuses, while the folder
// certkit installed behind it would work.
func TestVerifyPodmanShadowLive(t *testing.T) {
	t.Parallel()
	old := newCA(t, "certkit CA old")
	cur := newCA(t, "certkit CA current")
	addr := startTLS(t, serverConfig(cur.server(t, regName), cur), registryAnswer)
	reg := target(t, addr, regName, nil).Registry
	stale := old.issue(t, leafOpts{cn: "client"})
	fresh := cur.issue(t, leafOpts{cn: "client"})
	var search []string
	for _, r := range podmanRoots(t) {
		search = append(search, filepath.Join(r, reg.String()))
	}
	writeFolder(t, search[0], map[string][]byte{"ca.crt": ca.EncodeCert(cur.cert), "client.cert": certPEM(stale), "client.key": keyPEM(t, stale)})
	writeFolder(t, search[1], map[string][]byte{"ca.crt": ca.EncodeCert(cur.cert), "client.cert": certPEM(fresh), "client.key": keyPEM(t, fresh)})
	opt := Options{Registry: reg, Dir: search[1], Target: install.Podman, Search: search, Addr: addr,
		Live: LiveOptions{Timeout: 10 * time.Second, Roots: x509.NewCertPool()}}
	rep := Verify(context.Background(), opt)
	expect(t, rep, "lookup", Warning, "shadowed")
	expect(t, rep, "client-cert-request", Error, "no-acceptable-pair")
	if !rep.Failed() || len(rep.Accepted) != 0 {
		t.Fatalf("the folder podman reads holds only a refused pair, yet:\n%s", dump(rep))
	}

	// without the leftover, podman reads certkit's folder, which works
	opt.Search = search[1:]
	if rep := Verify(context.Background(), opt); rep.Failed() {
		t.Fatalf("failed:\n%s", dump(rep))
	}
}

// containerd reads reg_5000_ before reg:5000 in its root.
func TestVerifyContainerdSearch(t *testing.T) {
	t.Parallel()
	certs := filepath.Join(t.TempDir(), "certs.d")
	r, err := install.CustomRoot(install.Containerd, certs)
	if err != nil {
		t.Fatal(err)
	}
	reg, _ := host.Parse("reg.example.com:5000")
	search := Lookup(r, reg, nil)
	writeFolder(t, filepath.Join(certs, "reg.example.com_5000_"), map[string][]byte{"README": []byte("left over")})
	rep := Verify(context.Background(), Options{Registry: reg, Dir: r.Folder(reg), Target: install.Containerd, Search: search, Offline: true})
	c := expect(t, rep, "lookup", OK, "")
	contains(t, "message", c.Message, "containerd reads "+filepath.Join(certs, "reg.example.com_5000_")+":")
	expect(t, rep, "folder", Warning, "empty-folder")

	writeFolder(t, r.Folder(reg), map[string][]byte{"README": []byte("certkit's")})
	rep = Verify(context.Background(), Options{Registry: reg, Dir: r.Folder(reg), Target: install.Containerd, Search: search, Offline: true})
	c = expect(t, rep, "lookup", Warning, "shadowed")
	contains(t, "message", c.Message, "containerd reads "+filepath.Join(certs, "reg.example.com_5000_")+", not "+r.Folder(reg), "it takes the first")
}

// Lookup is the consumers' search order, with install's roots.
func TestLookup(t *testing.T) {
	t.Parallel()
	reg, _ := host.Parse("reg.example.com:5000")
	env := func(home string, euid int, vars map[string]string) install.RootEnv {
		return install.RootEnv{
			Getenv:     func(k string) string { return vars[k] },
			HomeDir:    func() (string, error) { return home, nil },
			LookupUser: func(string) (string, error) { return "/home/alice", nil },
			Geteuid:    func() int { return euid },
		}
	}
	podman := []string{".config/containers/certs.d/reg.example.com:5000", "/etc/containers/certs.d/reg.example.com:5000", "/etc/docker/certs.d/reg.example.com:5000"}
	tests := []struct {
		name   string
		target install.Target
		env    install.RootEnv
		custom string // --certs-dir
		want   []string
	}{
		{"podman as a user", install.Podman, env("/home/alice", 1000, nil), "",
			[]string{"/home/alice/" + podman[0], podman[1], podman[2]}},
		// podman run as root looks in root's own ~/.config first
		{"podman as root", install.Podman, env("/root", 0, nil), "",
			[]string{"/root/" + podman[0], podman[1], podman[2]}},
		{"podman under sudo", install.Podman, env("/root", 0, map[string]string{"SUDO_USER": "alice"}), "",
			[]string{"/root/" + podman[0], podman[1], podman[2]}},
		{"podman with --certs-dir", install.Podman, env("/home/alice", 1000, nil), "/x/certs.d",
			[]string{"/x/certs.d/reg.example.com:5000"}},
		{"docker", install.Docker, env("/home/alice", 1000, nil), "",
			[]string{"/etc/docker/certs.d/reg.example.com:5000"}},
		// containerd's config_path: /etc/containerd/certs.d, then
		// /etc/docker/certs.d; in each, host_port_, host:port, _default
		{"containerd", install.Containerd, env("/home/alice", 1000, nil), "",
			[]string{"/etc/containerd/certs.d/reg.example.com_5000_", "/etc/containerd/certs.d/reg.example.com:5000", "/etc/containerd/certs.d/_default",
				"/etc/docker/certs.d/reg.example.com_5000_", "/etc/docker/certs.d/reg.example.com:5000", "/etc/docker/certs.d/_default"}},
		{"containerd with --certs-dir", install.Containerd, env("/home/alice", 1000, nil), "/x/certs.d",
			[]string{"/x/certs.d/reg.example.com_5000_", "/x/certs.d/reg.example.com:5000", "/x/certs.d/_default"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			roots, err := install.Roots([]install.Target{tt.target}, tt.custom, tt.env)
			if err != nil {
				t.Fatal(err)
			}
			e := &tt.env
			if tt.custom != "" {
				e = nil
			}
			got := Lookup(roots[0], reg, e)
			if !slices.Equal(got, tt.want) {
				t.Errorf("Lookup = %q, want %q", got, tt.want)
			}
			if !slices.Contains(got, roots[0].Folder(reg)) {
				t.Errorf("Lookup = %q lacks the folder certkit installs, %s", got, roots[0].Folder(reg))
			}
		})
	}
}

// The folder name must match the image reference exactly (certsd.md §1,
// §4): a missing folder names the sibling that was probably meant, and
// the fix.
func TestVerifyNearMissFolders(t *testing.T) {
	t.Parallel()
	tests := []struct {
		want, sibling string
		message, fix  []string // {root} stands for the certs root
	}{
		{"reg.example.com:5000", "Reg.Example.com:5000",
			[]string{"{root}/Reg.Example.com:5000 exists, differing only in case", "reg.example.com:5000/IMAGE reads {root}/reg.example.com:5000 and never"},
			[]string{"rename it: mv {root}/Reg.Example.com:5000 {root}/reg.example.com:5000", "certkit install --host reg.example.com:5000"}},
		{"reg.example.com:5000", "reg.example.com",
			[]string{"{root}/reg.example.com exists, without the port: a pull of reg.example.com:5000/IMAGE reads {root}/reg.example.com:5000"},
			[]string{"certkit install --host reg.example.com:5000", "mv {root}/reg.example.com {root}/reg.example.com:5000"}},
		{"reg.example.com:5000", "reg.example.com_5000_",
			[]string{"{root}/reg.example.com_5000_ exists, containerd's spelling of reg.example.com:5000", "Docker and podman never do"},
			[]string{"certkit install --host reg.example.com:5000", "mv {root}/reg.example.com_5000_ {root}/reg.example.com:5000"}},
		{"reg.example.com:5000", "reg.example.com:5001",
			[]string{"{root}/reg.example.com:5001 exists, for port 5001"},
			[]string{"if the registry listens on port 5001, check that folder: certkit verify --host reg.example.com:5001; otherwise certkit install --host reg.example.com:5000"}},
		// Docker: reg and reg:443 are different folders
		{"reg.example.com:443", "reg.example.com",
			[]string{"{root}/reg.example.com exists, without :443", "a pull of reg.example.com:443/IMAGE reads {root}/reg.example.com:443, one of reg.example.com/IMAGE reads {root}/reg.example.com"},
			[]string{"certkit verify --host reg.example.com;", "if they keep :443, certkit install --host reg.example.com:443"}},
		{"reg.example.com", "reg.example.com:443",
			[]string{"{root}/reg.example.com:443 exists, with :443", "a pull of reg.example.com/IMAGE reads {root}/reg.example.com, only reg.example.com:443/IMAGE reads {root}/reg.example.com:443"},
			[]string{"certkit verify --host reg.example.com:443", "certkit install --host reg.example.com", "mv {root}/reg.example.com:443 {root}/reg.example.com"}},
		{"[fd00::1]:5000", "[FD00::1]:5000",
			[]string{"{root}/[FD00::1]:5000 exists, differing only in case"},
			[]string{"mv '{root}/[FD00::1]:5000' '{root}/[fd00::1]:5000'"}},
	}
	for _, tt := range tests {
		t.Run(tt.want+" beside "+tt.sibling, func(t *testing.T) {
			t.Parallel()
			root := filepath.Join(t.TempDir(), "certs.d")
			writeFolder(t, filepath.Join(root, tt.sibling), map[string][]byte{"README": nil})
			writeFolder(t, filepath.Join(root, "other.example.com:5000"), map[string][]byte{"README": nil})
			reg, err := host.Parse(tt.want)
			if err != nil {
				t.Fatal(err)
			}
			rep := Verify(context.Background(), Options{Registry: reg, Dir: filepath.Join(root, reg.String()), Offline: true})
			c := expect(t, rep, "folder", Error, "misnamed-folder")
			sub := strings.NewReplacer("{root}", root)
			contains(t, "message", c.Message, filepath.Join(root, reg.String())+" does not exist")
			for _, m := range tt.message {
				contains(t, "message", c.Message, sub.Replace(m))
			}
			for _, f := range tt.fix {
				contains(t, "fix", c.Fix, sub.Replace(f))
			}
			if strings.Contains(c.Message, "other.example.com") {
				t.Errorf("an unrelated folder is named: %s", c.Message)
			}
		})
	}

	// the suggested commands name the certs root checked
	{
		root := filepath.Join(t.TempDir(), "certs.d")
		writeFolder(t, filepath.Join(root, "reg.example.com:443"), map[string][]byte{"README": nil})
		reg, _ := host.Parse("reg.example.com")
		rep := Verify(context.Background(), Options{Registry: reg, Dir: filepath.Join(root, reg.String()), Target: install.Podman, CertsDir: root, Offline: true})
		c := expect(t, rep, "folder", Error, "misnamed-folder")
		flags := " --target podman --certs-dir " + root
		contains(t, "fix", c.Fix, "certkit verify --host reg.example.com:443"+flags+";", "certkit install --host reg.example.com"+flags+",")
	}

	// only unrelated folders: nothing to suggest
	root := filepath.Join(t.TempDir(), "certs.d")
	writeFolder(t, filepath.Join(root, "other.example.com:5000"), map[string][]byte{"README": nil})
	reg, _ := host.Parse("reg.example.com:5000")
	rep := Verify(context.Background(), Options{Registry: reg, Dir: filepath.Join(root, reg.String()), Offline: true})
	expect(t, rep, "folder", Error, "no-folder")
}

// A folder the runtimes refuse to load (a stray CA key: certsd.md §1)
// fails every pull before any connection; the live checks must not present
// a pair as what Docker sends, and the report fails whatever the registry
// accepts.
func TestVerifyRefusedFolderLive(t *testing.T) {
	t.Parallel()
	root := newCA(t, "certkit CA refused")
	addr := startTLS(t, serverConfig(root.server(t, regName), root), registryAnswer)
	reg := target(t, addr, regName, nil).Registry
	client := root.issue(t, leafOpts{cn: "client"})
	caKey, err := ca.MarshalKey(root.key)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "certs.d", reg.String())
	writeFolder(t, dir, map[string][]byte{"ca.crt": ca.EncodeCert(root.cert), "client.cert": certPEM(client), "client.key": keyPEM(t, client)})
	opt := Options{Registry: reg, Dir: dir, Addr: addr, Live: LiveOptions{Timeout: 10 * time.Second, Roots: x509.NewCertPool()}}
	if rep := Verify(context.Background(), opt); rep.Failed() || rep.WillSend != "client" {
		t.Fatalf("the good folder failed:\n%s", dump(rep))
	}

	writeFolder(t, dir, map[string][]byte{"ca.key": caKey})
	rep := Verify(context.Background(), opt)
	if !rep.Failed() {
		t.Fatalf("passed:\n%s", dump(rep))
	}
	c := expect(t, rep, "loader", Error, "folder-refused")
	contains(t, "message", c.Message, "Docker and podman refuse to load "+dir, "missing client certificate ca.cert for key ca.key", "fails before they connect")
	// the registry's side is still checked, but nothing is "sent"
	c = expect(t, rep, "client-cert-request", OK, "")
	contains(t, "message", c.Message, "client.cert is the pair Docker would send once the folder loads")
	c = expect(t, rep, "pair:client", OK, "")
	contains(t, "message", c.Message, "client.cert (the pair Docker would send once the folder loads): accepted")
	for _, c := range rep.Checks {
		if strings.Contains(c.Message, "Docker sends client.cert") || strings.Contains(c.Message, "the pair Docker sends") {
			t.Errorf("%s presents a pair as sent by Docker: %s", c.ID, c.Message)
		}
	}
	if rep.WillSend != "" || rep.Pairs[0].Sent {
		t.Errorf("will send %q, pairs %+v: nothing is sent from a refused folder", rep.WillSend, rep.Pairs)
	}
	// the live part starts with it, after the folder's checks
	var ids []string
	for _, c := range rep.Checks {
		ids = append(ids, c.ID)
	}
	if i := slices.Index(ids, "loader"); i < 1 || ids[i-1] != "file:ca.key" {
		t.Errorf("checks in order %v: want loader right after the folder's", ids)
	}
}

// The folder line sums up the folder's problems: its status is the worst
// of theirs, its message counts them, and the report's totals (and its
// JSON) count each problem once.
func TestVerifyFolderSummary(t *testing.T) {
	t.Parallel()
	root := newCA(t, "certkit CA summary")
	reg, _ := host.Parse("reg.example.com:5000")
	good := root.issue(t, leafOpts{cn: "good"})
	soon := root.issue(t, leafOpts{cn: "soon", notAfter: time.Now().Add(5 * 24 * time.Hour)})
	tests := []struct {
		name           string
		files          map[string][]byte
		status         Status
		summary        bool
		message        string
		errors, warned int
	}{
		{"clean", map[string][]byte{"ca.crt": ca.EncodeCert(root.cert), "client.cert": certPEM(good), "client.key": keyPEM(t, good)},
			OK, false, "1 client pair (client)", 0, 0},
		{"a warning", map[string][]byte{"ca.crt": ca.EncodeCert(root.cert), "c.cert": certPEM(soon), "c.key": keyPEM(t, soon)},
			Warning, true, "1 client pair (c); 0 errors, 1 warning below", 0, 1},
		{"refused", map[string][]byte{"ca.crt": ca.EncodeCert(root.cert), "client.cert": certPEM(good), "client.key": keyPEM(t, good),
			"c.cert": certPEM(soon), "c.key": keyPEM(t, soon), "laptop.cert": certPEM(good)},
			Error, true, "2 client pairs (c and client); Docker and podman refuse to load it: 1 error, 1 warning below", 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), reg.String())
			writeFolder(t, dir, tt.files)
			rep := Verify(context.Background(), Options{Registry: reg, Dir: dir, Offline: true})
			c := expect(t, rep, "folder", tt.status, "")
			contains(t, "message", c.Message, tt.message)
			if c.Summary != tt.summary {
				t.Errorf("summary %v, want %v", c.Summary, tt.summary)
			}
			if tt.summary && c.Fix == "" {
				t.Errorf("a folder line with problems and no fix")
			}
			if rep.Errors != tt.errors || rep.Warnings != tt.warned {
				t.Errorf("%d errors, %d warnings; want %d, %d:\n%s", rep.Errors, rep.Warnings, tt.errors, tt.warned, dump(rep))
			}
			js := dump(rep)
			for _, want := range []string{
				fmt.Sprintf(`"errors": %d`, tt.errors), fmt.Sprintf(`"warnings": %d`, tt.warned),
				fmt.Sprintf(`"status": %q`, tt.status),
			} {
				contains(t, "JSON", js, want)
			}
		})
	}
}

// containerd reads /etc/docker/certs.d after /etc/containerd/certs.d:
// install.ContainerdLookup, which verify's check of containerd's search
// calls with the root, gives its search for Docker's root (named with
// --certs-dir too), and nothing for a root containerd does not read.
func TestContainerdLookup(t *testing.T) {
	t.Parallel()
	reg, _ := host.Parse("reg.example.com:5000")
	env := install.RootEnv{
		Getenv:  func(string) string { return "" },
		HomeDir: func() (string, error) { return "/home/alice", nil },
		Geteuid: func() int { return 0 },
	}
	want := []string{"/etc/containerd/certs.d/reg.example.com_5000_", "/etc/containerd/certs.d/reg.example.com:5000", "/etc/containerd/certs.d/_default",
		"/etc/docker/certs.d/reg.example.com_5000_", "/etc/docker/certs.d/reg.example.com:5000", "/etc/docker/certs.d/_default"}
	tests := []struct {
		name   string
		target install.Target
		custom string
		want   []string
	}{
		{"docker", install.Docker, "", want},
		{"docker's root with --certs-dir", install.Docker, "/etc/docker/certs.d", want},
		{"another root with --certs-dir", install.Docker, "/x/certs.d", nil},
		{"podman", install.Podman, "", nil},

		{"docker-rootless", install.DockerRootless, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			roots, err := install.Roots([]install.Target{tt.target}, tt.custom, env)
			if err != nil {
				t.Fatal(err)
			}
			if got, _, _, _ := install.ContainerdLookup(roots[0], reg); !slices.Equal(got, tt.want) {
				t.Errorf("ContainerdLookup = %q, want %q", got, tt.want)
			}
		})
	}
}

// containerd (CRI) searches its roots in order, /etc/containerd/certs.d
// then /etc/docker/certs.d, and in each the first of host_port_,
// host:port and _default; the first root with one of them wins. verify
// --target containerd checks that folder, and verify --target docker
// warns when containerd finds one before Docker's.
func TestVerifyContainerdRoots(t *testing.T) {
	t.Parallel()
	root := newCA(t, "certkit CA containerd")
	client := root.issue(t, leafOpts{cn: "client"})
	reg, _ := host.Parse("reg.example.com:5000")
	good := map[string][]byte{"ca.crt": ca.EncodeCert(root.cert), "client.cert": certPEM(client), "client.key": keyPEM(t, client)}
	other := map[string][]byte{"README": []byte("another folder")}

	// {c} and {d} stand for containerd's and Docker's certs roots
	tests := []struct {
		name    string
		target  install.Target
		folders []string // created under the roots; {d}/reg.example.com:5000 gets good files
		read    string   // the folder containerd reads
		status  Status
		kind    string
		message []string
		fix     []string
	}{
		// --target docker: Docker reads {d}/reg:5000; containerd may not
		{"docker, containerd reads the same folder", install.Docker,
			[]string{"{d}/reg.example.com:5000", "{d}/_default"}, "", OK, "", nil, nil},
		{"docker, _default in containerd's root", install.Docker,
			[]string{"{d}/reg.example.com:5000", "{c}/_default"}, "{c}/_default", Warning, "shadowed",
			[]string{"containerd reads {c}/_default, not {d}/reg.example.com:5000 where certkit installs", "so {c}/_default hides {d}/reg.example.com:5000", "(Docker itself reads {d}/reg.example.com:5000)"},
			[]string{"{c}/_default is containerd's folder for every registry without one of its own in {c}", "certkit install --host reg.example.com:5000 --target containerd --certs-dir {c};", "mv {c}/_default {c}/../_default.certkit-old"}},
		{"docker, the registry's folder in containerd's root", install.Docker,
			[]string{"{d}/reg.example.com:5000", "{c}/reg.example.com:5000"}, "{c}/reg.example.com:5000", Warning, "shadowed",
			[]string{"containerd reads {c}/reg.example.com:5000, not {d}/reg.example.com:5000"},
			[]string{"mv {c}/reg.example.com:5000 {c}/../reg.example.com:5000.certkit-old", "if it is the folder you want, install into it: certkit install --host reg.example.com:5000 --target containerd --certs-dir {c}"}},
		// certkit's own containerd folder is the one containerd should read
		{"docker, certkit's folder in containerd's root", install.Docker,
			[]string{"{d}/reg.example.com:5000", "certkit:{c}/reg.example.com:5000"}, "{c}/reg.example.com:5000", OK, "",
			[]string{"containerd reads {c}/reg.example.com:5000, the folder certkit installs for containerd, before {d}/reg.example.com:5000 (certkit verify --host reg.example.com:5000 --target containerd checks it)"}, nil},
		{"docker, containerd's spelling beside it", install.Docker,
			[]string{"{d}/reg.example.com:5000", "{d}/reg.example.com_5000_"}, "{d}/reg.example.com_5000_", Warning, "shadowed",
			[]string{"containerd reads {d}/reg.example.com_5000_, not {d}/reg.example.com:5000"},
			[]string{"mv {d}/reg.example.com_5000_ {d}/../reg.example.com_5000_.certkit-old (then containerd reads {d}/reg.example.com:5000)"}},
		// --target containerd: certkit installs {c}/reg:5000
		{"containerd falls back to Docker's root", install.Containerd,
			[]string{"{d}/reg.example.com:5000"}, "{d}/reg.example.com:5000", OK, "",
			[]string{"containerd reads {d}/reg.example.com:5000: {c}/reg.example.com:5000, where certkit installs, does not exist"}, nil},
		{"containerd stops at the first root with a match, _default", install.Containerd,
			[]string{"{d}/reg.example.com:5000", "{c}/_default"}, "{c}/_default", OK, "",
			[]string{"containerd reads {c}/_default: {c}/reg.example.com:5000, where certkit installs, does not exist"}, nil},
		{"containerd's own folder comes before _default", install.Containerd,
			[]string{"{c}/reg.example.com:5000", "{c}/_default", "{d}/reg.example.com:5000"}, "{c}/reg.example.com:5000", OK, "",
			[]string{"containerd reads {c}/reg.example.com:5000: the first that exists of reg.example.com_5000_, reg.example.com:5000 and _default in {c}, then reg.example.com_5000_, reg.example.com:5000 and _default in {d} (it reads one, never several)"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			base := t.TempDir()
			croot, droot := filepath.Join(base, "containerd", "certs.d"), filepath.Join(base, "docker", "certs.d")
			sub := strings.NewReplacer("{c}/../", filepath.Dir(croot)+"/", "{d}/../", filepath.Dir(droot)+"/", "{c}", croot, "{d}", droot)
			for _, f := range tt.folders {
				if f, ok := strings.CutPrefix(f, "certkit:"); ok {
					// installed by certkit, with its manifest
					r, err := install.CustomRoot(install.Containerd, filepath.Dir(sub.Replace(f)))
					if err != nil {
						t.Fatal(err)
					}
					installFolder(t, r, reg)
					continue
				}
				files := other
				if f == "{d}/reg.example.com:5000" || f == "{c}/reg.example.com:5000" {
					files = good
				}
				writeFolder(t, sub.Replace(f), files)
			}
			search := install.ContainerdSearch([]string{croot, droot}, reg)
			opt := Options{Registry: reg, Target: tt.target, Offline: true}
			id := "lookup"
			if tt.target == install.Docker {
				opt.Dir = filepath.Join(droot, reg.String())
				opt.Root = install.Root{Target: install.Docker, Dir: droot, ContainerdFirst: []string{croot}}
				id = "lookup:containerd"
			} else {
				opt.Dir = filepath.Join(croot, reg.String())
				opt.Search = search
			}
			rep := Verify(context.Background(), opt)
			if tt.read == "" {
				expectNo(t, rep, id)
				return
			}
			c := expect(t, rep, id, tt.status, tt.kind)
			for _, m := range tt.message {
				contains(t, "message", c.Message, sub.Replace(m))
			}
			for _, f := range tt.fix {
				contains(t, "fix", c.Fix, sub.Replace(f))
			}
			expectNo(t, rep, map[string]string{"lookup": "lookup:containerd", "lookup:containerd": "lookup"}[id])
			// --target docker checks Docker's folder; --target containerd
			// the one containerd reads
			want := opt.Dir
			if tt.target == install.Containerd {
				want = sub.Replace(tt.read)
			}
			if rep.Dir != want {
				t.Errorf("report dir %s, want %s", rep.Dir, want)
			}
			// an empty folder is containerd's, and so is the fix
			if f, _ := rep.Check("folder"); f.Kind == "empty-folder" && tt.target == install.Containerd {
				contains(t, "empty folder", f.Message, "containerd trusts only the system roots")
				contains(t, "empty folder fix", f.Fix, "certkit install --host reg.example.com:5000 --target containerd")
			}
		})
	}
}

// installFolder installs reg's folder into r from a new certkit home, as
// certkit install does (its manifest included).
func installFolder(t *testing.T, r install.Root, reg host.Registry) {
	t.Helper()
	p := newPKI(t, time.Now(), 0)
	if _, err := issue.Issue(issue.Options{Home: p.home, Registry: reg, Kind: issue.Client, CA: p.ca}); err != nil {
		t.Fatal(err)
	}
	if _, err := install.Install(install.Options{Home: p.home, Registries: []host.Registry{reg}, Roots: []install.Root{r}}); err != nil {
		t.Fatal(err)
	}
}

// The shadow folder's fix moves it out of the certs root with install's
// command (install.ShadowMove): to a free name, never into a folder that
// has the name already; pasted, containerd reads certkit's folder.
func TestVerifyShadowFixFreeName(t *testing.T) {
	t.Parallel()
	root := newCA(t, "certkit CA shadow")
	client := root.issue(t, leafOpts{cn: "client"})
	reg, _ := host.Parse("reg.example.com:5000")
	base := t.TempDir()
	croot, droot := filepath.Join(base, "containerd", "certs.d"), filepath.Join(base, "docker", "certs.d")
	dir, shadow := filepath.Join(droot, reg.String()), filepath.Join(droot, "reg.example.com_5000_")
	writeFolder(t, dir, map[string][]byte{"ca.crt": ca.EncodeCert(root.cert), "client.cert": certPEM(client), "client.key": keyPEM(t, client)})
	writeFolder(t, shadow, map[string][]byte{"README": []byte("left over")})
	taken := filepath.Join(base, "docker", "reg.example.com_5000_.certkit-old")
	writeFolder(t, taken, map[string][]byte{"README": []byte("moved aside before")})
	opt := Options{Registry: reg, Dir: dir, Target: install.Docker, Offline: true,
		Root: install.Root{Target: install.Docker, Dir: droot, ContainerdFirst: []string{croot}}}
	c := expect(t, Verify(context.Background(), opt), "lookup:containerd", Warning, "shadowed")
	mv := "mv " + shadow + " " + taken + "2"
	contains(t, "fix", c.Fix, mv+" (then containerd reads "+dir+")")
	if out, err := exec.Command("sh", "-c", mv).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", mv, err, out)
	}
	if _, err := os.Stat(filepath.Join(taken, "README")); err != nil {
		t.Errorf("the folder moved aside before is gone: %v", err)
	}
	expectNo(t, Verify(context.Background(), opt), "lookup:containerd")
}
