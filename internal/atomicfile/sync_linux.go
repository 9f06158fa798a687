package atomicfile

import (
	"os"

	"golang.org/x/sys/unix"
)

// SyncFSWhole: SyncFS flushes the whole file system, not only path.
const SyncFSWhole = true

// SyncFS flushes the whole file system that holds path, in one call. After a
// batch written with NoSync this costs one flush instead of one per file.
func SyncFS(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return unix.Syncfs(int(f.Fd()))
}
