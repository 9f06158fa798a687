package install

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/certkit/certkit/ca"
	"github.com/certkit/certkit/host"
	"github.com/certkit/certkit/internal/errs"
	"github.com/certkit/certkit/internal/home"
	"github.com/certkit/certkit/internal/prose"
	"github.com/certkit/certkit/internal/rootflags"
	"github.com/certkit/certkit/internal/safefs"
	"github.com/certkit/certkit/internal/shellquote"
)

// File modes of what install writes.
const (
	DirMode  fs.FileMode = 0o755
	CertMode fs.FileMode = 0o644 // ca.crt, NAME.cert, hosts.toml, the manifest
	KeyMode  fs.FileMode = 0o600 // NAME.key
)

// backupDir is the folder in a certs root where --force keeps the files it
// replaces, per registry and run: a key kept inside a registry folder would
// read as a stray key. No runtime looks at it: they look up folders by
// registry name.
const backupDir = ".certkit-backup"

// Options say what to install where.
type Options struct {
	Home string
	// Registries to install; empty means every registry that has client
	// certificates in the certkit home.
	Registries []host.Registry
	Roots      []Root // at least one
	DryRun     bool   // plan only
	// Force replaces certkit's own files that changed (a re-issued
	// certificate, a new CA) and removes certkit's files the home no
	// longer has, keeping the old files under <root>/.certkit-backup. It
	// never replaces a file of the user's, a hosts.toml certkit did not
	// write included: that one stays, and a warning gives the lines that
	// make it name certkit's files.
	Force bool
	Now   func() time.Time // time.Now when nil
	// Flags are the run's flags that name its certs roots (" --target
	// containerd --certs-dir DIR"), for the certkit install commands the
	// fixes of the folders' problems suggest; empty for Docker's root.
	Flags string

	// step and exchange are test-only seams: step is called with the
	// registry folder and the name of each step of a run ("" and the name
	// for the steps of the whole run), so that a test can kill the process
	// there; exchange replaces the one-step swap, to test the fallback.
	step     func(dir, step string)
	exchange func(a, b string) error
}

// Action is what happens to one file.
type Action string

// The actions.
const (
	Create    Action = "create"    // new file
	Update    Action = "update"    // certkit's own file replaced (with --force; old one backed up)
	Rewrite   Action = "rewrite"   // certkit's own hosts.toml or manifest regenerated, or a mode restored
	Unchanged Action = "unchanged" // certkit's file, already right
	Keep      Action = "keep"      // not certkit's (or certkit's but no longer issued): left as it is
	Remove    Action = "remove"    // certkit's file taken away
)

// FileChange is one file of a registry folder.
type FileChange struct {
	Name    string      `json:"name"`
	Path    string      `json:"path"`
	Mode    fs.FileMode `json:"-"`
	ModeStr string      `json:"mode"`
	Action  Action      `json:"action"`
	Certkit bool        `json:"certkit"` // certkit's file (in its manifest) after the run
	Backup  string      `json:"backup,omitempty"`
	Note    string      `json:"note,omitempty"`
}

// FolderResult is the plan, then the outcome, for one registry folder.
type FolderResult struct {
	Target   Target       `json:"target"`
	Registry string       `json:"registry"`
	Root     string       `json:"root"`
	Dir      string       `json:"dir"`
	Existed  bool         `json:"existed"`
	Changed  bool         `json:"changed"`
	Removed  bool         `json:"removed,omitempty"` // uninstall took the whole folder away
	Files    []FileChange `json:"files"`
	// Problems of the folder as it is (after the run; before it, for a
	// dry run) that do not stop the install: warnings.
	Problems []Problem `json:"problems,omitempty"`
	Note     string    `json:"note,omitempty"`
	Loopback bool      `json:"loopback,omitempty"`
	// NeedsRoot (a dry run only): this process may not write the certs
	// root, a system one (under /etc), so the run itself must be made as
	// root; a not-writable warning among Problems says so too.
	NeedsRoot bool `json:"needs_root,omitempty"`

	reg  host.Registry
	root Root
	want map[string][]byte // name -> content to write
	// as is the user who controls the certs root, when certkit runs as
	// root in a root a user owns (sudo into ~/.config/...): every change
	// there is made with that user's rights (safefs.Run), so what certkit
	// makes is the user's from the start, and nothing is chowned.
	as    *safefs.User
	pairs []string  // the names of certkit's client pairs (install)
	extra []Problem // problems found outside the folder (shadow folders)
	read  *Folder   // the folder as the plan read it (uninstall)
	// unlink: uninstall leaves the folder empty, and it is reached
	// through a symbolic link in a certs root containerd reads: the link
	// goes after the run.
	unlink bool
}

// Result lists every folder install looked at, in order.
type Result struct {
	DryRun  bool           `json:"dry_run,omitempty"`
	Folders []FolderResult `json:"folders"`
}

// Changed reports whether any folder changed (or would, for a dry run).
func (r *Result) Changed() bool {
	for _, f := range r.Folders {
		if f.Changed {
			return true
		}
	}
	return false
}

