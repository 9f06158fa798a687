// Reading a registry folder's hosts.toml and manifest, and the install
// commands the fixes of a folder's problems print.

package install

import (
	"crypto/tls"
	"fmt"
	"sort"
	"strings"

	"github.com/certkit/certkit/host"
	"github.com/certkit/certkit/internal/prose"
	"github.com/certkit/certkit/internal/shellquote"
)

// installCmd is the certkit install command for the folder's registry and
// certs root, with --force when it must replace a file certkit installed.
func (r *reader) installCmd(force bool) string {
	return Command(r.opt.Name, force, r.opt.Flags)
}

// hostsTOMLCmd is the certkit install command that writes certkit's
// hosts.toml in the folder: in its certs root when that has the
// containerd layout (ReadOptions.HostsTOML), with --force when it must
// replace certkit's own one, changed; else into containerd's own certs
// root.
func (r *reader) hostsTOMLCmd(force bool) string {
	if r.opt.HostsTOML {
		return r.installCmd(force)
	}
	return Command(r.opt.Name, false, " --target containerd")
}

// replaceTOML is the command that has certkit write its hosts.toml in
// place of the folder's, which is empty or broken, and whether the
// folder's must be removed first: install --force replaces certkit's
// own, but never the user's, which goes first (install then needs --force
// only when the manifest cannot be read). Outside the containerd layout,
// install writes one into containerd's own certs root, and the folder's,
// which containerd would read too, goes first.
func (r *reader) replaceTOML() (cmd string, remove bool) {
	if _, own := r.f.Manifest.Has(HostsFile); r.opt.HostsTOML && own {
		return r.installCmd(true), false
	}
	if r.opt.HostsTOML {
		return r.installCmd(r.badManifest()), true
	}
	return r.hostsTOMLCmd(false), true
}

// badManifest reports whether the folder has a certkit manifest that
// cannot be read (install then needs --force).
func (r *reader) badManifest() bool { return r.names[ManifestFile] && r.f.Manifest == nil }

// ownTOML reports whether the folder's hosts.toml (data, parsed as h) is
// certkit's: in its manifest, or, when the manifest cannot be read,
// exactly what certkit install writes (renderedByCertkit). force: install
// must replace it with --force (changed since certkit wrote it, or no
// manifest to say it is certkit's).
func (r *reader) ownTOML(data []byte, h *HostsTOML) (own, force bool) {
	if want, ok := r.f.Manifest.Has(HostsFile); ok {
		return true, sum(data) != want
	}
	if r.badManifest() && renderedByCertkit(data, r.opt.Name, h, r.f.Dir) {
		return true, true
	}
	return false, false
}

// entryFix is the fix for an entry of hosts.toml (path) naming a file
// containerd cannot use: the user's hosts.toml is theirs to fix; certkit's
// own is not to be edited by hand (install would then refuse it as
// changed), install writes it again for the files the folder has now.
func (r *reader) entryFix(entry, path string, data []byte, h *HostsTOML) string {
	if own, force := r.ownTOML(data, h); own && r.opt.HostsTOML {
		return "certkit wrote this hosts.toml; run install again, which writes it for the files the folder has now: " + r.installCmd(force)
	}
	return "fix the " + entry + " entry in " + path
}

func (r *reader) manifest() {
	m, err := readManifest(r.dir, "")
	if err != nil {
		r.add(SeverityWarning, KindBadManifest, ManifestFile, "cannot be read ("+err.Error()+"); certkit uninstall will not know which files certkit installed",
			"run "+r.installCmd(true)+" to write it again")
		return
	}
	r.f.Manifest = m
}

