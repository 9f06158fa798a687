package install

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/certkit/certkit/host"
	"github.com/certkit/certkit/internal/errs"
	"github.com/certkit/certkit/internal/prose"
	"github.com/certkit/certkit/internal/shellquote"
)

// UninstallOptions say what to take away where.
type UninstallOptions struct {
	Registries []host.Registry // at least one
	Roots      []Root
	DryRun     bool
	Now        func() time.Time
	// Flags name the run's certs roots, and HomeFlags its home, as in
	// Options.
	Flags, HomeFlags string

	step     func(dir, step string) // test-only seams, as in Options
	exchange func(a, b string) error
}

// Uninstall removes the files certkit installed for each registry in each
// root, as its manifest lists them, and nothing else: the user's files stay,
// and the folder goes only when nothing else is left in it. A file of
// certkit's that was changed since is kept (with its pair partner, so no
// half pair is left). Each folder changes in one swap, and the set of
// folders as one, as with Install: a failed run changes nothing.
func Uninstall(opt UninstallOptions) (*Result, error) {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if len(opt.Registries) == 0 {
		return nil, errs.Input("no registry given", "pass --host, e.g. certkit uninstall --host reg.example.com:5000")
	}
	if len(opt.Roots) == 0 {
		return nil, errs.Input("no target given", "pass --target or --certs-dir")
	}
	ls := &lockSet{}
	defer ls.release()
	if !opt.DryRun {
		if _, err := ls.lockRoots(opt.Roots, false); err != nil {
			return nil, err
		}
	}
	res := &Result{DryRun: opt.DryRun}
	for _, root := range opt.Roots {
		for _, reg := range opt.Registries {
			if !opt.DryRun {
				if err := recoverFolder(ls, root, reg, uninstallCmd); err != nil {
					return nil, err
				}
			}
			fr, err := planUninstall(root, reg, opt)
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
	b := newBatch(opt.step, opt.exchange, ls)
	for i := range res.Folders {
		if res.Folders[i].Changed {
			b.add(&res.Folders[i])
		}
	}
	if err := b.run(func(c *change) error { return prepareUninstall(b, c, opt) }); err != nil {
		return res, err
	}
	for i := range res.Folders {
		if err := res.Folders[i].removeLink(); err != nil {
			return res, err
		}
	}
	return res, nil
}

// KindLeftForContainerd: uninstall left files of the user's in a registry
// folder of a containerd root, without hosts.toml: containerd reads that
// folder, and no later certs root, for the registry.
const KindLeftForContainerd Kind = "left-for-containerd"

// removeLink removes the symbolic link, in a certs root containerd reads,
// to a registry folder uninstall emptied and took away
// (FolderResult.unlink).
func (fr *FolderResult) removeLink() error {
	if !fr.unlink {
		return nil
	}
	link := filepath.Join(fr.Root, fr.Registry)
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		return err
	}
	if err := os.Remove(link); err != nil {
		return fmt.Errorf("certkit's files for %s were removed, but not the link %s to the folder, now empty, which containerd reads and stops at: %w; remove it: rm %s",
			fr.Registry, link, permission(fr.root, err), shellquote.Quote(link))
	}
	fr.Note = fmt.Sprintf("the link %s to it was removed too: containerd would read an empty folder for %s and stop its search there", link, fr.Registry)
	return syncDir(fr.Root)
}

// uninstallCmd is the command the hints of Uninstall's errors say to run
// again (install's say install).
const uninstallCmd = "uninstall"

func planUninstall(root Root, reg host.Registry, opt UninstallOptions) (*FolderResult, error) {
	name := reg.String()
	fr := &FolderResult{Target: root.Target, Registry: name, Root: root.Dir, Dir: filepath.Join(root.Dir, name), reg: reg, root: root,
		Files: []FileChange{}} // [] in JSON when there is none
	dir, err := resolveFolder(fr.Dir, uninstallCmd)
	if err != nil {
		return nil, err
	}
	linked := dir != fr.Dir
	fr.Dir = dir
	cur, err := readCurrent(root, dir, fr.readOptions(opt.Now, opt.Roots, opt.Flags, opt.HomeFlags))
	if err != nil {
		return nil, err
	}
	if cur.badManifest != nil {
		return nil, &BadManifestError{Path: filepath.Join(dir, ManifestFile), Err: cur.badManifest, Command: uninstallCmd,
			Fix: Command(fr.Registry, true, opt.Flags)}
	}
	fr.Existed, fr.read = cur.exists, cur.folder
	if !cur.exists || cur.manifest == nil {
		for _, n := range sortedKeys(cur.entries) {
			fr.Files = append(fr.Files, FileChange{Name: n, Path: filepath.Join(dir, n), Mode: cur.entries[n].mode, Action: Keep})
		}
		sortFiles(fr.Files)
		return fr, nil
	}
	remove := map[string]bool{ManifestFile: true}
	changed := map[string]bool{}
	for _, e := range cur.manifest.Files {
		ce, ok := cur.entries[e.Name]
		if !ok {
			continue
		}
		if ce.regular && sum(ce.data) == e.SHA256 {
			remove[e.Name] = true
		} else {
			changed[e.Name] = true
		}
	}
	// Never leave half a pair: if either file of a pair stays, both do.
	for n := range remove {
		if partner, ok := pairPartner(n); ok && cur.entries[partner].regular {
			if !remove[partner] {
				delete(remove, n)
				changed[n] = true
			}
		}
	}
	var kept []ManifestEntry
	for _, e := range cur.manifest.Files {
		if changed[e.Name] {
			kept = append(kept, e)
		}
	}
	for _, n := range sortedKeys(cur.entries) {
		e := cur.entries[n]
		fc := FileChange{Name: n, Path: filepath.Join(dir, n), Mode: e.mode}
		switch {
		case n == ManifestFile && len(kept) > 0:
			fc.Action, fc.Certkit, fc.Mode = Rewrite, true, CertMode
		case remove[n]:
			fc.Action = Remove
		case changed[n]:
			fc.Action, fc.Certkit, fc.Note = Keep, true, "installed by certkit but changed since (or its pair partner was); kept"
		default:
			if e.dir {
				return nil, &ConflictError{Dir: dir, Files: []string{n + "/"}, Foreign: true, Command: uninstallCmd}
			}
			fc.Action = Keep
		}
		fr.Files = append(fr.Files, fc)
	}
	fr.want = map[string][]byte{}
	if len(kept) > 0 {
		m := &Manifest{Version: manifestVersion, Registry: name, Files: kept}
		fr.want[ManifestFile] = m.encode()
	}
	sortFiles(fr.Files)
	left := 0
	for _, f := range fr.Files {
		if f.Action != Keep && f.Action != Unchanged {
			fr.Changed = true
		}
		if f.Action != Remove {
			left++
		}
	}
	// A folder reached through a symbolic link stays (empty), so that the
	// link does not dangle; but in a certs root containerd reads, the link
	// to an empty folder would be a registry folder where containerd
	// stops its search (certsd.md §2): the link goes, after the run, and
	// the folder it led to, which certkit emptied, goes in the run, so
	// that no empty folder is left behind for good (where the link led,
	// in Docker's root say, it would read as the registry's).
	fr.unlink = fr.Changed && left == 0 && linked && root.ContainerdReads()
	fr.Removed = fr.Changed && left == 0 && (!linked || fr.unlink)
	if fr.unlink && opt.DryRun {
		fr.Note = fmt.Sprintf("the link %s to it goes too: containerd would read the empty folder for %s and stop its search there",
			filepath.Join(fr.Root, fr.Registry), name)
	}
	if fr.Changed && left > 0 && root.HostsTOML && !slices.ContainsFunc(fr.Files, func(f FileChange) bool {
		return f.Name == HostsFile && f.Action != Remove
	}) {
		var kept []string
		for _, f := range fr.Files {
			if f.Action != Remove && f.Name != ManifestFile {
				kept = append(kept, f.Name)
			}
		}
		fr.Problems = append(fr.Problems, Problem{Severity: SeverityWarning, Kind: KindLeftForContainerd,
			Message: fmt.Sprintf("keeps %s, which certkit did not install (or which changed since), so containerd still reads this folder for %s: with no hosts.toml left, it reads the loose files here and does not go on to the next certs root of its config_path (such as /etc/docker/certs.d)",
				prose.AndList(kept), name),
			Fix: "if containerd should not read it, move the folder out of the certs root: " + ShadowMove(filepath.Join(root.Dir, name))})
	}
	if fr.Changed {
		if err := fr.checkWritable(opt.DryRun, uninstallCmd); err != nil {
			return nil, err
		}
	}
	return fr, nil
}

// newErrors returns the errors in after that are not in before.
func newErrors(before, after []Problem) []Problem {
	had := map[string]bool{}
	for _, p := range before {
		had[p.File+"\x00"+p.Message] = true
	}
	var out []Problem
	for _, p := range after {
		if p.Severity == SeverityError && !had[p.File+"\x00"+p.Message] {
			out = append(out, p)
		}
	}
	return out
}

// pairPartner returns NAME.key for NAME.cert and the other way round.
func pairPartner(n string) (string, bool) {
	if stem, ok := cutSuffix(n, CertExt); ok {
		return stem + KeyExt, true
	}
	if stem, ok := cutSuffix(n, KeyExt); ok {
		return stem + CertExt, true
	}
	return "", false
}

func cutSuffix(s, suffix string) (string, bool) {
	if len(s) > len(suffix) && s[len(s)-len(suffix):] == suffix {
		return s[:len(s)-len(suffix)], true
	}
	return "", false
}

// prepareUninstall writes, beside a registry folder, what stays of it,
// flushed and checked; or, when nothing stays, reserves the name the
// folder leaves to.
func prepareUninstall(b *batch, c *change, opt UninstallOptions) error {
	fr := c.fr
	tmp, err := os.MkdirTemp(c.parent, tmpPrefix+c.name+".*")
	if err != nil {
		return permission(fr.root, err)
	}
	c.tmp = tmp
	if fr.Removed {
		return nil
	}
	fi, err := os.Stat(fr.Dir)
	if err != nil {
		return err
	}
	if err := os.Chmod(tmp, fi.Mode().Perm()); err != nil {
		return err
	}
	b.step(fr.Dir, "temp-created")
	for _, f := range fr.Files {
		dst := filepath.Join(tmp, f.Name)
		switch {
		case f.Action == Remove:
			continue
		case fr.want[f.Name] != nil:
			err = writeNew(dst, fr.want[f.Name], f.Mode)
		default:
			err = linkOrCopy(f.Path, dst)
		}
		if err != nil {
			return permission(fr.root, err)
		}
		b.step(fr.Dir, "file:"+f.Name)
	}
	b.step(fr.Dir, "temp-written")
	// Taking certkit's files away must not break what stays (a hosts.toml
	// of the user's that names them, say).
	// The new folder is read as the folder it becomes, and compared with
	// the folder as the plan read it.
	ro := fr.readOptions(opt.Now, opt.Roots, opt.Flags, opt.HomeFlags)
	ro.As = fr.Dir
	after, err := ReadFolderWith(tmp, ro)
	if err != nil {
		return err
	}
	if broken := newErrors(fr.read.Problems, after.Problems); len(broken) > 0 {
		return &BrokenFolderError{Dir: fr.Dir, Problems: broken, Command: uninstallCmd}
	}
	return nil
}
