package safefs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// User is an account whose rights file operations run with.
type User struct {
	UID, GID int
	Name     string // the login name, or "" when unknown
}

// String names the user for messages: "alice (uid 1000)".
func (u *User) String() string {
	if u.Name == "" {
		return "uid " + strconv.Itoa(u.UID)
	}
	return fmt.Sprintf("%s (uid %d)", u.Name, u.UID)
}

// LookupUID returns the user with uid, with its primary group and name
// when the user database has them.
func LookupUID(uid, gid int) *User {
	u := &User{UID: uid, GID: gid}
	if pw, err := user.LookupId(strconv.Itoa(uid)); err == nil {
		u.Name = pw.Username
		if g, err := strconv.Atoi(pw.Gid); err == nil && gid < 0 {
			u.GID = g
		}
	}
	if u.GID < 0 {
		u.GID = uid
	}
	return u
}

// UntrustedError reports a folder on a path that others than its owner
// may change: root does not act through it.
type UntrustedError struct {
	Path string // the folder
	Why  string
}

func (e *UntrustedError) Error() string {
	return fmt.Sprintf("%s %s: certkit will not work through it as root", e.Path, e.Why)
}

// Hint says how to go on.
func (e *UntrustedError) Hint() string {
	return "use a folder only its owner can change (chmod go-w " + e.Path + "), or run certkit as the user who owns it"
}

// maxLinks bounds the symbolic links Controller follows on one path.
const maxLinks = 40

// geteuid is this process's effective uid.
var geteuid = os.Geteuid

// Controller returns the user who controls path when this process runs as
// root: the owner of the first folder on the path, from the top, that root
// does not own (the user who may rename, replace or link what lies below
// it), or the owner of a link in a folder anyone may write to (/tmp). It
// returns nil when root controls every existing folder on the path, and
// always nil when this process is not root: the kernel then checks its
// own rights.
//
// Links in root's folders are root's and are followed; a link in a user's
// folder ends the walk, since that user already controls the path. A
// folder that a group or everyone may write to (without the sticky bit)
// is an UntrustedError.
func Controller(path string) (*User, error) {
	u, _, _, err := control(path)
	return u, err
}

// controls caches control's answers for folders, for this process: who
// controls a path does not change under it in a way that matters (a user
// who controls a folder can change what lies below it, which root then
// reaches with that user's rights anyway; a folder root controls, no user
// can take), and reading a thousand files of one folder must not walk its
// path a thousand times.
var controls sync.Map // path -> controlAnswer

type controlAnswer struct {
	u             *User
	boundary, rel string
}

// control is Controller, and also says where the user's control begins:
// boundary is the user's folder (its name is root's to change), or a link
// or folder of the user's in a folder anyone may write to; rel is the path
// from there to path.
func control(path string) (u *User, boundary, rel string, err error) {
	if geteuid() != 0 {
		return nil, "", "", nil
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, "", "", err
	}
	if a, ok := controls.Load(abs); ok {
		a := a.(controlAnswer)
		return a.u, a.boundary, a.rel, nil
	}
	u, boundary, rel, err = walkControl(abs)
	if err == nil {
		if fi, serr := os.Stat(abs); serr == nil && fi.IsDir() {
			// Only folders that exist: what is missing, root makes as
			// itself, and a later answer may differ once it is made.
			controls.Store(abs, controlAnswer{u, boundary, rel})
		}
	}
	return u, boundary, rel, err
}

// walkControl is control, without the cache.
func walkControl(abs string) (u *User, boundary, rel string, err error) {
	rest := splitPath(abs)
	cur := "/"
	links := 0
	for {
		fi, err := os.Lstat(cur)
		if err != nil {
			return nil, "", "", err
		}
		if u := controllerOf(fi); u != nil {
			return u, cur, filepath.Join(append([]string{"."}, rest...)...), nil
		}
		if err := checkOpenFolder(cur, fi); err != nil {
			return nil, "", "", err
		}
		if len(rest) == 0 {
			return nil, "", "", nil
		}
		next := filepath.Join(cur, rest[0])
		nfi, err := os.Lstat(next)
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			return nil, "", "", nil // what is missing, certkit makes as root
		}
		if err != nil {
			return nil, "", "", err
		}
		open := fi.Mode().Perm()&0o002 != 0 // sticky: checked by checkOpenFolder
		switch {
		case open && ownerUID(nfi) != 0:
			// In a sticky folder anyone may write to, the entry's
			// owner controls it.
			return LookupUID(ownerUID(nfi), ownerGID(nfi)), next, filepath.Join(append([]string{"."}, rest[1:]...)...), nil
		case nfi.Mode()&fs.ModeSymlink != 0:
			links++
			if links > maxLinks {
				return nil, "", "", &fs.PathError{Op: "resolve", Path: abs, Err: syscall.ELOOP}
			}
			target, err := os.Readlink(next)
			if err != nil {
				return nil, "", "", err
			}
			if !filepath.IsAbs(target) {
				target = filepath.Join(cur, target)
			}
			rest = append(splitPath(filepath.Clean(target)), rest[1:]...)
			cur = "/"
		case nfi.IsDir():
			cur, rest = next, rest[1:]
		default:
			return nil, "", "", nil // a file: its folder was checked
		}
	}
}

// controllerOf is the user who controls what lies in the folder fi: its
// owner when that is not root; nil for root's folders.
func controllerOf(fi fs.FileInfo) *User {
	if uid := ownerUID(fi); uid != 0 {
		return LookupUID(uid, ownerGID(fi))
	}
	return nil
}

// checkOpenFolder reports a folder that others than root may change.
func checkOpenFolder(path string, fi fs.FileInfo) error {
	perm := fi.Mode().Perm()
	if fi.Mode()&fs.ModeSticky != 0 {
		return nil
	}
	switch {
	case perm&0o002 != 0:
		return &UntrustedError{Path: path, Why: "may be changed by every user"}
	case perm&0o020 != 0 && ownerGID(fi) != 0:
		return &UntrustedError{Path: path, Why: "may be changed by group " + groupName(ownerGID(fi))}
	}
	return nil
}

func groupName(gid int) string {
	if g, err := user.LookupGroupId(strconv.Itoa(gid)); err == nil {
		return g.Name
	}
	return strconv.Itoa(gid)
}

func splitPath(abs string) []string {
	var out []string
	for _, p := range strings.Split(abs, string(filepath.Separator)) {
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}

func ownerUID(fi fs.FileInfo) int {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return int(st.Uid)
	}
	return -1
}

func ownerGID(fi fs.FileInfo) int {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return int(st.Gid)
	}
	return -1
}
