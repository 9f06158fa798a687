package install

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// maxFileSize bounds every file install and verify read: certificates,
// keys, hosts.toml and manifests are a few KiB. A larger file is reported,
// not read.
const maxFileSize = 1 << 20

// readFile reads a small regular file. Anything else (a named pipe, a
// device such as /dev/zero, a folder) is an error instead of a hang:
// O_NONBLOCK keeps the open of a pipe from waiting for a writer, and the
// size is bounded.
func readFile(path string) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	switch t := fi.Mode().Type(); {
	case t.IsRegular():
	case t.IsDir():
		// What os.ReadFile, and so the runtimes' loaders, say.
		return nil, &fs.PathError{Op: "read", Path: path, Err: syscall.EISDIR}
	case t&fs.ModeNamedPipe != 0:
		return nil, &fileError{Path: path, What: "is a named pipe, not a file: reading it would wait for a writer"}
	default:
		return nil, &fileError{Path: path, What: "is not a regular file (a device or socket)"}
	}
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxFileSize {
		return nil, &fileError{Path: path, What: fmt.Sprintf("is larger than %d KiB; certificates and keys are a few KiB", maxFileSize>>10)}
	}
	return data, nil
}

// fileError is a file readFile will not read: it says what it is.
type fileError struct {
	Path string
	What string
}

func (e *fileError) Error() string { return e.Path + " " + e.What }

// withPath returns err, from reading a file, naming path as the file.
func withPath(err error, path string) error {
	switch e := err.(type) {
	case *fs.PathError:
		c := *e
		c.Path = path
		return &c
	case *fileError:
		c := *e
		c.Path = path
		return &c
	}
	return err
}
