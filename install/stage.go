// The files of a run: the new folder staged beside the old one, the
// --force backups, and what a run that died left behind.

package install

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/certkit/certkit/host"
	"github.com/certkit/certkit/internal/safefs"
)

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

// stage writes the new content of the registry folder into the empty
// folder tmp: certkit's files, and links to (or copies of) the files that
// stay. done is called after each file. The run flushes every staged
// folder at once before the first swap (batch.flush).
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
	return nil
}

// checkNew reads the new content of the registry folder, staged in tmp,
// with the same rules the runtimes apply, as the folder it becomes: it
// must not be broken. Once it is in place, that is what the folder is.
func (fr *FolderResult) checkNew(tmp string, opt Options) (*Folder, error) {
	ro := fr.readOptions(opt.Now, opt.Roots, opt.Flags, opt.HomeFlags)
	ro.As = fr.Dir
	// The staged folder is read back from the disk, as the loaders will
	// read it, each file once inside one open of the folder.
	pre, err := preRead(tmp)
	if err != nil {
		return nil, err
	}
	ro.pre = pre
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

// writeNew writes a new file with its final mode; the run flushes it with
// the rest of its folder (batch.flush).
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
