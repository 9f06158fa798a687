package install

import (
	"io/fs"

	"github.com/certkit/certkit/internal/safefs"
)

// maxFileSize bounds every file install and verify read: certificates,
// keys, hosts.toml are a few KiB. A larger file is reported, not read.
const maxFileSize = safefs.MaxFile

// readFile reads a small regular file through safefs: anything else (a
// named pipe, a device such as /dev/zero, a folder) is an error instead of
// a hang, the size is bounded, and as root in a folder a user controls it
// is read with that user's rights.
func readFile(path string) ([]byte, error) {
	return safefs.ReadFile(path, maxFileSize)
}

// withPath returns err, from reading a file, naming path as the file.
func withPath(err error, path string) error {
	switch e := err.(type) {
	case *fs.PathError:
		c := *e
		c.Path = path
		return &c
	case *safefs.FileError:
		c := *e
		c.Path = path
		return &c
	}
	return err
}
