// Planning a run: what each registry folder holds now, what it will hold,
// and whether that may be written.

package install

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/certkit/certkit/host"
	"github.com/certkit/certkit/internal/rootflags"
	"github.com/certkit/certkit/internal/safefs"
	"github.com/certkit/certkit/internal/shellquote"
)

// planInstall works out the new content of one registry folder and checks,
// without writing, that it can be installed.
func planInstall(root Root, reg host.Registry, m *material, opt Options) (*FolderResult, error) {
	name := reg.String()
	fr := &FolderResult{Target: root.Target, Registry: name, Root: root.Dir, Dir: filepath.Join(root.Dir, name),
		Note: root.Note, Loopback: reg.IsLoopback(), reg: reg, root: root}
	dir, err := resolveFolder(fr.Dir, "install")
	if err != nil {
		return nil, err
	}
	fr.Dir = dir
	if fr.extra, err = containerdShadows(root, reg, opt.Roots, dir); err != nil {
		return nil, err
	}
	fr.extra = append(fr.extra, podmanShadows(root, reg, opt.Roots)...)

	want := map[string][]byte{CAFileName: m.caPEM}
	if m.prevPEM != nil {
		want[PreviousCAFileName] = m.prevPEM
		fr.previousCA = true
	}
	for _, p := range m.pairs {
		want[p.name+CertExt] = p.certPEM
		want[p.name+KeyExt] = p.keyPEM
		fr.pairs = append(fr.pairs, p.name)
	}
	cur, err := readCurrent(root, dir, fr.readOptions(opt.Now, opt.Roots, opt.Flags, opt.HomeFlags))
	if err != nil {
		return nil, err
	}
	if cur.badManifest != nil && !opt.Force {
		return nil, &BadManifestError{Path: filepath.Join(dir, ManifestFile), Err: cur.badManifest, Command: "install",
			Fix: Command(name, true, opt.Flags)}
	}
	if root.HostsTOML {
		// containerd reads only what hosts.toml names: it names, after
		// certkit's ca.crt, every other CA file of the folder that Docker
		// and podman load (PEM), so that they all trust the same CAs. One
		// that is not PEM stays out (containerd would fail on it; the
		// loaders ignore it) and is reported.
		cas := fr.caFiles()
		if cur.folder != nil {
			for _, c := range cur.folder.CAs {
				if _, own := cur.manifest.Has(c.Name); !slices.Contains(cas, c.Name) && !own && len(c.Certs) > 0 {
					cas = append(cas, c.Name)
				}
			}
		}
		want[HostsFile] = renderHostsTOML(name, cas, fr.pairs)
	}
	fr.Existed = cur.exists
	var foreign, changed []string
	manifest := &Manifest{Version: manifestVersion, Registry: name}
	for _, fname := range sortedKeys(want) {
		data := want[fname]
		fc := FileChange{Name: fname, Path: filepath.Join(dir, fname), Mode: modeFor(fname), Certkit: true}
		e, exists := cur.entries[fname]
		ownSum, own := cur.manifest.Has(fname)
		if cur.badManifest != nil && exists && e.regular && bytes.Equal(e.data, data) {
			// --force over a manifest that cannot be read: what holds
			// exactly what certkit installs is taken as certkit's.
			ownSum, own = sum(data), true
		} else if cur.badManifest != nil && exists && e.regular && fname == HostsFile && cur.folder != nil &&
			renderedByCertkit(e.data, name, cur.folder.HostsTOML, dir) {
			// A hosts.toml exactly as certkit writes it, for files the
			// folder may no longer have: certkit's, written again.
			ownSum, own = sum(e.data), true
		}
		switch {
		case !exists:
			fc.Action = Create
		case !e.regular:
			foreign = append(foreign, fname)
			continue
		case !own && bytes.Equal(e.data, data):
			// The user's own copy of the same file: theirs, left alone.
			fc.Action, fc.Certkit, fc.Mode = Keep, false, e.mode
			fc.Note = "same content, not installed by certkit"
		case !own && fname == HostsFile:
			// The user's hosts.toml may hold more than certkit's would
			// (mirrors, headers): it always stays, --force or not, and
			// certkit's files go beside it (hostsTOMLWarning gives the
			// lines that make it name them).
			delete(want, HostsFile) // kept below, with the user's files
			continue
		case !own:
			foreign = append(foreign, fname)
			continue
		case bytes.Equal(e.data, data) && e.mode == fc.Mode:
			fc.Action = Unchanged
		case bytes.Equal(e.data, data):
			fc.Action, fc.Note = Rewrite, fmt.Sprintf("mode %04o restored to %04o", e.mode, fc.Mode)
		case fname == HostsFile && sum(e.data) == ownSum:
			fc.Action, fc.Note = Rewrite, "regenerated"
		case fname == CAFileName && m.prevPEM != nil && sum(e.data) == ownSum && bytes.Equal(e.data, m.prevPEM):
			// A CA rotation: certkit's ca.crt is the previous CA, which
			// goes beside it as ca-previous.crt.
			fc.Action, fc.Note = Update, "the new CA (certkit rotate-ca); the previous one is "+PreviousCAFileName
		default:
			if !opt.Force {
				changed = append(changed, fname)
				continue
			}
			fc.Action = Update
			if sum(e.data) != ownSum {
				fc.Note = "changed since certkit installed it; replaced (--force)"
			}
		}
		if fc.Certkit {
			manifest.Files = append(manifest.Files, ManifestEntry{Name: fname, SHA256: sum(data)})
		}
		fr.Files = append(fr.Files, fc)
	}
	if len(foreign) > 0 {
		return nil, &ConflictError{Dir: dir, Files: foreign, Foreign: true}
	}
	if len(changed) > 0 {
		return nil, &ConflictError{Dir: dir, Files: changed}
	}
	// certkit's files that the home no longer has (a client removed or
	// renamed): kept, still certkit's, unless --force.
	if cur.manifest != nil {
		for _, e := range cur.manifest.Files {
			if _, ok := want[e.Name]; ok {
				continue
			}
			ce, exists := cur.entries[e.Name]
			if !exists {
				continue
			}
			fc := FileChange{Name: e.Name, Path: filepath.Join(dir, e.Name), Mode: ce.mode, Certkit: true}
			if opt.Force {
				fc.Action, fc.Certkit, fc.Note = Remove, false, "no longer in the certkit home (--force)"
			} else if e.Name == PreviousCAFileName {
				// A finished rotation retired it: trusting it still would
				// keep trusting what it signs.
				fc.Action, fc.Certkit, fc.Note = Remove, false, "the previous CA, retired by certkit rotate-ca --finish"
			} else {
				fc.Action, fc.Note = Keep, "no longer in the certkit home; kept (install --force or uninstall removes it)"
				manifest.Files = append(manifest.Files, e)
			}
			fr.Files = append(fr.Files, fc)
		}
	}
	// Everything else in the folder is the user's, kept as it is.
	for _, fname := range sortedKeys(cur.entries) {
		if _, ok := want[fname]; ok || fname == ManifestFile {
			continue
		}
		if _, own := cur.manifest.Has(fname); own {
			continue
		}
		e := cur.entries[fname]
		if e.dir {
			return nil, &ConflictError{Dir: dir, Files: []string{fname + "/"}, Foreign: true}
		}
		fr.Files = append(fr.Files, FileChange{Name: fname, Path: filepath.Join(dir, fname), Mode: e.mode, Action: Keep})
	}
	manData := manifest.encode()
	mc := FileChange{Name: ManifestFile, Path: filepath.Join(dir, ManifestFile), Mode: CertMode, Certkit: true, Action: Create}
	if e, ok := cur.entries[ManifestFile]; ok {
		mc.Action = Rewrite
		if bytes.Equal(e.data, manData) && e.mode == CertMode {
			mc.Action = Unchanged
		}
	}
	want[ManifestFile] = manData
	fr.Files = append(fr.Files, mc)
	fr.want = want
	sortFiles(fr.Files)

	for _, f := range fr.Files {
		if f.Action != Unchanged && f.Action != Keep {
			fr.Changed = true
		}
	}
	// The user's files must not break the folder: that would make certkit's
	// pair useless, and the fix is theirs to make.
	if cur.folder != nil {
		// With certkit's hosts.toml written, containerd no longer reads
		// the loose files: what fails only its reading of them (a .crt
		// that is not PEM) no longer breaks the folder, and the check of
		// the new folder (prepareInstall, dryCheck) says what it is then.
		writesTOML := slices.ContainsFunc(fr.Files, func(f FileChange) bool { return f.Name == HostsFile && f.Certkit })
		var blocking []Problem
		for _, p := range cur.folder.Problems {
			if p.Severity != SeverityError || !isKept(fr.Files, p.File) || fr.namesNew(p) {
				continue
			}
			if writesTOML && p.LoaderError == "" && p.ContainerdError != "" && p.File != HostsFile {
				continue
			}
			if _, own := cur.manifest.Has(p.File); own {
				// certkit's own file, no longer in the home.
				p.Fix = "pass --force to remove certkit's files that are no longer in the certkit home (or run certkit uninstall first)"
			}
			blocking = append(blocking, p)
		}
		if len(blocking) > 0 {
			return nil, &BrokenFolderError{Dir: dir, Problems: blocking}
		}
	}
	after := cur.folder
	if opt.DryRun && fr.Changed {
		// The run checks the folder it writes; the dry run the same folder,
		// written elsewhere.
		if after, err = fr.dryCheck(opt); err != nil {
			return nil, err
		}
	}
	fr.Problems = fr.problems(after)
	if fr.Changed {
		if fr.as, err = safefs.Controller(root.Dir); err != nil {
			return nil, err
		}
		if err := fr.checkWritable(opt.DryRun, "install"); err != nil {
			return nil, err
		}
	}
	return fr, nil
}

