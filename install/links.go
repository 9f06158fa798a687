// Symbolic links in certs roots: where a registry folder really is, and
// which links root refuses to follow.

package install

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/certkit/certkit/internal/safefs"
	"github.com/certkit/certkit/internal/shellquote"
)

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

// firstLink is the first folder on path, from the top, that is a symbolic
// link; "" when none is.
func firstLink(path string) string {
	path = filepath.Clean(path)
	vol := filepath.VolumeName(path)
	p := vol + string(filepath.Separator)
	for _, part := range strings.Split(strings.TrimPrefix(path[len(vol):], string(filepath.Separator)), string(filepath.Separator)) {
		p = filepath.Join(p, part)
		if fi, err := os.Lstat(p); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
			return p
		}
	}
	return ""
}

// realPath is path with its symbolic links resolved, or path itself when
// that fails (a file that does not exist).
func realPath(path string) string {
	if p, err := filepath.EvalSymlinks(path); err == nil {
		return p
	}
	return path
}
