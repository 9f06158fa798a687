//go:build unix

package atomicfile

import (
	"os"
	"path/filepath"
	"syscall"
)

// owner is a uid and gid to give new files; the zero owner changes nothing.
type owner struct {
	set      bool
	uid, gid int
}

// inheritedOwner is the owner of dir's nearest existing ancestor (dir
// itself when it exists), when this process runs as root and that owner is
// another user; otherwise the zero owner.
func inheritedOwner(dir string) owner {
	if os.Geteuid() != 0 {
		return owner{}
	}
	for d := dir; ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err == nil {
			st, ok := fi.Sys().(*syscall.Stat_t)
			if !ok || st.Uid == 0 {
				return owner{}
			}
			return owner{set: true, uid: int(st.Uid), gid: int(st.Gid)}
		}
		if filepath.Dir(d) == d {
			return owner{}
		}
	}
}

func (o owner) apply(path string) error {
	if !o.set {
		return nil
	}
	return os.Lchown(path, o.uid, o.gid)
}