// KindNotWritable: a dry run found that this process may not write the
// certs root, so the run itself would stop there (with a PermissionError):
// a system root (under /etc) needs root, and the folder's NeedsRoot says
// so.
const KindNotWritable Kind = "not-writable"

// checkWritable fails early, before anything is written, when the folder's
// certs root (or the parent it would be made in) is not writable. A dry
// run does not stop there: it shows the plan, with a warning that the run
// itself (cmd) needs root, or other rights.
func (fr *FolderResult) checkWritable(dryRun bool, cmd string) error {
	err := checkWritable(fr.root, fr.Dir)
	var pe *PermissionError
	if err == nil || !dryRun || !errors.As(err, &pe) {
		return err
	}
	p := Problem{Severity: SeverityWarning, Kind: KindNotWritable, Fix: pe.Hint(),
		Message: fmt.Sprintf("cannot write %s (%s): the %s itself ", pe.Dir, errText(pe.Err), cmd)}
	if pe.System && errors.Is(pe.Err, fs.ErrPermission) && os.Geteuid() != 0 {
		fr.NeedsRoot = true
		p.Message = "this user " + p.Message + "needs root"
		p.Fix = fmt.Sprintf("run the %s as root, with sudo (sudo certkit still finds your certkit home)", cmd)
	} else {
		p.Message += "would stop here"
	}
	fr.Problems = append(fr.Problems, p)
	return nil
}