// ConflictError reports files install will not replace.
type ConflictError struct {
	Dir     string
	Files   []string // names in Dir; a folder's ends in "/"
	Foreign bool     // not certkit's: never replaced
	// Reason says what the one file is, when it is not in the way of a
	// file certkit writes (a file where the registry folder belongs).
	Reason string
	// Command is the command to run again: "install" when empty.
	Command string
}

func (e *ConflictError) Error() string {
	files := strings.Join(e.Files, ", ")
	switch {
	case e.Reason != "":
		return fmt.Sprintf("%s holds %s, %s; certkit will not replace it", e.Dir, files, e.Reason)
	case e.Foreign:
		return fmt.Sprintf("%s already holds %s, which certkit did not install and will not replace", e.Dir, files)
	}
	return fmt.Sprintf("%s holds %s, installed by certkit earlier and different from what the certkit home has now", e.Dir, files)
}

// Hint says how to go on.
func (e *ConflictError) Hint() string {
	cmd := e.Command
	if cmd == "" {
		cmd = "install"
	}
	if !e.Foreign {
		return "nothing was changed; pass --force to replace them (the old files are kept under .certkit-backup in the certs root)"
	}
	if e.Reason != "" {
		return fmt.Sprintf("nothing was changed; move it out of the way (%s) and run %s again", moveAside(filepath.Join(e.Dir, e.Files[0]), ""), cmd)
	}
	if f, dir := strings.CutSuffix(e.Files[0], "/"); dir {
		// A folder in the registry folder: any name in it is in the way,
		// and beside the registry folder it would be listed as a registry
		// (and a key in it would still be in certs.d), so it leaves the
		// certs root, as a shadow folder does.
		outside := filepath.Dir(filepath.Dir(e.Dir)) // the certs root's parent
		return fmt.Sprintf("nothing was changed; move it out of the certs root (%s) and run %s again",
			moveAside(filepath.Join(e.Dir, f), filepath.Join(outside, filepath.Base(e.Dir)+"-"+f+shadowSuffix)), cmd)
	}
	// A file renamed in the folder is read by no runtime, but a key left
	// anywhere in certs.d reads as a stray key: keys leave certs.d.
	var keys, others []string
	for _, f := range e.Files {
		if strings.HasSuffix(f, KeyExt) {
			keys = append(keys, f)
		} else {
			others = append(others, f)
		}
	}
	if len(others) == 0 {
		outside := filepath.Dir(filepath.Dir(e.Dir)) // the certs root's parent
		return fmt.Sprintf("nothing was changed; move them out of certs.d (e.g. %s) and run %s again",
			moveAside(filepath.Join(e.Dir, keys[0]), filepath.Join(outside, filepath.Base(e.Dir)+"-"+keys[0]+".orig")), cmd)
	}
	mv := moveAside(filepath.Join(e.Dir, others[0]), "")
	if len(keys) > 0 {
		return fmt.Sprintf("nothing was changed; rename them to names no runtime reads (e.g. %s), but move %s out of certs.d (a key left there reads as a stray key), and run %s again",
			mv, prose.AndList(keys), cmd)
	}
	return fmt.Sprintf("nothing was changed; rename them to names no runtime reads (e.g. %s) and run %s again", mv, cmd)
}

// moveAside is the command that moves path to to, or to path.orig when to
// is empty; to a free name (to2, to3, …), so that it overwrites nothing
// and never moves a folder into another.
func moveAside(path, to string) string {
	path = strings.TrimSuffix(path, "/")
	if to == "" {
		to = path + ".orig"
	}
	dst := to
	for n := 2; exists(dst); n++ {
		dst = fmt.Sprintf("%s%d", to, n)
	}
	return "mv " + shellquote.Quote(path) + " " + shellquote.Quote(dst)
}

// ShadowError reports a folder that containerd reads for a registry
// instead of the one certkit installs into: <host>_<port>_ beside
// <host:port> in a certs root only containerd reads.
type ShadowError struct {
	Root     string // the certs root
	Registry string // host:port
	Shadow   string // the folder containerd reads: host_port_
}

func (e *ShadowError) Error() string {
	return fmt.Sprintf("%s holds %s/, which containerd reads for %s instead of %s/ (it looks for %s/ first): certkit's files there would never be used",
		e.Root, e.Shadow, e.Registry, e.Registry, e.Shadow)
}

// Hint says how to go on.
func (e *ShadowError) Hint() string {
	return fmt.Sprintf("nothing was changed; move it out of the way (%s) and run install again; containerd then reads %s/, so copy into it first anything of %s/ you still need",
		ShadowMove(filepath.Join(e.Root, e.Shadow)), filepath.Join(e.Root, e.Registry), e.Shadow)
}

// BrokenFolderError reports a registry folder whose other files break it,
// so installing certkit's files would not make the registry work.
type BrokenFolderError struct {
	Dir      string
	Problems []Problem // the errors
	Command  string    // the command to run again: "install" when empty
}

func (e *BrokenFolderError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s has files that break it; certkit changed nothing there:", e.Dir)
	for _, p := range e.Problems {
		b.WriteString("\n  " + p.String())
	}
	return b.String()
}

