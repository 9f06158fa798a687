package verify

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/certkit/certkit/host"
	"github.com/certkit/certkit/install"
	"github.com/certkit/certkit/internal/prose"
	"github.com/certkit/certkit/internal/rootflags"
	"github.com/certkit/certkit/internal/shellquote"
)

// Lookup returns the registry folders the consumers of root try for reg,
// in the order they try them; they read the first one that exists and
// ignore the others (certsd.md §2; the searches are install's):
//
//   - podman, skopeo and buildah: install.PodmanSearch, <reg> in
//     ~/.config/containers/certs.d, then /etc/containers/certs.d, then
//     /etc/docker/certs.d, whoever runs them (root too reads its own
//     ~/.config first). env is where that home is found; nil for a certs
//     root given with --certs-dir, which is read alone.
//   - containerd (CRI): install.ContainerdSearch through
//     install.ContainerdConfigPath, /etc/containerd/certs.d then
//     /etc/docker/certs.d: in each root reg_5000_, then reg:5000, then
//     _default; the first root with one of them wins. With env nil, root
//     alone.
//   - Docker: the one folder.
//
// The folder certkit installs for the root, root.Folder(reg), is always
// among them.
func Lookup(root install.Root, reg host.Registry, env *install.RootEnv) []string {
	switch {
	case root.Target == install.Containerd:
		roots := []string{root.Dir}
		if env != nil {
			roots = install.ContainerdConfigPath()
			if !slices.Contains(roots, root.Dir) {
				roots = append([]string{root.Dir}, roots...)
			}
		}
		return install.ContainerdSearch(roots, reg)
	case root.Target == install.Podman && env != nil:
		search := install.PodmanSearch(*env, reg)
		if !slices.Contains(search, root.Folder(reg)) {
			search = append(search, root.Folder(reg))
		}
		return search
	}
	return []string{root.Folder(reg)}
}

// readers names the programs that read a target's folders, for messages:
// Docker's rootful root is podman's last fallback too (install.PodmanSearch),
// the rootless and Desktop roots are Docker's alone. A root given with
// --certs-dir in Docker's layout is named as Docker's rootful root.
func readers(t install.Target) string {
	switch t {
	case install.Podman:
		return "podman, skopeo and buildah"
	case install.Containerd:
		return "containerd"
	case install.DockerRootless:
		return "rootless Docker"
	case install.DockerDesktop:
		return "Docker Desktop"
	}
	return "Docker and podman"
}

// dockerAndPodman reports whether t's root is Docker's rootful root,
// which podman reads too (or a root in its layout).
func dockerAndPodman(t install.Target) bool { return t == "" || t == install.Docker }

// agree picks the verb form that agrees with readers(t): many for a list
// of programs, one for a single one.
func agree(t install.Target, many, one string) string {
	if strings.Contains(readers(t), " and ") {
		return many
	}
	return one
}

// pickFolder is the consumer's choice among opt.Search: the first folder
// that exists. It returns the folder to read and, when there was a choice
// to make, a check that says which folder the consumer reads and why.
func pickFolder(opt Options) (string, []Check) {
	if len(opt.Search) < 2 {
		return opt.Dir, nil
	}
	first := firstExisting(opt.Search)
	if first < 0 {
		return opt.Dir, nil
	}
	c := lookupCheck(opt, opt.Target, opt.Search, first)
	c.ID = "lookup"
	return opt.Search[first], []Check{c}
}

// containerdShadow is the check for a folder of a root that containerd
// reads too, after others (opt.Root: Docker's, after containerd's own;
// install.ContainerdLookup): it warns when a folder containerd tries
// first exists and hides the one certkit installed, and says nothing
// otherwise (the folder itself is what the rest of the report checks).
// The containerd layout's own search is Lookup's.
func containerdShadow(opt Options) []Check {
	if opt.Root.HostsTOML || opt.Root.Dir == "" {
		return nil
	}
	search, first, own, _ := install.ContainerdLookup(opt.Root, opt.Registry)
	if own < 1 || first < 0 || first >= own || !exists(opt.Dir) {
		return nil
	}
	if used := search[first]; install.CertkitFolder(used, opt.Registry) {
		// certkit's own folder for containerd: what containerd should read
		return []Check{{ID: "lookup:containerd", Status: OK,
			Message: fmt.Sprintf("containerd reads %s, the folder certkit installs for containerd, before %s (certkit verify --host %s%s checks it)",
				used, opt.Dir, hostArg(opt.Registry), rootflags.Flags([]string{string(install.Containerd)}, "")+opt.HomeFlags)}}
	}
	c := lookupCheck(opt, install.Containerd, search, first)
	c.ID = "lookup:containerd"
	c.Message += fmt.Sprintf(" (Docker itself reads %s)", opt.Dir)
	return []Check{c}
}

