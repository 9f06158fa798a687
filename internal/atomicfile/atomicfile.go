// Package atomicfile writes sets of files so that a reader never sees half of
// one: each file goes to a temporary name in its own folder, is flushed, and
// is renamed into place. A set is all or nothing: if any step fails, the
// files already moved are put back as they were and the temporary files are
// removed, so a failed command leaves no file behind.
//
// Every step goes through safefs: each file's folder is opened as an
// os.Root at its nearest existing folder, so no link leads a write out of
// it, and, when root writes into a folder a user controls, the write is
// made with that user's rights: what it creates is the user's from the
// start, and nothing is chowned after the fact.
package atomicfile

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/certkit/certkit/internal/safefs"
)

// File is one file to write.
type File struct {
	Path string
	Data []byte
	Mode fs.FileMode
	// Group, when not nil, is the group id the file is given before it
	// takes its name (fchown of the temporary file): a key a service
	// reads through its group is never the wrong group under its name.
	Group *int
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

// group is the files of a set whose folders have one nearest existing
// folder: they are written through one safefs.Dir opened there.
type group struct {
	dir   *safefs.Dir
	files []int // indexes into the set
}

// entry is what WriteAll knows of one file of the set, by names relative
// to its group's folder.
type entry struct {
	g      *group
	rel    string // the file
	old    bool   // it existed
	temp   string // its temporary file, until renamed
	backup string // the backup made of it
}

// WriteAll writes every file in files, or none of them.
func WriteAll(files []File, opt Options) (res Result, err error) {
	if opt.Now.IsZero() {
		opt.Now = time.Now()
	}
	if opt.DirMode == 0 {
		opt.DirMode = 0o700
	}
	es := make([]entry, len(files))
	var groups []*group
	byBase := map[string]*group{}
	for i, f := range files {
		abs, err := filepath.Abs(f.Path)
		if err != nil {
			return res, err
		}
		base, err := nearestFolder(filepath.Dir(abs))
		if err != nil {
			return res, err
		}
		g := byBase[base]
		if g == nil {
			d, err := safefs.OpenDir(base)
			if err != nil {
				return res, err
			}
			g = &group{dir: d}
			byBase[base] = g
			groups = append(groups, g)
		}
		g.files = append(g.files, i)
		rel, err := filepath.Rel(base, abs)
		if err != nil {
			return res, err
		}
		es[i] = entry{g: g, rel: rel}
	}

	var existing []string
	for _, g := range groups {
		err := g.dir.Do(func(r *safefs.Root) error {
			for _, i := range g.files {
				fi, err := r.Lstat(es[i].rel)
				switch {
				case err == nil && !fi.Mode().IsRegular():
					return fmt.Errorf("%s exists and is not a regular file", files[i].Path)
				case err == nil:
					es[i].old = true
					existing = append(existing, files[i].Path)
				case !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR):
					return err
				}
			}
			return nil
		})
		if err != nil {
			return res, err
		}
	}
	if len(existing) > 0 && !opt.Force {
		return res, &ExistsError{Paths: existing}
	}

	created := map[*group][]string{} // folders made, outermost first
	renamed := 0
	order := make([]int, 0, len(files)) // the set, group by group
	for _, g := range groups {
		order = append(order, g.files...)
	}
	defer func() {
		if err == nil {
			return
		}
		for _, g := range groups {
			g.dir.Do(func(r *safefs.Root) error {
				for k := renamed - 1; k >= 0; k-- {
					e := &es[order[k]]
					if e.g != g {
						continue
					}
					if e.backup != "" {
						r.Rename(e.backup, e.rel)
						e.backup = ""
					} else {
						r.Remove(e.rel)
					}
				}
				for _, i := range g.files {
					if es[i].backup != "" {
						r.Remove(es[i].backup)
					}
					if es[i].temp != "" {
						r.Remove(es[i].temp)
					}
				}
				dirs := created[g]
				for k := len(dirs) - 1; k >= 0; k-- {
					r.Remove(dirs[k])
				}
				return nil
			})
		}
		res = Result{}
	}()

	stamp := opt.Now.UTC().Format("20060102T150405Z")
	for _, g := range groups {
		err = g.dir.Do(func(r *safefs.Root) error {
			for _, i := range g.files {
				dirs, err := mkdirAll(r, filepath.Dir(es[i].rel), opt.DirMode)
				created[g] = append(created[g], dirs...)
				if err != nil {
					return err
				}
				if es[i].temp, err = writeTemp(r, es[i].rel, files[i], !opt.NoSync); err != nil {
					return err
				}
			}
			for _, i := range g.files {
				if es[i].old {
					if es[i].backup, err = backup(r, es[i].rel, stamp); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			return res, err
		}
	}
	for _, g := range groups {
		err = g.dir.Do(func(r *safefs.Root) error {
			for _, i := range g.files {
				if err := r.Rename(es[i].temp, es[i].rel); err != nil {
					return err
				}
				es[i].temp = ""
				renamed++
			}
			if opt.NoSync {
				return nil
			}
			seen := map[string]bool{}
			for _, i := range g.files {
				if d := filepath.Dir(es[i].rel); !seen[d] {
					seen[d] = true
					if err := r.Sync(d); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			return res, err
		}
	}
	for i, f := range files {
		res.Written = append(res.Written, f.Path)
		if es[i].backup != "" {
			// Named as the caller named the file: PATH.bak-STAMP.
			res.Backups = append(res.Backups, f.Path+strings.TrimPrefix(es[i].backup, es[i].rel))
		}
	}
	return res, nil
}

// nearestFolder is dir, or its nearest ancestor that exists.
func nearestFolder(dir string) (string, error) {
	for d := dir; ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err == nil {
			if !fi.IsDir() {
				return "", fmt.Errorf("%s is not a folder", d)
			}
			return d, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
		if filepath.Dir(d) == d {
			return "", err
		}
	}
}

// mkdirAll makes the folder rel of r and the missing ones above it, with
// mode, and reports those it created, outermost first, so that a failed
// write can remove them again.
func mkdirAll(r *safefs.Root, rel string, mode fs.FileMode) ([]string, error) {
	var missing []string
	for d := rel; d != "." && d != string(filepath.Separator); d = filepath.Dir(d) {
		fi, err := r.Stat(d)
		if err == nil {
			if !fi.IsDir() {
				return nil, fmt.Errorf("%s is not a folder", r.Join(d))
			}
			break
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		missing = append(missing, d)
	}
	var created []string
	for i := len(missing) - 1; i >= 0; i-- {
		if err := r.Mkdir(missing[i], mode); err != nil && !errors.Is(err, fs.ErrExist) {
			return created, err
		}
		// Mkdir is subject to the umask; the mode asked for is the mode meant.
		if err := r.Chmod(missing[i], mode); err != nil {
			return created, err
		}
		created = append(created, missing[i])
	}
	return created, nil
}

func writeTemp(r *safefs.Root, rel string, f File, sync bool) (name string, err error) {
	var t *os.File
	for range 100 {
		name = filepath.Join(filepath.Dir(rel), "."+filepath.Base(rel)+".tmp-"+randomSuffix())
		t, err = r.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if !errors.Is(err, fs.ErrExist) {
			break
		}
	}
	if err != nil {
		return "", err
	}
	defer func() {
		if err != nil {
			t.Close()
			r.Remove(name)
		}
	}()
	if f.Group != nil {
		if err = t.Chown(-1, *f.Group); err != nil {
			return "", err
		}
	}
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
	return name, t.Close()
}

func randomSuffix() string {
	b := make([]byte, 6)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// backup makes a second name for rel, so that the file itself never goes
// missing while it is replaced.
func backup(r *safefs.Root, rel, stamp string) (string, error) {
	name := rel + ".bak-" + stamp
	for n := 2; ; n++ {
		if _, err := r.Lstat(name); errors.Is(err, fs.ErrNotExist) {
			break
		}
		name = fmt.Sprintf("%s.bak-%s.%d", rel, stamp, n)
	}
	if err := r.Link(rel, name); err == nil {
		return name, nil
	}
	data, err := r.ReadFile(rel, 64*safefs.MaxFile)
	if err != nil {
		return "", err
	}
	fi, err := r.Lstat(rel)
	if err != nil {
		return "", err
	}
	if err := r.WriteFile(name, data, fi.Mode().Perm()); err != nil {
		r.Remove(name)
		return "", err
	}
	return name, nil
}
