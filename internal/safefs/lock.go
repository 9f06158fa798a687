package safefs

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// LockWait is how long a certkit run waits for another to release a
// folder before it gives up.
const LockWait = 5 * time.Second

// BusyError reports a folder another certkit process holds.
type BusyError struct {
	Dir string
	PID int // the holder, or 0 when the system does not say
}

func (e *BusyError) Error() string {
	who := "another certkit process"
	if e.PID > 0 {
		who = fmt.Sprintf("another certkit process (pid %d)", e.PID)
	}
	return fmt.Sprintf("%s is changing %s; waited %s for it", who, e.Dir, LockWait)
}

// Hint says how to go on.
func (e *BusyError) Hint() string {
	return "nothing was changed; run the command again when the other one is done"
}

// Lock takes a lock on the folder d (flock on the folder itself, so
// nothing is written to take it): exclusive for a run that changes what is
// in it, shared for one that only reads it. A lock held by another
// process is waited for up to wait, then reported as a BusyError naming
// the holder. One process must not lock one folder twice.
func (d *Dir) Lock(shared bool, wait time.Duration) (unlock func(), err error) {
	var f *os.File
	err = d.Do(func(r *Root) error {
		var err error
		f, err = r.Open(".")
		return err
	})
	if err != nil {
		return nil, err
	}
	how := unix.LOCK_EX
	if shared {
		how = unix.LOCK_SH
	}
	deadline := time.Now().Add(wait)
	for delay := time.Millisecond; ; delay = min(2*delay, 50*time.Millisecond) {
		err := unix.Flock(int(f.Fd()), how|unix.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, unix.EWOULDBLOCK) && !errors.Is(err, unix.EINTR) {
			f.Close()
			return nil, &os.PathError{Op: "lock", Path: d.Path, Err: err}
		}
		if time.Now().After(deadline) {
			pid := holder(f)
			f.Close()
			return nil, &BusyError{Dir: d.Path, PID: pid}
		}
		time.Sleep(delay)
	}
	return func() { unix.Flock(int(f.Fd()), unix.LOCK_UN); f.Close() }, nil
}

// holder finds the process that holds a flock on f in /proc/locks.
func holder(f *os.File) int {
	var st unix.Stat_t
	if unix.Fstat(int(f.Fd()), &st) != nil {
		return 0
	}
	want := fmt.Sprintf("%02x:%02x:%d", unix.Major(st.Dev), unix.Minor(st.Dev), st.Ino)
	pl, err := os.Open("/proc/locks")
	if err != nil {
		return 0
	}
	defer pl.Close()
	sc := bufio.NewScanner(pl)
	for sc.Scan() {
		// 1: FLOCK  ADVISORY  WRITE 1234 08:02:131 0 EOF
		fs := strings.Fields(sc.Text())
		if len(fs) >= 6 && fs[1] == "FLOCK" && fs[5] == want {
			if pid, err := strconv.Atoi(fs[4]); err == nil && pid != os.Getpid() {
				return pid
			}
		}
	}
	return 0
}