// isKept reports whether the problem file is one install keeps as it is
// (the user's), or the folder itself.
func isKept(files []FileChange, name string) bool {
	if name == "" {
		return false
	}
	for _, f := range files {
		if f.Name == name {
			return f.Action == Keep
		}
	}
	return true // a file ReadFolder saw that is not in the plan (a folder)
}

// warnings are the warnings about files that stay as they are.
func warnings(ps []Problem, files []FileChange) []Problem {
	var out []Problem
	for _, p := range ps {
		if p.Severity == SeverityWarning && (p.File == "" || isKept(files, p.File) || p.File == HostsFile) {
			out = append(out, p)
		}
	}
	return out
}

type entry struct {
	regular bool
	dir     bool
	mode    fs.FileMode
	data    []byte // for regular files up to 1 MiB
}

type current struct {
	exists   bool
	entries  map[string]entry
	manifest *Manifest
	// badManifest is why the folder's manifest cannot be read; manifest
	// is nil then. Install refuses such a folder unless forced, and then
	// takes as certkit's the files whose content is what it installs.
	badManifest error
	folder      *Folder
}

// readCurrent reads what a registry folder of root holds now. A file
// this process may not read (a key that root installed, for a dry run
// without sudo) is a PermissionError: the plan needs its content.
//
// A folder reached through a symbolic link (dir is not the registry's
// name in the certs root) must be this registry's: its manifest must say
// so, or install and uninstall would change another registry's folder as
// this one's. A folder the user renamed in place (as verify's fixes for a
// misspelt folder say to) is the user's choice, and is taken as it is.
func readCurrent(root Root, dir string, ro ReadOptions) (*current, error) {
	want := ""
	if filepath.Clean(dir) != filepath.Join(root.Dir, ro.Name) {
		want = ro.Name
	}
	c, err := readEntries(dir, ro, want)
	if errors.Is(err, fs.ErrPermission) {
		return nil, &PermissionError{Dir: root.Dir, System: root.System, Err: err, Read: true}
	}
	return c, err
}