// Hint gives the fix of every problem, once each: for a file that must
// leave the folder (a stray key), only that, which ends its other
// problems (a key readable by others) too.
func (e *BrokenFolderError) Hint() string {
	cmd := e.Command
	if cmd == "" {
		cmd = "install"
	}
	leaves := map[string]bool{}
	for _, p := range e.Problems {
		if p.File != "" && p.Fix != "" && (p.Kind == KindStrayKey || p.Kind == KindCAKey || p.Kind == KindServerKey) {
			leaves[p.File] = true
		}
	}
	var fixes, labelled []string
	for _, p := range e.Problems {
		if p.Fix == "" || leaves[p.File] && p.Kind != KindStrayKey && p.Kind != KindCAKey && p.Kind != KindServerKey {
			continue
		}
		l := p.Fix
		if p.File != "" {
			l = p.File + ": " + l
		}
		if !slices.Contains(labelled, l) {
			fixes, labelled = append(fixes, p.Fix), append(labelled, l)
		}
	}
	switch len(fixes) {
	case 0:
		return ""
	case 1:
		return fixes[0] + "; then run " + cmd + " again"
	}
	return "fix each of them, then run " + cmd + " again:\n  " + strings.Join(labelled, "\n  ")
}

// PermissionError reports a certs root this process may not write, or
// a file in it that it may not read (Read), such as a key root installed.
type PermissionError struct {
	Dir    string
	System bool // a root under /etc: root's to write
	Err    error
	// Read: the error is about reading a file of the certs root (named by
	// Err), which certkit must compare with what it would write.
	Read bool
}

func (e *PermissionError) Error() string {
	if e.Read {
		what := "a file of " + e.Dir
		var pe *fs.PathError
		if errors.As(e.Err, &pe) {
			what = pe.Path
		}
		return fmt.Sprintf("cannot read %s: %v; nothing was changed in %s", what, errText(e.Err), e.Dir)
	}
	return fmt.Sprintf("cannot write %s: %v; nothing was changed there", e.Dir, errText(e.Err))
}

func (e *PermissionError) Unwrap() error { return e.Err }

// Hint is the generic advice; the CLI adds the exact sudo command line.
func (e *PermissionError) Hint() string {
	if e.System {
		return "re-run with sudo (sudo certkit still finds your certkit home)"
	}
	return "check who owns " + e.Dir
}

// readHome reads, under the home's shared lock and through safefs, the
// material of each registry (every registry with client pairs when regs
// is empty).
func readHome(homeDir string, regs []host.Registry, now time.Time) ([]host.Registry, []*material, error) {
	release, err := home.RLock(homeDir)
	if err != nil {
		return nil, nil, err
	}
	defer release()
	hd, err := safefs.OpenDir(homeDir)
	if err != nil {
		return nil, nil, err
	}
	var mats []*material
	err = hd.Do(func(r *safefs.Root) error {
		if len(regs) == 0 {
			entries, err := r.ReadDir("hosts")
			if err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
			for _, e := range entries {
				if !e.IsDir() {
					continue
				}
				pairs, err := r.ReadDir(filepath.Join("hosts", e.Name()))
				if err != nil || len(home.PairNames(pairs)) == 0 {
					continue
				}
				reg, err := host.Parse(e.Name())
				if err != nil {
					return fmt.Errorf("%s: %w", home.HostDir(homeDir, e.Name()), err)
				}
				regs = append(regs, reg)
			}
			if len(regs) == 0 {
				return errs.Input("no client certificates in the certkit home "+homeDir,
					"issue one first: certkit issue client --host reg.example.com:5000")
			}
		}
		for _, reg := range regs {
			m, err := loadMaterial(r, reg, now)
			if err != nil {
				return err
			}
			mats = append(mats, m)
		}
		return nil
	})
	if errors.Is(err, fs.ErrNotExist) && mats == nil {
		var pe *fs.PathError
		if errors.As(err, &pe) && pe.Path == homeDir {
			return nil, nil, &ca.NotFoundError{Dir: home.CADir(homeDir)}
		}
	}
	return regs, mats, err
}

// Install copies the CA certificate and the client pairs of each registry
// into each root. Every folder is planned and checked before the first one
// is written, each is replaced atomically, and the set is too: when one
// folder fails, those already replaced are put back, so that a failed run
// changes nothing (Changed is then false for every folder that is back as
// it was). A crash leaves each folder complete, old or new.
func Install(opt Options) (_ *Result, err error) {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	now := opt.Now()
	if len(opt.Roots) == 0 {
		return nil, errs.Input("no target given", "pass --target or --certs-dir")
	}
	regs, mats, err := readHome(opt.Home, opt.Registries, now)
	if err != nil {
		return nil, err
	}
	// The certs roots are locked before the run reads what it changes:
	// a second run plans on what the first one left.
	ls := &lockSet{}
	defer ls.release()
	if !opt.DryRun {
		made, lerr := ls.lockRoots(opt.Roots, true)
		if lerr != nil {
			return nil, lerr
		}
		defer func() {
			if err != nil {
				safefs.RemoveEmpty(made) // a failed run leaves no certs root it made
			}
		}()
	}
	return installLocked(ls, regs, mats, opt)
}

