// Package atomicfile writes sets of files so that a reader never sees half of
// one: each file goes to a temporary name in its own folder, is flushed, and
// is renamed into place. A set is all or nothing: if any step fails, the
// files already moved are put back as they were and the temporary files are
// removed, so a failed command leaves no file behind.
package atomicfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// File is one file to write.
type File struct {
	Path string
	Data []byte
	Mode fs.FileMode
}

// Options control WriteAll.
type Options struct {
	// Force replaces existing files. The old file is kept next to the new
	// one as PATH.bak-YYYYMMDDTHHMMSSZ.
	Force bool
	// Now names backups; time.Now when zero.
	Now time.Time
	// DirMode is the mode of folders WriteAll creates (0700 when zero).
	DirMode fs.FileMode
	// NoSync skips the per-file and per-folder fsync. The caller must flush
	// later (see SyncFS): a batch of many small files flushed once is far
	// cheaper than one fsync per file.
	NoSync bool
}

// Result lists what WriteAll did.
type Result struct {
	Written []string
	Backups []string // one per replaced file, in the order of Written
}

// ExistsError reports files that exist and were not replaced.
type ExistsError struct{ Paths []string }

func (e *ExistsError) Error() string {
	if len(e.Paths) == 1 {
		return fmt.Sprintf("%s already exists", e.Paths[0])
	}
	return fmt.Sprintf("%s and %d more already exist", e.Paths[0], len(e.Paths)-1)
}

// Hint tells the user how to proceed.
func (e *ExistsError) Hint() string {
	return "nothing was changed; pass --force to replace it (the old file is kept as a .bak- backup)"
}

// Exists reports whether path exists (without following a final symlink).
func Exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// WriteAll writes every file in files, or none of them.
func WriteAll(files []File, opt Options) (res Result, err error) {
	if opt.Now.IsZero() {
		opt.Now = time.Now()
	}
	if opt.DirMode == 0 {
		opt.DirMode = 0o700
	}
	var existing []string
	old := make([]bool, len(files))
	for i, f := range files {
		fi, err := os.Lstat(f.Path)
		switch {
		case err == nil && !fi.Mode().IsRegular():
			return res, fmt.Errorf("%s exists and is not a regular file", f.Path)
		case err == nil:
			old[i] = true
			existing = append(existing, f.Path)
		case !errors.Is(err, fs.ErrNotExist):
			return res, err
		}
	}
	if len(existing) > 0 && !opt.Force {
		return res, &ExistsError{Paths: existing}
	}

	var createdDirs []string
	temps := make([]string, len(files))
	backups := make([]string, len(files))
	renamed := 0
	defer func() {
		if err == nil {
			return
		}
		for i := renamed - 1; i >= 0; i-- {
			if backups[i] != "" {
				os.Rename(backups[i], files[i].Path)
			} else {
				os.Remove(files[i].Path)
			}
		}
		for i := renamed; i < len(files); i++ {
			if backups[i] != "" {
				os.Remove(backups[i])
			}
		}
		for _, t := range temps {
			if t != "" {
				os.Remove(t)
			}
		}
		for i := len(createdDirs) - 1; i >= 0; i-- {
			os.Remove(createdDirs[i])
		}
		res = Result{}
	}()

	// Run as root (sudo certkit …) into a folder a user owns, such as that
	// user's certkit home, what is created belongs to that user, as it
	// would had the user run the command: otherwise the user could no
	// longer use or replace their own files.
	owners := make([]owner, len(files))
	for i, f := range files {
		owners[i] = inheritedOwner(filepath.Dir(f.Path))
		dirs, err := mkdirAll(filepath.Dir(f.Path), opt.DirMode)
		createdDirs = append(createdDirs, dirs...)
		if err != nil {
			return res, err
		}
		for _, d := range dirs {
			if err := owners[i].apply(d); err != nil {
				return res, err
			}
		}
	}
	for i, f := range files {
		if temps[i], err = writeTemp(f, !opt.NoSync); err != nil {
			return res, err
		}
		if err = owners[i].apply(temps[i]); err != nil {
			return res, err
		}
	}
	stamp := opt.Now.UTC().Format("20060102T150405Z")
	for i, f := range files {
		if !old[i] {
			continue
		}
		if backups[i], err = backup(f.Path, stamp); err != nil {
			return res, err
		}
	}
	for i, f := range files {
		if err = os.Rename(temps[i], f.Path); err != nil {
			return res, err
		}
		temps[i] = ""
		renamed++
	}
	if !opt.NoSync {
		seen := map[string]bool{}
		for _, f := range files {
			d := filepath.Dir(f.Path)
			if !seen[d] {
				seen[d] = true
				if err = syncDir(d); err != nil {
					return res, err
				}
			}
		}
	}
	for i, f := range files {
		res.Written = append(res.Written, f.Path)
		if backups[i] != "" {
			res.Backups = append(res.Backups, backups[i])
		}
	}
	return res, nil
}

// mkdirAll is os.MkdirAll that reports the folders it created, outermost
// first, so that a failed write can remove them again.
func mkdirAll(dir string, mode fs.FileMode) ([]string, error) {
	var missing []string
	for d := dir; ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err == nil {
			if !fi.IsDir() {
				return nil, fmt.Errorf("%s is not a folder", d)
			}
			break
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		missing = append(missing, d)
		if filepath.Dir(d) == d {
			break
		}
	}
	var created []string
	for i := len(missing) - 1; i >= 0; i-- {
		if err := os.Mkdir(missing[i], mode); err != nil && !errors.Is(err, fs.ErrExist) {
			return created, err
		}
		// Mkdir is subject to the umask; the mode asked for is the mode meant.
		if err := os.Chmod(missing[i], mode); err != nil {
			return created, err
		}
		created = append(created, missing[i])
	}
	return created, nil
}

func writeTemp(f File, sync bool) (name string, err error) {
	t, err := os.CreateTemp(filepath.Dir(f.Path), "."+filepath.Base(f.Path)+".tmp-*")
	if err != nil {
		return "", err
	}
	defer func() {
		if err != nil {
			t.Close()
			os.Remove(t.Name())
		}
	}()
	if err = t.Chmod(f.Mode); err != nil {
		return "", err
	}
	if _, err = t.Write(f.Data); err != nil {
		return "", err
	}
	if sync {
		if err = t.Sync(); err != nil {
			return "", err
		}
	}
	return t.Name(), t.Close()
}

// backup makes a second name for path, so that path itself never goes
// missing while it is replaced.
func backup(path, stamp string) (string, error) {
	name := path + ".bak-" + stamp
	for n := 2; Exists(name); n++ {
		name = fmt.Sprintf("%s.bak-%s.%d", path, stamp, n)
	}
	if err := os.Link(path, name); err == nil {
		return name, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	fi, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(name, data, fi.Mode().Perm()); err != nil {
		os.Remove(name)
		return "", err
	}
	return name, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	// Some file systems cannot flush a folder; the rename is still atomic.
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) {
		return err
	}
	return nil
}
