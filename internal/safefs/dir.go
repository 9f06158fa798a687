package safefs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"syscall"
)

// Dir is a folder and the user who controls it (see Controller).
type Dir struct {
	Path string
	As   *User // nil: root controls it, or this process is not root

	// boundary is where As's control begins (see control): root opens it,
	// and As resolves rel inside it.
	boundary, rel string
}

// OpenDir names the folder at path and finds who controls it. The folder
// need not exist yet.
func OpenDir(path string) (*Dir, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	u, boundary, rel, err := control(abs)
	if err != nil {
		return nil, err
	}
	return &Dir{Path: abs, As: u, boundary: boundary, rel: rel}, nil
}

// Do opens d as an os.Root and calls fn with it, with the rights of the
// user who controls d (Run). Every path fn uses is resolved inside d: no
// link, and no "..", leads out of it.
//
// In a folder a user controls, root opens only the boundary of the user's
// control (a folder whose name is root's), and the rest of the path is
// resolved inside it with the user's rights: a link of the user's cannot
// lead root anywhere, and the user needs no right to the folders above
// their own.
func (d *Dir) Do(fn func(r *Root) error) error {
	var base *os.Root
	if d.As != nil {
		var err error
		if base, err = os.OpenRoot(d.boundary); err != nil {
			return err
		}
		defer base.Close()
	}
	return Run(d.As, func() error {
		var or *os.Root
		var err error
		if base != nil {
			or, err = base.OpenRoot(d.rel)
		} else {
			or, err = os.OpenRoot(d.Path)
		}
		if err != nil {
			return renamePathErr(err, d.Path)
		}
		r := &Root{Root: or, dir: d}
		defer r.Close()
		if err := r.checkSelf(); err != nil {
			return err
		}
		return fn(r)
	})
}

// Root is a folder opened with os.Root, which resolves every name inside
// it, with certkit's checks on what it reads.
type Root struct {
	*os.Root
	dir *Dir

	// self is the folder itself, opened through Root once ReadFile needs
	// its descriptor (readDirect), and closed with it.
	selfOnce sync.Once
	self     *os.File
	selfFD   int
	selfErr  error
}

// Close closes the folder.
func (r *Root) Close() error {
	if r.self != nil {
		r.self.Close()
	}
	return r.Root.Close()
}

// dirFD is the descriptor of r's folder: "." opened through os.Root, so
// the folder that was opened, not whatever its path names now.
func (r *Root) dirFD() (int, error) {
	r.selfOnce.Do(func() {
		f, err := r.Root.Open(".")
		if err != nil {
			r.selfErr = err
			return
		}
		r.self = f
		rc, err := f.SyscallConn()
		if err == nil {
			err = rc.Control(func(fd uintptr) { r.selfFD = int(fd) })
		}
		r.selfErr = err
	})
	return r.selfFD, r.selfErr
}

// Path is the folder's path, for messages.
func (r *Root) Path() string { return r.dir.Path }

// Join names a file of the folder, for messages.
func (r *Root) Join(name string) string { return filepath.Join(r.dir.Path, name) }

// checkSelf checks the folder that was opened (not the path): in a folder
// a user controls, it must be that user's or root's.
func (r *Root) checkSelf() error {
	if r.dir.As == nil {
		return nil
	}
	fi, err := r.Root.Stat(".")
	if err != nil {
		return err
	}
	return r.checkOwner(fi, r.dir.Path, "folder")
}

// checkOwner refuses, in a folder a user controls, what is neither that
// user's nor root's, and a root-owned file with a second name (a hard
// link the user made to root's file).
func (r *Root) checkOwner(fi fs.FileInfo, path, what string) error {
	u := r.dir.As
	if u == nil {
		return nil
	}
	uid := ownerUID(fi)
	switch {
	case uid == u.UID:
		return nil
	case uid == 0:
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Nlink > 1 && !fi.IsDir() {
			return &OwnerError{Path: path, What: what, UID: uid, Want: u, Links: int(st.Nlink)}
		}
		return nil
	}
	return &OwnerError{Path: path, What: what, UID: uid, Want: u}
}

// OwnerError is a file root will not read in a folder a user controls:
// it belongs to someone else.
type OwnerError struct {
	Path  string
	What  string // "file" or "folder"
	UID   int
	Want  *User
	Links int // a root file with more than one name
}

func (e *OwnerError) Error() string {
	if e.Links > 1 {
		return fmt.Sprintf("%s is a %s of root's with %d names, in a folder %s controls: certkit will not read it as root", e.Path, e.What, e.Links, e.Want)
	}
	return fmt.Sprintf("%s belongs to %s, not to %s who controls its folder: certkit will not read it as root", e.Path, LookupUID(e.UID, -1), e.Want)
}

// Hint says how to go on.
func (e *OwnerError) Hint() string {
	return "keep only " + e.Want.String() + "'s own files in the certkit home, or run certkit as that user"
}

// ReadFile reads the regular file name in r, at most max bytes (MaxFile
// when 0). It opens the file without waiting on a named pipe and checks
// what it opened: a regular file, not too large, and in a folder a user
// controls, that user's or root's.
func (r *Root) ReadFile(name string, max int64) ([]byte, error) {
	return r.ReadFileBuf(name, max, nil)
}

