//go:build !linux

package atomicfile

import (
	"io/fs"
	"os"
	"path/filepath"
)

// SyncFSWhole: SyncFS flushes path only.
const SyncFSWhole = false

// SyncFS flushes every file and folder below path. Systems other than Linux
// have no syncfs, so this is the slower, file-by-file best effort.
func SyncFS(path string) error {
	return filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		f.Sync()
		return nil
	})
}