func (r *reader) readHostsTOML() {
	if !r.names[HostsFile] {
		return
	}
	p := r.path(HostsFile)
	data, err := r.read(p)
	if err != nil {
		r.add(SeverityError, KindUnreadable, HostsFile, "cannot be read: "+errText(err)+"; containerd fails for this registry", "make it readable by containerd").ContainerdError = err.Error()
		return
	}
	tomlData := data
	h := parseHostsTOML(r.f.Dir, data)
	h.Path = p
	r.f.HostsTOML = h
	if len(data) == 0 {
		fix := "remove it"
		if cmd, remove := r.replaceTOML(); remove {
			fix += " (then, for certkit to write one, run: " + cmd + ")"
		} else {
			fix += ", or run: " + cmd
		}
		r.add(SeverityWarning, KindHostsTOMLEmpty, HostsFile, "is empty; containerd reads the loose files instead", fix)
		r.f.HostsTOML = nil
		return
	}
	if h.Err != nil {
		cmd, remove := r.replaceTOML()
		r.add(SeverityError, KindHostsTOMLSyntax, HostsFile, "cannot be parsed ("+prose.Printable(h.Err.Error())+"); containerd logs the error and falls back to the loose files",
			"fix the TOML syntax, or "+map[bool]string{true: "remove it and run", false: "run"}[remove]+": "+cmd)
		return
	}
	r.checkServer(h)
	// Files are compared as files, not as path text: hosts.toml may name
	// them through a linked certs root.
	used := map[string]bool{}
	for _, u := range h.Uses() {
		used[realPath(u)] = true
	}
	// A file named by several entries (the [host] entry and the root
	// entry name the same ones) is checked, and reported, once.
	checked := map[string]bool{}
	for _, e := range h.Hosts {
		for _, c := range e.CA {
			if checked["ca\x00"+c] {
				continue
			}
			checked["ca\x00"+c] = true
			data, err := r.read(c)
			switch {
			case err != nil:
				pr := r.add(SeverityError, KindHostsTOMLUnreadableFile, HostsFile, fmt.Sprintf("names the CA file %s, which containerd cannot read: %s", c, errText(err)),
					r.entryFix("ca", p, tomlData, h))
				pr.Path, pr.ContainerdError = c, fmt.Sprintf("unable to read CA cert %q: %v", c, err)
			case len(pemCerts(data)) == 0:
				pr := r.add(SeverityError, KindHostsTOMLNotPEM, HostsFile, fmt.Sprintf("names the CA file %s, which holds no PEM certificate; containerd fails with \"unable to load CA cert\"", c),
					r.entryFix("ca", p, tomlData, h))
				pr.Path, pr.ContainerdError = c, fmt.Sprintf("unable to load CA cert %q", c)
			}
		}
		for _, pair := range e.Client {
			if checked["client\x00"+pair[0]+"\x00"+pair[1]] {
				continue
			}
			checked["client\x00"+pair[0]+"\x00"+pair[1]] = true
			certPEM, err := r.read(pair[0])
			if err != nil {
				pr := r.add(SeverityError, KindHostsTOMLUnreadableFile, HostsFile, fmt.Sprintf("names the client certificate %s, which containerd cannot read: %s", pair[0], errText(err)),
					r.entryFix("client", p, tomlData, h))
				pr.Path, pr.ContainerdError = pair[0], fmt.Sprintf("unable to read CERT file %q: %v", pair[0], err)
				continue
			}
			keyPEM := certPEM
			if pair[1] != "" {
				if keyPEM, err = r.read(pair[1]); err != nil {
					pr := r.add(SeverityError, KindHostsTOMLUnreadableFile, HostsFile, fmt.Sprintf("names the client key %s, which containerd cannot read: %s", pair[1], errText(err)),
						r.entryFix("client", p, tomlData, h))
					pr.Path, pr.ContainerdError = pair[1], fmt.Sprintf("unable to read CERT file %q: %v", pair[1], err)
					continue
				}
			}
			if _, err := tls.X509KeyPair(certPEM, keyPEM); err != nil {
				pr := r.add(SeverityError, KindHostsTOMLBadPair, HostsFile, fmt.Sprintf("names the client pair %s, %s, which containerd cannot load: %v", pair[0], pair[1], err),
					r.entryFix("client", p, tomlData, h))
				pr.Path, pr.ContainerdError = pair[0], "failed to load X509 key pair: "+err.Error()
			}
		}
		if e.SkipVerify != nil && *e.SkipVerify {
			r.add(SeverityWarning, KindSkipVerify, HostsFile, "sets skip_verify = true for "+e.URL+": containerd does not check the registry's certificate", "remove skip_verify and name the CA with ca = \"ca.crt\"")
		}
	}
	notPEM := map[string]bool{}
	for _, c := range r.f.CAs {
		notPEM[c.Name] = len(c.Certs) == 0
	}
	for _, name := range r.looseNames() {
		// A .crt that is not PEM is reported as such: named in hosts.toml,
		// it would make containerd fail. A key without its certificate is
		// a stray key (reported as such): no hosts.toml entry can name it.
		stray := strings.HasSuffix(name, KeyExt) && !r.names[strings.TrimSuffix(name, KeyExt)+CertExt]
		if !used[realPath(r.path(name))] && !notPEM[name] && !stray {
			fix := "name it in " + p + " (ca = [...] for a .crt, client = [[\"NAME.cert\", \"NAME.key\"]] for a pair)"
			// certkit's own hosts.toml names every PEM .crt of the folder
			// once install writes it again; elsewhere, install writes one
			// into containerd's certs root.
			if _, own := r.f.Manifest.Has(HostsFile); strings.HasSuffix(name, CAExt) && (own || !r.opt.HostsTOML) {
				fix += ", or run: " + r.hostsTOMLCmd(false)
			}
			r.add(SeverityWarning, KindHiddenByHostsTOML, name, "is ignored by containerd: hosts.toml exists and does not name it (Docker and podman still read it)", fix)
		}
	}
}

// checkServer compares hosts.toml's server with the registry the folder
// is named after.
func (r *reader) checkServer(h *HostsTOML) {
	if h.Server == "" {
		return
	}
	want, err := host.Parse(r.opt.Name)
	if err != nil {
		return // _default, or a folder not named after a registry
	}
	got := serverHost(h.Server)
	if !strings.EqualFold(got, want.String()) {
		r.add(SeverityWarning, KindHostsTOMLWrongServer, HostsFile, fmt.Sprintf("says server = %q, but the folder is for %s", h.Server, want),
			fmt.Sprintf("set server = %q", "https://"+want.String()))
	}
}

// looseNames lists the loose .crt, .cert and .key files, sorted.
func (r *reader) looseNames() []string {
	var out []string
	for n := range r.names {
		if strings.HasSuffix(n, CAExt) || strings.HasSuffix(n, CertExt) || strings.HasSuffix(n, KeyExt) {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// host is the registry's name as a command argument.
func (r *reader) host() string { return shellquote.Quote(r.opt.Name) }

// renewCmd is the fix of an expired or expiring client pair: renew it in
// the certkit home that issued it, and install it where it is (the folder's
// certs root, named as the run names it).
func (r *reader) renewCmd(name string) string {
	return "renew it in the certkit home that issued it: certkit renew --all --host " + r.host() + " --name " + shellquote.Quote(name) + " --install" + r.opt.Flags
}