// ReadFileBuf is ReadFile, reading into buf's memory when the file fits
// in its capacity: the data returned may be buf's, good until buf is used
// again. For a reader of many files that keeps none of them (a compare).
func (r *Root) ReadFileBuf(name string, max int64, buf []byte) ([]byte, error) {
	if data, ok, err := r.readDirect(name, max, buf); ok {
		return data, err
	}
	path := r.Join(name)
	f, err := r.Root.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
	if err != nil {
		return nil, renamePathErr(err, path)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if err := r.checkOwner(fi, path, "file"); err != nil {
		return nil, err
	}
	return readOpen(f, fi, path, max)
}

// ReadDir lists the folder name of r, sorted by name.
func (r *Root) ReadDir(name string) ([]fs.DirEntry, error) {
	f, err := r.openDir(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.ReadDir(-1)
}

// openDir opens the folder name of r to list it, and checks what it
// opened: a folder, in a folder a user controls that user's or root's.
func (r *Root) openDir(name string) (*os.File, error) {
	f, err := r.Root.Open(name)
	if err != nil {
		return nil, renamePathErr(err, r.Join(name))
	}
	fi, err := f.Stat()
	if err == nil && !fi.IsDir() {
		err = &fs.PathError{Op: "readdir", Path: r.Join(name), Err: syscall.ENOTDIR}
	}
	if err == nil {
		err = r.checkOwner(fi, r.Join(name), "folder")
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// Sync flushes the folder name of r.
func (r *Root) Sync(name string) error {
	f, err := r.Root.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	// Some file systems cannot flush a folder; a rename is still atomic.
	if err := f.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) {
		return err
	}
	return nil
}

// renamePathErr names the full path in an error from r.
func renamePathErr(err error, path string) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		op := pe.Op
		if op == "openat" {
			op = "open" // as os.Open says, and the runtimes' loaders with it
		}
		return &fs.PathError{Op: op, Path: path, Err: pe.Err}
	}
	return err
}

// MkdirAll makes the folder path and the missing ones above it, with mode
// (not subject to the umask), with the rights of the user who controls
// where they go, and returns the folders it made, outermost first.
func MkdirAll(path string, mode fs.FileMode) (made []string, err error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	var missing []string
	base := abs
	for {
		_, err := os.Stat(base)
		if err == nil {
			break
		}
		if !errors.Is(err, fs.ErrNotExist) || filepath.Dir(base) == base {
			return nil, err
		}
		missing = append(missing, filepath.Base(base))
		base = filepath.Dir(base)
	}
	if len(missing) == 0 {
		return nil, nil
	}
	d, err := OpenDir(base)
	if err != nil {
		return nil, err
	}
	err = d.Do(func(r *Root) error {
		rel := "."
		for i := len(missing) - 1; i >= 0; i-- {
			rel = filepath.Join(rel, missing[i])
			if err := r.Mkdir(rel, mode); errors.Is(err, fs.ErrExist) {
				// Another run made it meanwhile: it is theirs.
				if fi, serr := r.Stat(rel); serr == nil && fi.IsDir() {
					continue
				}
				return renamePathErr(err, r.Join(rel))
			} else if err != nil {
				return renamePathErr(err, r.Join(rel))
			}
			made = append(made, r.Join(rel))
			if err := r.Chmod(rel, mode); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		RemoveEmpty(made)
		return nil, err
	}
	return made, nil
}

// RemoveEmpty removes the folders made by MkdirAll, innermost first, each
// only if it is empty, with the rights of who controls each.
func RemoveEmpty(made []string) {
	for i := len(made) - 1; i >= 0; i-- {
		d, err := OpenDir(filepath.Dir(made[i]))
		if err != nil {
			continue
		}
		name := filepath.Base(made[i])
		d.Do(func(r *Root) error { return r.Remove(name) })
	}
}

// Remove removes the file (or empty folder) at path, inside its folder and
// with the rights of who controls it.
func Remove(path string) error {
	d, err := OpenDir(filepath.Dir(path))
	if err != nil {
		return err
	}
	return d.Do(func(r *Root) error { return r.Remove(filepath.Base(path)) })
}

// Rename renames old to new, two names in one folder, inside it and with
// the rights of who controls it.
func Rename(old, new string) error {
	if filepath.Dir(old) != filepath.Dir(new) {
		return fmt.Errorf("rename %s to %s: not one folder", old, new)
	}
	d, err := OpenDir(filepath.Dir(old))
	if err != nil {
		return err
	}
	return d.Do(func(r *Root) error { return r.Rename(filepath.Base(old), filepath.Base(new)) })
}

// Names lists the names in the folder name of r, sorted, without a stat of
// each (what each is, ReadFile checks when it opens it).
func (r *Root) Names(name string) ([]string, error) {
	f, err := r.openDir(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	sort.Strings(names)
	return names, err
}

// Sub opens the folder name of r as a Root of its own, so that the files
// in it are opened by their names alone.
func (r *Root) Sub(name string) (*Root, error) {
	or, err := r.Root.OpenRoot(name)
	if err != nil {
		return nil, renamePathErr(err, r.Join(name))
	}
	sub := &Root{Root: or, dir: &Dir{Path: r.Join(name), As: r.dir.As}}
	if err := sub.checkSelf(); err != nil {
		or.Close()
		return nil, err
	}
	return sub, nil
}

// Shared reports whether other goroutines may use r too: when this process
// acts as itself. With a user's rights (Run), only the goroutine on the
// user's thread may, or the work would be done with root's.
func (r *Root) Shared() bool { return r.dir.As == nil }
