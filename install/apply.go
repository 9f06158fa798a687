package install

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/certkit/certkit/internal/atomicfile"
	"github.com/certkit/certkit/internal/prose"
	"github.com/certkit/certkit/internal/safefs"
)

// A run of Install or Uninstall changes its registry folders as one set:
//
//  1. prepare: every new folder is written beside the old one, flushed and
//     checked, and the --force backups are made; nothing is swapped yet;
//  2. swap: each new folder is swapped in, and each old one is kept aside;
//  3. commit: when every swap succeeded, the old folders are removed.
//
// If anything fails before the commit, the folders already swapped are
// swapped back, the backups the run made are removed (nothing was
// replaced), and so are the new folders and the certs roots the run made:
// every folder is as it was before the run. A crash at any point leaves
// each folder complete, old or new, and the next run's recoverLeftovers
// removes what is left aside.

// swapKind says how a folder was swapped, so that it can be swapped back.
type swapKind int

const (
	notSwapped swapKind = iota
	exchanged           // one exchange: the old folder is at tmp
	movedAway           // two renames: the old folder is at old
	renamedIn           // there was no folder: the new one was renamed in
	takenAway           // uninstall took the whole folder away, to tmp
)

// change is one registry folder of a run.
type change struct {
	fr     *FolderResult
	parent string // the folder that holds it (locked during the run)
	name   string
	// parentKey names the parent by device and inode; key adds the name:
	// the same for every path to the folder.
	parentKey, key string
	// dup is an earlier change of the same run with the same folder and
	// the same outcome (two certs roots that are one folder): it does the
	// work.
	dup *change
	// tmp is the new folder while it is prepared; after an exchange or a
	// takenAway swap, the old folder.
	tmp     string
	old     string // movedAway: the old folder
	swapped swapKind
	lost    bool     // could not be swapped back: the folder stays changed
	backups []string // files and folders made under .certkit-backup, in the order made
	// after is the new folder, read as the folder it becomes (install):
	// what the folder is once the run is done.
	after *Folder
}

// batch is one run's changes, and what the run made to apply them.
type batch struct {
	step     func(dir, step string)
	exchange func(a, b string) error
	created  []string // certs roots and their parents the run made, outermost first
	locked   bool     // every parent folder is locked
	locks    *lockSet // the run's, held to its end
	changes  []*change
}

func newBatch(step func(dir, step string), xchg func(a, b string) error, locks *lockSet) *batch {
	if step == nil {
		step = func(string, string) {}
	}
	if xchg == nil {
		xchg = exchange
	}
	return &batch{step: step, exchange: xchg, locks: locks}
}

// do calls fn with the rights of the user who controls the change's certs
// root (safefs.Run): as root in a root a user owns, every step is that
// user's to make.
func (c *change) do(fn func() error) error { return safefs.Run(c.fr.as, fn) }

func (b *batch) add(fr *FolderResult) {
	b.changes = append(b.changes, &change{fr: fr, parent: filepath.Dir(fr.Dir), name: filepath.Base(fr.Dir)})
}

// active returns the changes that do work (not duplicates).
func (b *batch) active() []*change {
	var out []*change
	for _, c := range b.changes {
		if c.dup == nil {
			out = append(out, c)
		}
	}
	return out
}

// run applies every change, or none: prepare runs for each folder before
// the first swap.
func (b *batch) run(prepare func(*change) error) error {
	if len(b.changes) == 0 {
		return nil
	}
	if err := b.identify(); err != nil {
		return b.fail(err)
	}
	if err := b.lock(); err != nil {
		return b.fail(err)
	}
	for _, c := range b.active() {
		if err := c.do(func() error { return recoverLeftovers(c.parent, c.name) }); err != nil {
			return b.fail(permission(c.fr.root, err))
		}
	}
	for _, c := range b.active() {
		if err := c.do(func() error { return prepare(c) }); err != nil {
			return b.fail(err)
		}
	}
	if err := b.flush(); err != nil {
		return b.fail(err)
	}
	for _, c := range b.changes {
		if c.dup != nil {
			backups := map[string]string{}
			for _, f := range c.dup.fr.Files {
				backups[f.Name] = f.Backup
			}
			for i, f := range c.fr.Files {
				c.fr.Files[i].Backup = backups[f.Name]
			}
		}
	}
	b.step("", "prepared")
	for _, c := range b.active() {
		if err := c.do(func() error { return b.swap(c) }); err != nil {
			return b.fail(permission(c.fr.root, err))
		}
	}
	b.step("", "swapped")
	return b.commit()
}