// firstExisting is the index of the folder of search the consumer reads
// (install.FirstExisting), -1 when none exists. A folder that cannot be
// looked up is the one it stops at: reading it then says why.
func firstExisting(search []string) int {
	i, _ := install.FirstExisting(search)
	return i
}

// lookupCheck says which folder of search the consumers of target read
// (search[first], the first that exists), and warns when it hides
// opt.Dir, where certkit installs.
func lookupCheck(opt Options, target install.Target, search []string, first int) Check {
	used := search[first]
	who := readers(target)
	agree := func(many, one string) string { return agree(target, many, one) }
	order := searchOrder(search)
	own := slices.Index(search, opt.Dir)
	c := Check{Status: OK}
	switch {
	case used == opt.Dir:
		c.Message = fmt.Sprintf("%s %s %s: the first that exists of %s (%s one, never several)", who, agree("read", "reads"), used, order, agree("they read", "it reads"))
	case own > first && exists(opt.Dir):
		c.Status = Warning
		c.Kind = "shadowed"
		c.Message = fmt.Sprintf("%s %s %s, not %s where certkit installs: %s the first that exists of %s and %s the others, so %s hides %s",
			who, agree("read", "reads"), used, opt.Dir, agree("they take", "it takes"), order, agree("ignore", "ignores"), used, opt.Dir)
		c.Fix = shadowFix(opt, target, used)
	default:
		c.Message = fmt.Sprintf("%s %s %s: %s, where certkit installs, does not exist, and %s is the first that exists of %s",
			who, agree("read", "reads"), used, opt.Dir, used, order)
		if own > first {
			c.Message += fmt.Sprintf(" (a folder installed at %s would stay hidden behind it)", opt.Dir)
		}
	}
	return c
}

// searchOrder writes a search for messages: the folders in order, or,
// when a certs root holds several of them (containerd's), the names in
// each root: "a, b and c in /x, then a, b and c in /y".
func searchOrder(search []string) string {
	type group struct {
		root  string
		names []string
	}
	var groups []group
	for _, d := range search {
		r, n := filepath.Dir(d), filepath.Base(d)
		if len(groups) > 0 && groups[len(groups)-1].root == r {
			groups[len(groups)-1].names = append(groups[len(groups)-1].names, n)
			continue
		}
		groups = append(groups, group{root: r, names: []string{n}})
	}
	if len(groups) == len(search) {
		return prose.AndList(search)
	}
	var parts []string
	for _, g := range groups {
		parts = append(parts, prose.AndList(g.names)+" in "+g.root)
	}
	return strings.Join(parts, ", then ")
}

