package install

import (
	"errors"
	"io/fs"
	"os"
	"sort"

	"github.com/certkit/certkit/internal/safefs"
)

// lockSet is the locks a run of Install or Uninstall holds on folders
// (safefs's flock on the folder itself), each folder once, by device and
// inode: flock on one folder through two descriptors would wait for
// itself. The run takes them before it reads what it will change, and
// holds them to its end.
type lockSet struct {
	held map[string]func()
}

// lock takes the lock on dir, unless the run holds it already. root says
// whose folder it is, for the permission error.
func (l *lockSet) lock(root Root, dir string) error {
	key, err := dirKey(dir)
	if err != nil {
		return permission(root, err)
	}
	if _, ok := l.held[key]; ok {
		return nil
	}
	d, err := safefs.OpenDir(dir)
	if err != nil {
		return err
	}
	unlock, err := d.Lock(false, safefs.LockWait)
	if err != nil {
		return permission(root, err)
	}
	if l.held == nil {
		l.held = map[string]func(){}
	}
	l.held[key] = unlock
	return nil
}

// release lets every lock go.
func (l *lockSet) release() {
	for _, unlock := range l.held {
		unlock()
	}
	l.held = nil
}

// lockRoots makes the certs roots of a run that are missing (with the
// rights of who controls where they go), and locks every root, in one
// order for every certkit run (by device and inode), so that two runs on
// the same roots take turns instead of each waiting for the other. It
// returns the folders it made: a run that fails removes them again.
// With create false, a missing root is left alone (uninstall).
func (l *lockSet) lockRoots(roots []Root, create bool) (made []string, err error) {
	type keyed struct {
		key  string
		root Root
	}
	var ks []keyed
	for _, r := range roots {
		if _, err := os.Stat(r.Dir); errors.Is(err, fs.ErrNotExist) {
			if !create {
				continue
			}
			var m []string
			err := func() error {
				as, err := safefs.Controller(r.Dir)
				if err != nil {
					return err
				}
				return safefs.Run(as, func() (err error) {
					m, err = mkdirAll(r.Dir, DirMode)
					return err
				})
			}()
			made = append(made, m...)
			if err != nil {
				safefs.RemoveEmpty(made)
				return nil, permission(r, err)
			}
		}
		key, err := dirKey(r.Dir)
		if err != nil {
			safefs.RemoveEmpty(made)
			return nil, permission(r, err)
		}
		ks = append(ks, keyed{key, r})
	}
	sort.Slice(ks, func(i, j int) bool { return ks[i].key < ks[j].key })
	for _, k := range ks {
		if err := l.lock(k.root, k.root.Dir); err != nil {
			l.release()
			safefs.RemoveEmpty(made)
			return nil, err
		}
	}
	return made, nil
}