// readEntries is readCurrent without the rewording of its errors.
func readEntries(dir string, ro ReadOptions, registry string) (*current, error) {
	c := &current{entries: map[string]entry{}}
	files, err := readFiles(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return nil, err
	}
	pre := map[string][]byte{}
	for _, f := range files {
		e := entry{regular: f.info.Mode().IsRegular(), dir: f.info.IsDir(), mode: f.info.Mode().Perm(), data: f.data}
		if f.data != nil {
			pre[filepath.Join(dir, f.name)] = f.data
		}
		c.entries[f.name] = e
	}
	c.exists = true
	ro.pre = pre
	if _, ok := c.entries[ManifestFile]; ok {
		if c.manifest, err = readManifest(dir, registry); errors.Is(err, fs.ErrPermission) {
			return nil, err
		} else if err != nil {
			c.badManifest = err
		}
	}
	if c.folder, err = ReadFolderWith(dir, ro); err != nil {
		return nil, err
	}
	return c, nil
}

func modeFor(name string) fs.FileMode {
	if strings.HasSuffix(name, KeyExt) {
		return KeyMode
	}
	return CertMode
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func sortFiles(fs []FileChange) {
	sort.SliceStable(fs, func(i, j int) bool { return fs[i].Name < fs[j].Name })
	for i := range fs {
		fs[i].ModeStr = fmt.Sprintf("%04o", fs[i].Mode)
	}
}

// checkWritable fails early, before anything is written, when the certs
// root (or the parent it would be made in) is not writable.
func checkWritable(root Root, dir string) error {
	for d := filepath.Dir(dir); ; d = filepath.Dir(d) {
		_, err := os.Stat(d)
		if err == nil {
			if err := writable(d); err != nil {
				return &PermissionError{Dir: root.Dir, System: root.System, Err: err}
			}
			return nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return permission(root, err)
		}
		if filepath.Dir(d) == d {
			return nil
		}
	}
}

// readOptions are the options the run reads the registry folder with:
// the fixes of its problems name the folder's certs root as flags, the
// run's (flags, from the CLI) when it has one root, else the target's
// (a run with several roots has no --certs-dir), with the run's --home
// (homeFlags) either way.
func (fr *FolderResult) readOptions(now func() time.Time, roots []Root, flags, homeFlags string) ReadOptions {
	if len(roots) > 1 {
		flags = homeFlags
		if fr.root.Target != Docker {
			flags = rootflags.Flags([]string{string(fr.root.Target)}, "") + homeFlags
		}
	}
	return ReadOptions{Now: now, Name: fr.Registry, Flags: flags, HomeFlags: homeFlags, HostsTOML: fr.root.HostsTOML, ContainerdSkips: !fr.root.ContainerdReads()}
}

// dryCheck is the check of the new folder for a dry run: the new content
// is staged in a private temporary folder outside the certs root (removed
// after), read as the folder it would become, so that the dry run fails,
// or warns, exactly as the run would; nothing is written in the certs
// root. It returns the new folder as the run would leave it.
func (fr *FolderResult) dryCheck(opt Options) (*Folder, error) {
	tmp, err := os.MkdirTemp("", "certkit-dry-run.*")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	if err := fr.stage(tmp, func(string) {}); err != nil {
		return nil, err
	}
	return fr.checkNew(tmp, opt)
}

// containerdShadows finds the folder containerd reads for reg instead of
// the one certkit installs into root (see ContainerdLookup). In a root
// with the containerd layout, that is an error: the install could never
// work. In Docker's root it is a warning (Docker and podman read certkit's
// folder). roots are the run's: a containerd root the run also installs
// into gives containerd certkit's files itself. dir is the registry
// folder (where it really is): a link to it is no other folder.
func containerdShadows(root Root, reg host.Registry, roots []Root, dir string) ([]Problem, error) {
	search, used, own, err := ContainerdLookup(root, reg)
	if err != nil {
		return nil, err
	}
	if used < 0 || used >= own {
		return nil, nil
	}
	for _, first := range root.ContainerdFirst {
		if installsInto(roots, first) {
			return nil, nil
		}
	}
	name := reg.String()
	shadow := search[used]
	if a, err1 := os.Stat(shadow); err1 == nil {
		if b, err2 := os.Stat(dir); err2 == nil && os.SameFile(a, b) {
			return nil, nil
		}
	}
	if first := filepath.Dir(shadow); first != root.Dir {
		// A root containerd searches first, with a folder for the
		// registry: the only one it reads.
		if CertkitFolder(shadow, reg) {
			return nil, nil
		}
		return []Problem{{Severity: SeverityWarning, Kind: KindShadowFolder,
			Message: fmt.Sprintf("containerd searches %s before this certs root and reads %s for %s, so it never reads this folder (Docker and podman do)",
				first, shadow, name),
			Fix: "install for containerd too, into the folder it reads first: certkit install --target containerd --host " + shellquote.Quote(name)}}, nil
	}
	// In this root, a spelling containerd tries before the registry's own
	// folder.
	d := filepath.Base(shadow)
	if root.HostsTOML {
		return nil, &ShadowError{Root: root.Dir, Registry: name, Shadow: d}
	}
	return []Problem{{Severity: SeverityWarning, Kind: KindShadowFolder,
		Message: fmt.Sprintf("containerd, which reads Docker's certs root too, reads %s for %s instead of this folder (it looks for %s/ first), so it does not use certkit's files (Docker and podman do)",
			shadow, name, d),
		Fix: fmt.Sprintf("move it out of the way (%s; containerd then reads this folder, so copy into it first anything of %s/ you still need)",
			ShadowMove(shadow), d)}}, nil
}

// installsInto reports whether the run installs a containerd layout into
// the certs root dir.
func installsInto(roots []Root, dir string) bool {
	for _, r := range roots {
		if r.HostsTOML && filepath.Clean(r.Dir) == filepath.Clean(dir) {
			return true
		}
	}
	return false
}

// CertkitFolder reports whether dir is a registry folder certkit
// installed for reg: named after it, with certkit's manifest for it (its
// other files are not read).
func CertkitFolder(dir string, reg host.Registry) bool {
	if filepath.Base(dir) != reg.String() {
		return false
	}
	m, err := readManifest(dir, reg.String())
	return err == nil && len(m.Files) > 0
}

// problems are the folder's problems after the run (or before it, for a
// plan) that do not stop the install: the warnings about files that stay
// as they are, what a hosts.toml of the user's means for certkit's files,
// and the folders containerd reads instead of this one.
func (fr *FolderResult) problems(f *Folder) []Problem {
	var out []Problem
	if f != nil {
		out = warnings(f.Problems, fr.Files)
		if p := fr.hostsTOMLWarning(f.HostsTOML); p != nil {
			out = append(out, *p)
		}
	}
	return append(out, fr.extra...)
}

// dirs are the paths of the registry folder: where it really is, and the
// path under the certs root when that is a symbolic link.
func (fr *FolderResult) dirs() []string {
	out := []string{fr.Dir}
	if d := filepath.Join(fr.Root, fr.Registry); d != fr.Dir {
		out = append(out, d)
	}
	return out
}

// certkitFiles are the files a hosts.toml must name for containerd to use
// certkit's CA and pairs: ca.crt, then each NAME.cert and NAME.key.
func (fr *FolderResult) certkitFiles() []string {
	out := fr.caFiles()
	for _, p := range fr.pairs {
		out = append(out, p+CertExt, p+KeyExt)
	}
	return out
}

// caFiles are certkit's CA files of the folder: ca.crt, and during a CA
// rotation the previous CA's.
func (fr *FolderResult) caFiles() []string {
	if fr.previousCA {
		return []string{CAFileName, PreviousCAFileName}
	}
	return []string{CAFileName}
}

// keptForeign reports whether the run leaves name in the folder as the
// user's file.
func (fr *FolderResult) keptForeign(name string) bool {
	for _, f := range fr.Files {
		if f.Name == name {
			return f.Action == Keep && !f.Certkit
		}
	}
	return false
}

// dirFile is one entry of a folder, with its content when it is a regular
// file of at most 1 MiB.
type dirFile struct {
	name string
	info fs.FileInfo
	data []byte
}

// readFiles lists dir and reads its small regular files. The folder is
// opened once and each file read inside it, with safefs's checks (one
// open each): the folder read that follows takes the same bytes (its
// ReadOptions.pre) instead of opening the folder again for each file.
func readFiles(dir string) ([]dirFile, error) {
	d, err := safefs.OpenDir(dir)
	if err != nil {
		return nil, err
	}
	var out []dirFile
	err = d.Do(func(r *safefs.Root) error {
		des, err := r.ReadDir(".")
		if err != nil {
			return err
		}
		for _, de := range des {
			fi, err := de.Info()
			if err != nil {
				return err
			}
			f := dirFile{name: de.Name(), info: fi}
			if fi.Mode().IsRegular() && fi.Size() <= 1<<20 {
				if f.data, err = r.ReadFile(de.Name(), maxFileSize); err != nil {
					return err
				}
			}
			out = append(out, f)
		}
		return nil
	})
	return out, err
}

// preRead is the ReadOptions.pre of the folder dir: its small regular
// files, read once.
func preRead(dir string) (map[string][]byte, error) {
	files, err := readFiles(dir)
	if err != nil {
		return nil, err
	}
	pre := map[string][]byte{}
	for _, f := range files {
		if f.data != nil {
			pre[filepath.Join(dir, f.name)] = f.data
		}
	}
	return pre, nil
}