// shadowFix says how to let the consumers of target read opt.Dir rather
// than used, the folder they find first.
func shadowFix(opt Options, target install.Target, used string) string {
	who := readers(target)
	reg := hostArg(opt.Registry)
	move := fmt.Sprintf("if %s is left over, move it out of the way: %s (then %s %s %s)",
		used, install.ShadowMove(used), who, agree(target, "read", "reads"), opt.Dir)
	switch {
	case target == install.Containerd && filepath.Base(used) == install.ContainerdDefaultDir:
		// _default serves every registry without a folder of its own in
		// that root: give this one its own there rather than move it
		return fmt.Sprintf("%s is containerd's folder for every registry without one of its own in %s; give %s its own, which containerd reads before it: certkit install --host %s%s; or, %s",
			used, filepath.Dir(used), opt.Registry, reg, rootflags.Flags([]string{string(install.Containerd)}, filepath.Dir(used))+opt.HomeFlags, move)
	case filepath.Base(used) == opt.Registry.String() && (target == install.Podman || target == install.Containerd):
		// the registry's folder in a root searched earlier
		return fmt.Sprintf("%s; if it is the folder you want, install into it: certkit install --host %s%s",
			move, reg, rootflags.Flags([]string{string(target)}, filepath.Dir(used))+opt.HomeFlags)
	}
	return move
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// missingFolder is the check for a registry folder that does not exist,
// naming the folders beside it that the user may have meant.
func missingFolder(opt Options, dir string) Check {
	reg := opt.Registry
	c := Check{ID: "folder", Status: Error, Kind: "no-folder",
		Message: fmt.Sprintf("%s does not exist: Docker and podman trust no extra CA for %s and send it no client certificate", dir, reg),
		Fix:     install.Command(reg.String(), false, rootFlags(opt))}
	if len(opt.Search) > 1 {
		who := readers(opt.Target)
		c.Message = fmt.Sprintf("none of %s exists: %s %s no extra CA for %s and %s it no client certificate", searchOrder(opt.Search), who, agree(opt.Target, "trust", "trusts"), reg, agree(opt.Target, "send", "sends"))
	}
	if opt.CertsDir != "" && registryFolder(opt.CertsDir) {
		// skopeo's --cert-dir takes the registry folder; --certs-dir the
		// root above it: install's fix would make a folder inside it
		c.Kind = "certs-dir-is-folder"
		c.Message = fmt.Sprintf("%s does not exist: --certs-dir %s is a registry folder itself, not a certs root", dir, opt.CertsDir)
		c.Fix = fmt.Sprintf("give the certs root that holds it, e.g. certkit verify --host %s%s", hostArg(reg), targetFlags(opt.Target, filepath.Dir(opt.CertsDir))+opt.HomeFlags)
		if filepath.Base(opt.CertsDir) != reg.String() {
			c.Fix = fmt.Sprintf("move its files into a folder named %s in a certs root, and give that root with --certs-dir", reg)
		}
		return c
	}
	misses := nearMisses(opt, dir)
	switch {
	case len(misses) == 1:
		c.Kind = "misnamed-folder"
		c.Message += "; but " + misses[0].why
		c.Fix = misses[0].fix
	case len(misses) > 1:
		// One line for them all, not one per folder: their names, and
		// the fix of the first that is a misspelling, else install's.
		c.Kind = "misnamed-folder"
		var names []string
		for _, m := range misses[:min(2, len(misses))] {
			names = append(names, strconv.Quote(m.name))
		}
		list := strings.Join(names, ", ")
		if len(misses) > 2 {
			list += fmt.Sprintf(" and %d more", len(misses)-2)
		}
		c.Message = fmt.Sprintf("%s does not exist; folders beside it differ only in spelling or port: %s", dir, list)
		c.Fix = install.Command(reg.String(), false, rootFlags(opt))
		for _, m := range misses {
			if m.rename != "" {
				c.Fix = "rename it: " + m.rename
				break
			}
		}
	}
	return c
}

// nearMiss is a folder beside the missing one whose name is close to it:
// why and fix say so; rename is the command that renames it, when its
// name is a misspelling of the registry's.
type nearMiss struct{ name, why, fix, rename string }

// nearMisses looks in the certs roots of the missing folder (and of every
// folder the consumer searches) for folders the user may have meant: the
// name in another case, the same host with :443 added or dropped, without
// the port or with another one, or containerd's host_port_ spelling. The
// folder name must match the image reference exactly (certsd.md §4).
func nearMisses(opt Options, dir string) []nearMiss {
	reg := opt.Registry
	want := reg.String()
	var roots []string
	for _, d := range append([]string{dir}, opt.Search...) {
		if r := filepath.Dir(d); !slices.Contains(roots, r) {
			roots = append(roots, r)
		}
	}
	bare := host.Registry{Name: reg.Name, IP: reg.IP}.String() // without the port
	var out []nearMiss
	for _, root := range roots {
		entries, err := os.ReadDir(root)
		if err != nil {
			continue
		}
		for _, e := range entries {
			name := e.Name()
			path := filepath.Join(root, name)
			if name == want || slices.Contains(opt.Search, path) {
				continue
			}
			if fi, err := os.Stat(path); err != nil || !fi.IsDir() {
				continue
			}
			wantPath := filepath.Join(root, want)
			rename := fmt.Sprintf("mv %s %s", shellquote.Quote(path), shellquote.Quote(wantPath))
			inst := install.Command(reg.String(), false, rootFlags(opt))
			check := "certkit verify --host " + shellquote.Quote(name) + rootFlags(opt)
			m := nearMiss{name: name}
			switch other, perr := host.Parse(name); {
			case reg.Port != 0 && strings.EqualFold(name, reg.ContainerdDirs()[0]):
				m.why = fmt.Sprintf("%s exists, containerd's spelling of %s (host_port_): containerd reads it, Docker and podman never do", path, want)
				m.fix = fmt.Sprintf("install the folder Docker and podman read: %s, or rename it: %s", inst, rename)
				m.rename = rename
			case strings.EqualFold(name, want):
				m.why = fmt.Sprintf("%s exists, differing only in case: Docker and podman look the folder up by the exact name in the image reference, so %s/IMAGE reads %s and never %s", path, want, wantPath, path)
				m.fix = fmt.Sprintf("rename it: %s, or install the folder: %s", rename, inst)
				m.rename = rename
			case misspelled(name, want):
				m.why = fmt.Sprintf("did you mean %s? %q exists, and Docker and podman look the folder up by its exact name", want, name)
				m.fix = "rename it: " + rename
				m.rename = rename
			case perr != nil || other.Hostname() != reg.Hostname():
				continue
			case reg.Port == 443 && other.Port == 0:
				m.why = fmt.Sprintf("%s exists, without :443: Docker and podman treat %s and %s as different folders, and a pull of %s/IMAGE reads %s, one of %s/IMAGE reads %s",
					path, name, want, want, wantPath, name, path)
				m.fix = fmt.Sprintf("if your image references say %s/IMAGE, without the port, check that folder: %s; if they keep :443, %s", name, check, inst)
			case reg.Port == 0 && other.Port == 443:
				m.why = fmt.Sprintf("%s exists, with :443: Docker and podman treat %s and %s as different folders, and a pull of %s/IMAGE reads %s, only %s/IMAGE reads %s",
					path, want, name, want, wantPath, name, path)
				m.fix = fmt.Sprintf("if your image references say %s/IMAGE, check that folder: %s; otherwise %s, or rename it: %s", name, check, inst, rename)
			case other.Port == 0:
				m.why = fmt.Sprintf("%s exists, without the port: a pull of %s/IMAGE reads %s (the port is part of the folder name), and %s serves only references to %s without a port",
					path, want, wantPath, path, bare)
				m.fix = fmt.Sprintf("%s, or rename it if nothing pulls from %s without the port: %s", inst, bare, rename)
			default:
				m.why = fmt.Sprintf("%s exists, for port %d: a pull of %s/IMAGE reads %s only", path, other.Port, want, wantPath)
				m.fix = fmt.Sprintf("if the registry listens on port %d, check that folder: %s; otherwise %s", other.Port, check, inst)
			}
			out = append(out, m)
		}
	}
	return out
}

// rootFlags are the flags that name the certs root checked, for the
// commands verify suggests: --target unless Docker's (the default), and
// --certs-dir for a root given with it; and the run's --home.
func rootFlags(opt Options) string { return targetFlags(opt.Target, opt.CertsDir) + opt.HomeFlags }

// targetFlags are rootFlags for the root of target t, given with
// --certs-dir when certsDir is set.
func targetFlags(t install.Target, certsDir string) string {
	var targets []string
	if t != "" && t != install.Docker {
		targets = []string{string(t)}
	}
	return rootflags.Flags(targets, certsDir)
}

// hostArg is the registry as the value of --host in a suggested command,
// quoted for the shell (an IPv6 registry's brackets are a glob).
func hostArg(reg host.Registry) string { return shellquote.Quote(reg.String()) }

// misspelled reports a folder name that install.SuggestRegistry reads as
// want: spaces around it, '_' or '-' for the ':' before the port.
func misspelled(name, want string) bool {
	r, ok := install.SuggestRegistry(name)
	return ok && r.String() == want
}

// registryFolder reports a folder that holds the files of a registry
// folder (CA files, client pairs, hosts.toml) rather than registry
// folders.
func registryFolder(dir string) bool {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, e := range entries {
		n := e.Name()
		if e.Type().IsRegular() && (strings.HasSuffix(n, install.CAExt) || strings.HasSuffix(n, install.CertExt) || strings.HasSuffix(n, install.KeyExt) || n == install.HostsFile) {
			return true
		}
	}
	return false
}
