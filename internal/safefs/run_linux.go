package safefs

import (
	"fmt"
	"os/user"
	"runtime"
	"strconv"

	"golang.org/x/sys/unix"
)

// Run calls fn with u's file-system credentials when this process is root
// and u is another user; otherwise it calls fn as it is.
//
// fn runs on a thread of its own whose file-system uid and gid (setfsuid,
// setfsgid) and supplementary groups are u's: every file operation fn
// makes from its goroutine is checked, and creates files, as u's would.
// The other threads of the process keep root's rights, and the thread is
// thrown away when fn returns (the goroutine never unlocks it), so no
// later code runs with u's rights by mistake. fn must do its file work on
// its own goroutine.
func Run(u *User, fn func() error) error {
	if u == nil || geteuid() != 0 || u.UID == 0 {
		return fn()
	}
	groups := []int{u.GID}
	if u.Name != "" {
		if pw, err := user.Lookup(u.Name); err == nil {
			if ids, err := pw.GroupIds(); err == nil {
				for _, id := range ids {
					if g, err := strconv.Atoi(id); err == nil && g != u.GID {
						groups = append(groups, g)
					}
				}
			}
		}
	}
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with this goroutine
		if err := become(u, groups); err != nil {
			done <- err
			return
		}
		defer func() {
			if p := recover(); p != nil {
				done <- fmt.Errorf("panic while acting as %s: %v", u, p)
			}
		}()
		done <- fn()
	}()
	return <-done
}

// become gives this thread u's file-system credentials, and checks that
// it has them.
func become(u *User, groups []int) error {
	if err := unix.Setgroups(groups); err != nil {
		return fmt.Errorf("acting as %s: setgroups: %w", u, err)
	}
	unix.Setfsgid(u.GID)
	unix.Setfsuid(u.UID)
	gid, _ := unix.SetfsgidRetGid(-1)
	uid, _ := unix.SetfsuidRetUid(-1)
	if uid != u.UID || gid != u.GID {
		return fmt.Errorf("acting as %s: the file-system uid and gid are %d and %d", u, uid, gid)
	}
	return nil
}
