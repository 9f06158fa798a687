//go:build !unix

package install

import (
	"io/fs"
	"os"
	"path/filepath"
)

// dirKey names a folder by its absolute path (no locks to share here).
func dirKey(dir string) (string, error) { return filepath.Abs(dir) }

func ownerOf(fs.FileInfo) (uid, gid int, ok bool) { return 0, 0, false }

func writable(string) error { return nil }

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	f.Sync() // not every system can flush a folder
	return nil
}