// installLocked is Install once the home is read and the roots locked.
func installLocked(ls *lockSet, regs []host.Registry, mats []*material, opt Options) (*Result, error) {
	res := &Result{DryRun: opt.DryRun}
	for _, root := range opt.Roots {
		for i, reg := range regs {
			if !opt.DryRun {
				if err := recoverFolder(ls, root, reg, "install"); err != nil {
					return nil, err
				}
			}
			fr, err := planInstall(root, reg, mats[i], opt)
			if err != nil {
				return nil, err
			}
			res.Folders = append(res.Folders, *fr)
		}
	}
	if err := checkShared(res.Folders); err != nil {
		return nil, err
	}
	if opt.DryRun {
		return res, nil
	}
	if err := applyInstall(ls, res, opt); err != nil {
		return res, err
	}
	return res, nil
}

// applyInstall makes every registry folder what its plan says, or none.
func applyInstall(ls *lockSet, res *Result, opt Options) error {
	b := newBatch(opt.step, opt.exchange, ls)
	for i := range res.Folders {
		fr := &res.Folders[i]
		if !fr.Changed {
			continue
		}
		var made []string
		err := safefs.Run(fr.as, func() (err error) {
			made, err = mkdirAll(fr.root.Dir, DirMode)
			return err
		})
		b.created = append(b.created, made...)
		if err != nil {
			return b.fail(permission(fr.root, err))
		}
		b.add(fr)
	}
	if err := b.run(func(c *change) error { return prepareInstall(b, c, opt) }); err != nil {
		return err
	}
	for _, c := range b.changes {
		after := c.after
		if c.dup != nil {
			after = c.dup.after
		}
		c.fr.Problems = c.fr.problems(after)
	}
	return nil
}

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
	for _, p := range m.pairs {
		want[p.name+CertExt] = p.certPEM
		want[p.name+KeyExt] = p.keyPEM
		fr.pairs = append(fr.pairs, p.name)
	}
	cur, err := readCurrent(root, dir, fr.readOptions(opt.Now, opt.Roots, opt.Flags))
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
		cas := []string{CAFileName}
		if cur.folder != nil {
			for _, c := range cur.folder.CAs {
				if _, own := cur.manifest.Has(c.Name); c.Name != CAFileName && !own && len(c.Certs) > 0 {
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

// resolveFolder follows a registry folder that is a symbolic link, so that
// the swap happens where the folder really is. cmd is the command that
// runs ("install" or "uninstall"), for the hint of its errors.
func resolveFolder(dir, cmd string) (string, error) {
	fi, err := os.Lstat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return dir, nil
	}
	if err != nil {
		return "", err
	}
	if fi.Mode()&fs.ModeSymlink == 0 {
		if !fi.IsDir() {
			return "", &ConflictError{Dir: filepath.Dir(dir), Files: []string{filepath.Base(dir)}, Foreign: true, Reason: "a file where the registry folder belongs", Command: cmd}
		}
		return dir, nil
	}
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return "", fmt.Errorf("%s is a broken symbolic link: %w", dir, err)
	}
	if err := checkLink(dir, fi, real); err != nil {
		return "", err
	}
	return resolveFolder(real, cmd)
}

// checkLink refuses, as root, a registry folder that is a symbolic link
// unless root owns the link and every folder it leads through: root does
// not rebuild a folder that a user chose for it.
func checkLink(link string, fi fs.FileInfo, real string) error {
	if os.Geteuid() != 0 {
		return nil
	}
	var who *safefs.User
	if uid, gid, ok := ownerOf(fi); ok && uid != 0 {
		who = safefs.LookupUID(uid, gid)
	}
	for _, p := range []string{filepath.Dir(link), real} {
		if who != nil {
			break
		}
		u, err := safefs.Controller(p)
		if err != nil {
			return err
		}
		who = u
	}
	if who == nil {
		return nil
	}
	return &LinkError{Link: link, Target: real, User: who}
}

// LinkError reports a registry folder that is a symbolic link root will not
// follow: the link, or a folder on its way, is a user's.
type LinkError struct {
	Link, Target string
	User         *safefs.User
}

func (e *LinkError) Error() string {
	return fmt.Sprintf("%s is a symbolic link to %s that %s controls; as root, certkit follows a registry folder's link only when root owns it and every folder it leads through",
		e.Link, e.Target, e.User)
}

// Hint says how to go on.
func (e *LinkError) Hint() string {
	return "nothing was changed; make " + e.Link + " a folder of its own (rm " + shellquote.Quote(e.Link) + "), or run certkit as " + e.User.String() + " without sudo"
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

// BadManifestError reports a manifest certkit cannot read: which files of
// the folder are certkit's is not known.
type BadManifestError struct {
	Path    string
	Err     error
	Command string // "install" or "uninstall"
	Fix     string // the install command that writes it again
}

func (e *BadManifestError) Error() string {
	return fmt.Sprintf("%s: %v; certkit cannot tell which files of the folder it installed", e.Path, e.Err)
}

func (e *BadManifestError) Unwrap() error { return e.Err }

// Hint names the command that writes the manifest again.
func (e *BadManifestError) Hint() string {
	h := "nothing was changed; " + e.Fix + " writes it again: the files whose content is what certkit installs become certkit's, the others stay yours"
	if e.Command == uninstallCmd {
		h += "; then run uninstall again"
	}
	return h
}

// readCurrent reads what a registry folder of root holds now. A file
// this process may not read (a key that root installed, for a dry run
// without sudo) is a PermissionError: the plan needs its content.
func readCurrent(root Root, dir string, ro ReadOptions) (*current, error) {
	c, err := readEntries(dir, ro)
	if errors.Is(err, fs.ErrPermission) {
		return nil, &PermissionError{Dir: root.Dir, System: root.System, Err: err, Read: true}
	}
	return c, err
}

// readEntries is readCurrent without the rewording of its errors.
func readEntries(dir string, ro ReadOptions) (*current, error) {
	c := &current{entries: map[string]entry{}}
	des, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return nil, err
	}
	c.exists = true
	for _, d := range des {
		fi, err := os.Lstat(filepath.Join(dir, d.Name()))
		if err != nil {
			return nil, err
		}
		e := entry{regular: fi.Mode().IsRegular(), dir: fi.IsDir(), mode: fi.Mode().Perm()}
		if e.regular && fi.Size() <= 1<<20 {
			if e.data, err = readFile(filepath.Join(dir, d.Name())); err != nil {
				return nil, err
			}
		}
		c.entries[d.Name()] = e
	}
	if _, ok := c.entries[ManifestFile]; ok {
		if c.manifest, err = readManifest(dir, ro.Name); errors.Is(err, fs.ErrPermission) {
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

// permission turns a permission error into a PermissionError.
func permission(root Root, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EROFS) {
		return &PermissionError{Dir: root.Dir, System: root.System, Err: err}
	}
	return err
}

// Temporary names in a certs root. The runtimes look folders up by
// registry name, so they never read these.
const (
	tmpPrefix = ".certkit-tmp."
	oldPrefix = ".certkit-old."
)

// prepareInstall writes the new content of one registry folder beside it,
// flushed and checked, and makes the --force backups.
func prepareInstall(b *batch, c *change, opt Options) error {
	fr := c.fr
	root := fr.root
	tmp, err := os.MkdirTemp(c.parent, tmpPrefix+c.name+".*")
	if err != nil {
		return permission(root, err)
	}
	c.tmp = tmp
	if err := os.Chmod(tmp, DirMode); err != nil {
		return err
	}
	b.step(fr.Dir, "temp-created")

	if err := fr.stage(tmp, func(name string) { b.step(fr.Dir, "file:"+name) }); err != nil {
		return err
	}
	b.step(fr.Dir, "temp-written")

	nf, err := fr.checkNew(tmp, opt)
	if err != nil {
		return err
	}
	c.after = nf

	// Backups before the swap: if the run dies after them, the old folder
	// is still in place and the backups are only extra copies.
	if err := fr.backup(opt.Now(), &c.backups); err != nil {
		return permission(root, err)
	}
	b.step(fr.Dir, "backed-up")
	return nil
}

// readOptions are the options the run reads the registry folder with:
// the fixes of its problems name the folder's certs root as flags, the
// run's (flags, from the CLI) when it has one root, else the target's
// (a run with several roots has no --certs-dir).
func (fr *FolderResult) readOptions(now func() time.Time, roots []Root, flags string) ReadOptions {
	if len(roots) > 1 {
		flags = ""
		if fr.root.Target != Docker {
			flags = rootflags.Flags([]string{string(fr.root.Target)}, "")
		}
	}
	return ReadOptions{Now: now, Name: fr.Registry, Flags: flags, HostsTOML: fr.root.HostsTOML, ContainerdSkips: !fr.root.ContainerdReads()}
}

// stage writes the new content of the registry folder into the empty
// folder tmp, flushed to disk: certkit's files, and links to (or copies
// of) the files that stay. done is called after each file.
func (fr *FolderResult) stage(tmp string, done func(name string)) error {
	for _, f := range fr.Files {
		dst := filepath.Join(tmp, f.Name)
		var err error
		switch f.Action {
		case Remove:
			continue
		case Keep, Unchanged:
			err = linkOrCopy(filepath.Join(fr.Dir, f.Name), dst)
		default:
			err = writeNew(dst, fr.want[f.Name], f.Mode)
		}
		if err != nil {
			return permission(fr.root, err)
		}
		done(f.Name)
	}
	return syncDir(tmp)
}

// checkNew reads the new content of the registry folder, staged in tmp,
// with the same rules the runtimes apply, as the folder it becomes: it
// must not be broken. Once it is in place, that is what the folder is.
func (fr *FolderResult) checkNew(tmp string, opt Options) (*Folder, error) {
	ro := fr.readOptions(opt.Now, opt.Roots, opt.Flags)
	ro.As = fr.Dir
	nf, err := ReadFolderWith(tmp, ro)
	if err != nil {
		return nil, err
	}
	if broken := nf.Errors(); len(broken) > 0 {
		for i, p := range broken {
			// A hosts.toml of the user's that names certkit's files the
			// wrong way: the lines that name them right.
			if p.File == HostsFile && p.Path != "" && fr.keptForeign(HostsFile) && nf.HostsTOML != nil &&
				nf.HostsTOML.Err == nil && len(nf.HostsTOML.Hosts) > 0 && fr.named([]string{p.Path}, filepath.Base(p.Path)) &&
				slices.Contains(fr.certkitFiles(), filepath.Base(p.Path)) {
				broken[i].Fix = tomlLines(nf.HostsTOML, fr, filepath.Join(fr.Dir, HostsFile))
			}
		}
		return nil, &BrokenFolderError{Dir: fr.Dir, Problems: broken}
	}
	return nf, nil
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

// recoverFolder finishes, under the lock, what an earlier run that died
// left behind for one registry folder (see recoverLeftovers). It writes
// nothing when nothing was left behind. cmd is as for resolveFolder.
func recoverFolder(ls *lockSet, root Root, reg host.Registry, cmd string) error {
	dir, err := resolveFolder(filepath.Join(root.Dir, reg.String()), cmd)
	if err != nil {
		return err
	}
	parent, name := filepath.Dir(dir), filepath.Base(dir)
	des, err := os.ReadDir(parent)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return permission(root, err)
	}
	found := false
	for _, d := range des {
		if isTemp(d.Name(), tmpPrefix, name) || isTemp(d.Name(), oldPrefix, name) {
			found = true
		}
	}
	if !found {
		return nil
	}
	if err := ls.lock(root, parent); err != nil {
		return err
	}
	as, err := safefs.Controller(parent)
	if err != nil {
		return err
	}
	return permission(root, safefs.Run(as, func() error { return recoverLeftovers(parent, name) }))
}

// recoverLeftovers finishes what a run that died left behind, under the
// lock: a temporary folder is removed (the folder in place is complete,
// old or new); an old folder moved away by the two-rename fallback is put
// back when the new one never arrived, else removed.
func recoverLeftovers(parent, name string) error {
	des, err := os.ReadDir(parent)
	if err != nil {
		return err
	}
	dir := filepath.Join(parent, name)
	for _, d := range des {
		n := d.Name()
		p := filepath.Join(parent, n)
		switch {
		case isTemp(n, tmpPrefix, name):
			if err := os.RemoveAll(p); err != nil {
				return err
			}
		case isTemp(n, oldPrefix, name):
			if _, err := os.Lstat(dir); errors.Is(err, fs.ErrNotExist) {
				if err := os.Rename(p, dir); err != nil {
					return err
				}
				continue
			}
			if err := os.RemoveAll(p); err != nil {
				return err
			}
		}
	}
	return nil
}

// isTemp reports whether n is prefix+name+"."+digits (os.MkdirTemp's
// random part).
func isTemp(n, prefix, name string) bool {
	rest, ok := strings.CutPrefix(n, prefix+name+".")
	if !ok || rest == "" {
		return false
	}
	for _, c := range rest {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// backup keeps every file this run replaces or removes, under
// <root>/.certkit-backup/<registry>/<time>/, and adds what it makes (folders
// and files, in order) to made.
func (fr *FolderResult) backup(now time.Time, made *[]string) error {
	var todo []int
	for i, f := range fr.Files {
		if f.Action == Update || f.Action == Remove {
			todo = append(todo, i)
		}
	}
	if len(todo) == 0 {
		return nil
	}
	base := filepath.Join(filepath.Dir(fr.Dir), backupDir, filepath.Base(fr.Dir))
	stamp := now.UTC().Format("20060102T150405Z")
	dir := filepath.Join(base, stamp)
	for n := 2; exists(dir); n++ {
		dir = filepath.Join(base, fmt.Sprintf("%s.%d", stamp, n))
	}
	m, err := mkdirAll(dir, 0o700)
	*made = append(*made, m...)
	if err != nil {
		return err
	}
	for _, i := range todo {
		f := &fr.Files[i]
		dst := filepath.Join(dir, f.Name)
		if err := linkOrCopy(filepath.Join(fr.Dir, f.Name), dst); err != nil {
			os.Remove(dst) // a copy cut short
			return err
		}
		*made = append(*made, dst)
		f.Backup = dst
	}
	return syncDir(dir)
}

// mkdirAll makes dir and its missing parents with mode (a certs root
// DirMode; a backup folder 0700, as backups hold keys), owned by o, and
// reports those it made, outermost first, even when it fails.
func mkdirAll(dir string, mode fs.FileMode) ([]string, error) {
	var missing []string
	for d := dir; !exists(d); d = filepath.Dir(d) {
		missing = append(missing, d)
		if filepath.Dir(d) == d {
			break
		}
	}
	var made []string
	for i := len(missing) - 1; i >= 0; i-- {
		err := os.Mkdir(missing[i], mode)
		if err == nil {
			made = append(made, missing[i])
		} else if !errors.Is(err, fs.ErrExist) {
			return made, err
		}
		if err := os.Chmod(missing[i], mode); err != nil { // the umask does not decide
			return made, err
		}
	}
	return made, nil
}

// writeNew writes a new file, flushed to disk, with its final mode and
// owner.
func writeNew(path string, data []byte, mode fs.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Chmod(mode); err != nil { // the umask does not decide
		return err
	}
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	return f.Close()
}

// linkOrCopy gives the file at src a second name dst: a hard link, so a
// kept file stays the very same file (content, mode, owner, times); a copy
// that keeps them where links are not possible.
func linkOrCopy(src, dst string) error {
	if err := os.Link(src, dst); err == nil {
		return nil
	}
	fi, err := os.Lstat(src)
	if err != nil {
		return err
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		target, err := os.Readlink(src)
		if err != nil {
			return err
		}
		return os.Symlink(target, dst)
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fi.Mode().Perm())
	if err != nil {
		return err
	}
	defer out.Close()
	if err := out.Chmod(fi.Mode().Perm()); err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		return err
	}
	if err := out.Sync(); err != nil {
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	return os.Chtimes(dst, fi.ModTime(), fi.ModTime())
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// renameIfAbsent moves a to b unless b exists.
func renameIfAbsent(a, b string) error {
	if exists(b) {
		return &fs.PathError{Op: "rename", Path: b, Err: fs.ErrExist}
	}
	return os.Rename(a, b)
}

var errNoExchange = errors.New("this file system cannot exchange two folders in one step")

// KindShadowFolder: containerd reads another folder for the registry than
// the one certkit installs into, and never this one: <host>_<port>_ in the
// same certs root (it looks for that spelling first), or a folder for the
// registry, or _default, in a certs root it searches before this one
// (certsd.md §2).
const KindShadowFolder Kind = "shadow-folder"

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
	out := []string{CAFileName}
	for _, p := range fr.pairs {
		out = append(out, p+CertExt, p+KeyExt)
	}
	return out
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

// named reports whether one of paths (absolute, as HostsTOML holds them) is
// name in the registry folder: by its path, or by a path whose folder is
// the registry folder reached another way (through a symbolic link to the
// folder or to its certs root), as containerd opens it.
func (fr *FolderResult) named(paths []string, name string) bool {
	var dir fs.FileInfo // the registry folder's, read once
	for _, p := range paths {
		if filepath.Base(p) != name {
			continue
		}
		parent := filepath.Dir(p)
		if slices.Contains(fr.dirs(), parent) {
			return true
		}
		if dir == nil {
			var err error
			if dir, err = os.Stat(fr.Dir); err != nil {
				continue
			}
		}
		if fi, err := os.Stat(parent); err == nil && os.SameFile(fi, dir) {
			return true
		}
	}
	return false
}

// missingFrom lists certkit's files that h does not name anywhere.
func (fr *FolderResult) missingFrom(h *HostsTOML) []string {
	uses := h.Uses()
	var out []string
	for _, n := range fr.certkitFiles() {
		if !fr.named(uses, n) {
			out = append(out, n)
		}
	}
	return out
}

// namesNew reports whether p is about a hosts.toml of the user's naming a
// file the plan creates, by a path where it does not exist yet: the file
// is there once the run is done.
func (fr *FolderResult) namesNew(p Problem) bool {
	if p.Kind != KindHostsTOMLUnreadableFile || p.File != HostsFile {
		return false
	}
	for _, f := range fr.Files {
		if f.Action == Create && fr.named([]string{p.Path}, f.Name) && !exists(p.Path) {
			return true
		}
	}
	return false
}

// hostsTOMLWarning is the warning about a hosts.toml of the user's that
// does not name all of certkit's files: containerd (and Docker's containerd
// image store) read only what it names, so they ignore the others. It says
// the exact lines that make them read certkit's files. nil when there is
// nothing to say.
func (fr *FolderResult) hostsTOMLWarning(h *HostsTOML) *Problem {
	if h == nil || h.Err != nil || len(h.Hosts) == 0 || fr.root.Target == Podman || !fr.keptForeign(HostsFile) {
		return nil
	}
	missing := fr.missingFrom(h)
	if len(missing) == 0 {
		return nil
	}
	path := filepath.Join(fr.Dir, HostsFile)
	var msg string
	switch {
	case fr.root.HostsTOML:
		msg = fmt.Sprintf("was not written by certkit (kept as it is) and does not name %s, which certkit installed beside it: containerd reads only the files hosts.toml names, so it will not use them until it does",
			prose.AndList(missing))
	default:
		readers := "Docker's containerd image store reads only the files hosts.toml names, so it ignores them"
		if fr.root.ContainerdReads() { // Docker's root
			readers = "containerd (which reads Docker's certs root too) and Docker's containerd image store read only the files hosts.toml names, so they ignore them"
		}
		msg = fmt.Sprintf("was not written by certkit and does not name %s, which certkit installed beside it: %s until it does (Docker's classic image store and podman read them)",
			prose.AndList(missing), readers)
	}
	fix := tomlLines(h, fr, path)
	return &Problem{Severity: SeverityWarning, Kind: KindHiddenByHostsTOML, File: HostsFile, Message: msg, Fix: fix}
}

// tomlLines says what to set in the user's hosts.toml so that it names
// certkit's files: ca and client at the top (the root fields, which apply
// to the server entry containerd appends last), and in each [host] entry
// for the registry. Each line keeps what the entry names already, so that it can
// replace the entry's own line.
func tomlLines(h *HostsTOML, fr *FolderResult, path string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "set these lines in %s, each in place of the entry's own ca or client line if it has one; ", path)
	// The root entry is last in Hosts; its lines go first, at the top.
	entries := append([]TOMLHost{h.Hosts[len(h.Hosts)-1]}, h.Hosts[:len(h.Hosts)-1]...)
	first := true
	for _, e := range entries {
		if !e.Root && !sameRegistry(e.URL, fr.Registry) {
			continue
		}
		lines := fr.entryLines(e)
		if len(lines) == 0 {
			continue
		}
		where := "at the top, before the first [table]:"
		if !e.Root {
			where = "under [host." + strconv.Quote(e.URL) + "]:"
		}
		if !first {
			b.WriteString("\nand ")
		}
		first = false
		b.WriteString(where)
		for _, l := range lines {
			b.WriteString("\n  " + l)
		}
	}
	return b.String()
}

// entryLines are the ca and client lines a hosts.toml entry needs to name
// certkit's files too, with what it names already; none when it names
// them all.
func (fr *FolderResult) entryLines(e TOMLHost) []string {
	rel := func(p string) string {
		for _, d := range fr.dirs() {
			if filepath.Dir(p) == d {
				return filepath.Base(p)
			}
		}
		return p
	}
	// What an entry names of certkit's files in the wrong place (a key or
	// client certificate as a CA, a pair swapped or split) is dropped from
	// its line, and certkit's files are named where they belong.
	pairFile := func(p string) bool {
		for _, n := range fr.pairs {
			if fr.named([]string{p}, n+CertExt) || fr.named([]string{p}, n+KeyExt) {
				return true
			}
		}
		return false
	}
	var out []string
	cas, dropped := []string{}, false
	for _, c := range e.CA {
		if pairFile(c) {
			dropped = true
			continue
		}
		cas = append(cas, strconv.Quote(rel(c)))
	}
	if dropped || !fr.named(e.CA, CAFileName) {
		if !fr.named(e.CA, CAFileName) {
			cas = append(cas, strconv.Quote(CAFileName))
		}
		if len(cas) == 1 {
			out = append(out, "ca = "+cas[0])
		} else {
			out = append(out, "ca = ["+strings.Join(cas, ", ")+"]")
		}
	}
	var pairs, add []string
	right := func(p [2]string) bool {
		for _, n := range fr.pairs {
			if fr.named(p[:1], n+CertExt) && fr.named(p[1:], n+KeyExt) {
				return true
			}
		}
		return false
	}
	dropped = false
	for _, p := range e.Client {
		switch {
		case right(p):
		case pairFile(p[0]) || p[1] != "" && pairFile(p[1]):
			dropped = true
			continue
		case p[1] == "":
			pairs = append(pairs, strconv.Quote(rel(p[0])))
			continue
		}
		pairs = append(pairs, fmt.Sprintf("[%s, %s]", strconv.Quote(rel(p[0])), strconv.Quote(rel(p[1]))))
	}
	for _, n := range fr.pairs {
		found := false
		for _, p := range e.Client {
			found = found || fr.named(p[:1], n+CertExt) && fr.named(p[1:], n+KeyExt)
		}
		if !found {
			add = append(add, fmt.Sprintf("[%s, %s]", strconv.Quote(n+CertExt), strconv.Quote(n+KeyExt)))
		}
	}
	if len(add) > 0 || dropped {
		out = append(out, "client = ["+strings.Join(append(pairs, add...), ", ")+"]")
	}
	return out
}

// renderedByCertkit reports whether data, the hosts.toml of a registry
// folder dir (parsed as h), is byte for byte one certkit install writes
// for registry, naming files of the folder: certkit's, even when the
// manifest that would say so cannot be read. A hosts.toml the user wrote,
// or edited, or one certkit template containerd made (absolute paths,
// its own header), is not.
func renderedByCertkit(data []byte, registry string, h *HostsTOML, dir string) bool {
	if h == nil || h.Err != nil || len(h.Hosts) == 0 {
		return false
	}
	e := h.Hosts[0]
	var cas, pairs []string
	for _, c := range e.CA {
		if filepath.Dir(c) != filepath.Clean(dir) {
			return false
		}
		cas = append(cas, filepath.Base(c))
	}
	for _, p := range e.Client {
		stem, ok := strings.CutSuffix(p[0], CertExt)
		if !ok || filepath.Dir(p[0]) != filepath.Clean(dir) || p[1] != stem+KeyExt {
			return false
		}
		pairs = append(pairs, filepath.Base(stem))
	}
	return bytes.Equal(data, renderHostsTOML(registry, cas, pairs))
}

// sameRegistry reports whether a [host] URL of a hosts.toml is the
// registry itself (not a mirror).
func sameRegistry(url, registry string) bool {
	return url != "" && strings.EqualFold(serverHost(url), registry)
}