// identify names each folder by its parent's device and inode, so that
// two paths to one folder (a certs root that is a symbolic link to
// another) are locked once and changed once. Two plans for one folder
// must leave it the same (see reconcile): the later one is then a
// duplicate of the earlier.
func (b *batch) identify() error {
	for i, c := range b.changes {
		var err error
		if c.fr.as, err = safefs.Controller(c.parent); err != nil {
			return err
		}
		k, err := dirKey(c.parent)
		if err != nil {
			return permission(c.fr.root, err)
		}
		c.parentKey, c.key = k, k+"/"+c.name
		for _, e := range b.changes[:i] {
			if e.dup != nil || e.key != c.key {
				continue
			}
			if err := reconcile(e.fr, c.fr); err != nil {
				return err
			}
			c.dup = e
			break
		}
	}
	return nil
}

// checkShared finds, before a run, the folders of its plans that are one
// folder reached through two certs roots (one root, or registry folder,
// is a symbolic link to the other's), and reconciles their plans: it
// fails when they would leave the folder different. A folder whose
// parent does not exist yet cannot be another's; the run's identify
// checks again once the certs roots are made.
func checkShared(folders []FolderResult) error {
	keys := make([]string, len(folders))
	for i := range folders {
		fr := &folders[i]
		k, err := dirKey(filepath.Dir(fr.Dir))
		if err != nil {
			continue
		}
		keys[i] = k + "/" + filepath.Base(fr.Dir)
		for j := range i {
			if keys[j] == keys[i] {
				if err := reconcile(&folders[j], fr); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// reconcile checks that two plans for one registry folder leave it the
// same: the same files, each as it is or written with the same content
// and mode. Applied one after the other, the second would otherwise
// undo the first. Plans that differ only in taking the whole folder
// away (uninstall keeps a folder reached through a symbolic link, so the
// link does not dangle) both keep it.
func reconcile(a, b *FolderResult) error {
	oa, ob := a.outcome(), b.outcome()
	var differ []string
	for n, v := range oa {
		if w, ok := ob[n]; !ok || w != v {
			differ = append(differ, n)
		}
	}
	for n := range ob {
		if _, ok := oa[n]; !ok {
			differ = append(differ, n)
		}
	}
	if len(differ) > 0 {
		sort.Strings(differ)
		return &SharedFolderError{Dir: a.Dir, Roots: [2]Root{a.root, b.root}, Registry: a.Registry, Files: differ}
	}
	if a.Removed != b.Removed {
		a.Removed, b.Removed = false, false
	}
	return nil
}

// outcome is what a plan leaves in its folder: for each file, "=" when it
// stays as it is, else its mode and the content written.
func (fr *FolderResult) outcome() map[string]string {
	out := map[string]string{}
	for _, f := range fr.Files {
		switch f.Action {
		case Remove:
		case Keep, Unchanged:
			out[f.Name] = "="
		default:
			out[f.Name] = fmt.Sprintf("%04o\x00%s", f.Mode, fr.want[f.Name])
		}
	}
	return out
}

// SharedFolderError reports two certs roots of one run that reach one
// registry folder (one is a symbolic link to the other, or leads to its
// folder through one) and want different files there: swapped in one
// after the other, the second would undo the first.
type SharedFolderError struct {
	Dir      string  // the registry folder
	Registry string  // its name
	Roots    [2]Root // the two certs roots, in the run's order
	Files    []string
}

func (e *SharedFolderError) Error() string {
	a, b := filepath.Join(e.Roots[0].Dir, e.Registry), filepath.Join(e.Roots[1].Dir, e.Registry)
	how := ""
	if l := e.link(); l != "" {
		how = fmt.Sprintf(" (%s is a symbolic link)", l)
	}
	files := slices.DeleteFunc(slices.Clone(e.Files), func(n string) bool { return n == ManifestFile })
	if len(files) == 0 {
		files = e.Files
	}
	return fmt.Sprintf("%s and %s are one folder%s, but the %s and %s layouts differ there (%s): installed one after the other, the second would undo the first",
		a, b, how, e.Roots[0].Target, e.Roots[1].Target, prose.AndList(files))
}

// Hint says how to go on: install for one of the two, or give the linked
// one a folder of its own.
func (e *SharedFolderError) Hint() string {
	one := "install for one of the two targets at a time"
	for _, r := range e.Roots {
		if r.HostsTOML {
			// containerd's layout is Docker's and podman's with a
			// hosts.toml, which they ignore.
			one = "install only --target " + string(r.Target) + " there: its folder serves " +
				string(e.other(r).Target) + " too, which ignores hosts.toml"
		}
	}
	if l := e.link(); l != "" {
		return fmt.Sprintf("nothing was changed; %s; or make %s a folder of its own rather than a link", one, l)
	}
	return "nothing was changed; " + one
}

// other is the root of e that is not r.
func (e *SharedFolderError) other(r Root) Root {
	if e.Roots[0].Dir == r.Dir {
		return e.Roots[1]
	}
	return e.Roots[0]
}

// link is the symbolic link through which one of the roots reaches the
// folder: the first link on either path; "" when neither has one (a
// bind mount).
func (e *SharedFolderError) link() string {
	for _, r := range e.Roots {
		if l := firstLink(filepath.Join(r.Dir, e.Registry)); l != "" {
			return l
		}
	}
	return ""
}

// lock takes the lock of every parent folder of the run that the run does
// not hold yet (its certs roots it holds from the start), in one order
// for every certkit run (by device and inode).
func (b *batch) lock() error {
	type parent struct {
		key string
		c   *change
	}
	seen := map[string]bool{}
	var ps []parent
	for _, c := range b.active() {
		k := c.parentKey
		if !seen[k] {
			seen[k] = true
			ps = append(ps, parent{k, c})
		}
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i].key < ps[j].key })
	for _, p := range ps {
		if err := b.locks.lock(p.c.fr.root, p.c.parent); err != nil {
			return err
		}
	}
	b.locked = true
	return nil
}

// swap puts the prepared folder of c in place. When the folder exists the
// two are exchanged in one step and the old one is kept at tmp; where the
// system cannot exchange folders, the folder is first renamed away (for
// an instant the registry has no folder, which the runtimes read as "no
// certificates", never as half a pair) and recoverLeftovers puts it back
// if the run dies in between.
func (b *batch) swap(c *change) error {
	dir := c.fr.Dir
	switch {
	case c.fr.Removed:
		// Nothing is left: the folder leaves in one rename.
		if err := os.Remove(c.tmp); err != nil {
			return err
		}
		if err := os.Rename(dir, c.tmp); err != nil {
			return err
		}
		c.swapped = takenAway
		b.step(dir, "moved-away")
	case !c.fr.Existed:
		if err := renameNoReplace(c.tmp, dir); err != nil {
			return err
		}
		c.swapped = renamedIn
		b.step(dir, "renamed")
	default:
		err := b.exchange(c.tmp, dir)
		switch {
		case errors.Is(err, errNoExchange):
			old := filepath.Join(c.parent, oldPrefix+c.name+strings.TrimPrefix(filepath.Base(c.tmp), tmpPrefix+c.name))
			if err := os.Rename(dir, old); err != nil {
				return err
			}
			b.step(dir, "moved-away")
			if err := os.Rename(c.tmp, dir); err != nil {
				if os.Rename(old, dir) != nil {
					// The rollback tries again; failing that, the next
					// run's recovery puts it back.
					c.old, c.swapped = old, movedAway
				}
				return err
			}
			c.old, c.swapped = old, movedAway
		case err != nil:
			return err
		default:
			c.swapped = exchanged
		}
		b.step(dir, "exchanged")
	}
	return syncDir(c.parent)
}

// swapBack undoes swap.
func (b *batch) swapBack(c *change) error {
	dir := c.fr.Dir
	switch c.swapped {
	case exchanged:
		if err := b.exchange(c.tmp, dir); err != nil {
			return err
		}
	case movedAway:
		if exists(dir) {
			if err := os.Rename(dir, c.tmp); err != nil {
				return err
			}
			b.step(dir, "moved-back")
		}
		if err := os.Rename(c.old, dir); err != nil {
			return err
		}
	case renamedIn:
		if err := os.Rename(dir, c.tmp); err != nil {
			return err
		}
	case takenAway:
		if err := renameNoReplace(c.tmp, dir); err != nil {
			return err
		}
	}
	b.step(dir, "swapped-back")
	return syncDir(c.parent)
}

// commit removes the old folders, once every new one is in place.
func (b *batch) commit() error {
	var failed []string
	var first error
	for _, c := range b.active() {
		prev := c.tmp
		switch c.swapped {
		case movedAway:
			prev = c.old
		case renamedIn:
			continue
		}
		b.step(c.fr.Dir, "before-cleanup")
		err := c.do(func() error {
			err := os.RemoveAll(prev)
			if err == nil {
				b.step(c.fr.Dir, "cleaned-up")
				err = syncDir(c.parent)
			}
			return err
		})
		if err != nil {
			failed = append(failed, prev)
			if first == nil {
				first = err
			}
		}
	}
	if first != nil {
		return fmt.Errorf("the registry folders were changed, but the old copy %s could not be removed (the next certkit run removes it): %w",
			strings.Join(failed, ", "), first)
	}
	return nil
}

// fail takes back every change of the run, and returns err, saying what
// was put back, and what could not be.
func (b *batch) fail(err error) error {
	var restored []string
	var lost []error
	for i := len(b.changes) - 1; i >= 0; i-- {
		c := b.changes[i]
		if c.swapped == notSwapped {
			continue
		}
		if serr := c.do(func() error { return b.swapBack(c) }); serr != nil {
			c.lost = true
			lost = append(lost, fmt.Errorf("%s: %w", c.fr.Dir, serr))
			continue
		}
		restored = append([]string{c.fr.Dir}, restored...)
	}
	for i := len(b.changes) - 1; i >= 0; i-- {
		c := b.changes[i]
		if c.dup != nil {
			c.lost = c.dup.lost
		}
		if c.dup == nil && b.locked {
			// The new folders (and, for a folder that could not be
			// swapped back, the old one), as the next run would.
			if rerr := c.do(func() error { return recoverLeftovers(c.parent, c.name) }); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
				lost = append(lost, fmt.Errorf("%s: %w", c.fr.Dir, rerr))
			}
		}
		if c.lost {
			continue // its backups are backups of files now replaced
		}
		c.do(func() error {
			for j := len(c.backups) - 1; j >= 0; j-- {
				os.Remove(c.backups[j]) // a folder only when empty
			}
			return nil
		})
		for j := range c.fr.Files {
			c.fr.Files[j].Backup = ""
		}
		c.fr.Changed, c.fr.Removed = false, false
	}
	b.step("", "rolled-back")
	safefs.RemoveEmpty(b.created) // each only when empty
	if len(restored) == 0 && len(lost) == 0 {
		return err
	}
	return &RestoredError{Err: err, Restored: restored, NotRestored: lost}
}

// RestoredError reports a run that failed after it had changed some
// registry folders: it put them back as they were.
type RestoredError struct {
	Err      error    // why the run stopped
	Restored []string // folders changed and put back as they were
	// NotRestored are the folders that could not be put back: they hold
	// the new files (and their --force backups are kept).
	NotRestored []error
}

func (e *RestoredError) Error() string {
	msg := e.Err.Error()
	sep := "; "
	if strings.Contains(msg, "\n") {
		sep = "\n"
	}
	var b strings.Builder
	b.WriteString(msg)
	if len(e.Restored) > 0 {
		if len(e.NotRestored) == 0 {
			b.WriteString(sep + "nothing was changed: ")
		} else {
			b.WriteString(sep)
		}
		b.WriteString("certkit put back " + strings.Join(e.Restored, ", "))
		if len(e.Restored) == 1 {
			b.WriteString(" as it was")
		} else {
			b.WriteString(" as they were")
		}
	}
	for _, l := range e.NotRestored {
		b.WriteString(sep + "could not put back " + l.Error())
	}
	return b.String()
}

func (e *RestoredError) Unwrap() error { return e.Err }

// flush puts on disk everything the prepares wrote, before the first swap
// makes a new folder visible: one syncfs per file system (a thousand
// pairs are two thousand files, and one fsync each would cost seconds),
// where the system has it; elsewhere each staged folder, file by file.
func (b *batch) flush() error {
	seen := map[string]bool{}
	for _, c := range b.active() {
		if c.tmp == "" {
			continue
		}
		dev, _, _ := strings.Cut(c.parentKey, ":")
		if atomicfile.SyncFSWhole && seen[dev] {
			continue
		}
		seen[dev] = true
		if err := c.do(func() error { return atomicfile.SyncFS(c.tmp) }); err != nil {
			return permission(c.fr.root, err)
		}
	}
	b.step("", "flushed")
	return nil
}
