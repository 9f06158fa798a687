package safefs

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// MaxFile bounds what certkit reads from one file by default: certificates,
// keys, hosts.toml and lists of names are a few KiB.
const MaxFile = 1 << 20

// FileError is a file certkit will not read: it says what the file is.
type FileError struct {
	Path string
	What string
}

func (e *FileError) Error() string { return e.Path + " " + e.What }

// ReadFile reads the regular file at path, at most max bytes (MaxFile when
// max is 0), with the rights of the user who controls its folder when this
// process is root (see Controller); such a user's file must be the user's
// own, or root's.
func ReadFile(path string, max int64) ([]byte, error) {
	dir, err := OpenDir(filepath.Dir(path))
	if err != nil {
		return nil, err
	}
	var data []byte
	err = dir.Do(func(r *Root) error {
		data, err = r.ReadFile(filepath.Base(path), max)
		return err
	})
	return data, err
}

// ReadOpen reads at most max bytes from an open file that is regular; it
// names path in its errors.
func ReadOpen(f *os.File, path string, max int64) ([]byte, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	return readOpen(f, fi, path, max)
}

// readOpen is ReadOpen with the file's fstat already made.
func readOpen(f *os.File, fi fs.FileInfo, path string, max int64) ([]byte, error) {
	if max <= 0 {
		max = MaxFile
	}
	if err := regular(fi, path); err != nil {
		return nil, err
	}
	if fi.Size() > max {
		return nil, tooLarge(path, max)
	}
	// Sized by fstat, plus one byte to see the end; a file that grows
	// while it is read is read on, still bounded by max.
	data := make([]byte, fi.Size()+1)
	n, err := io.ReadFull(f, data)
	switch {
	case err == io.ErrUnexpectedEOF || err == io.EOF:
		data = data[:n]
	case err != nil:
		return nil, &fs.PathError{Op: "read", Path: path, Err: unwrapPath(err)}
	default:
		rest, err := io.ReadAll(io.LimitReader(f, max+1-int64(n)))
		if err != nil {
			return nil, &fs.PathError{Op: "read", Path: path, Err: unwrapPath(err)}
		}
		data = append(data, rest...)
	}
	if int64(len(data)) > max {
		return nil, tooLarge(path, max)
	}
	return data, nil
}

// ReadLimited reads at most max bytes from a stream (standard input).
func ReadLimited(r io.Reader, name string, max int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > max {
		return nil, tooLarge(name, max)
	}
	return data, nil
}

func tooLarge(path string, max int64) error {
	return &FileError{Path: path, What: fmt.Sprintf("is larger than %s; certificates, keys and lists of names are a few KiB", sizeText(max))}
}

func sizeText(n int64) string {
	if n >= 1<<20 && n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d KiB", n>>10)
}

// regular reports anything but a regular file as an error, saying what it
// is.
func regular(fi fs.FileInfo, path string) error {
	switch t := fi.Mode().Type(); {
	case t.IsRegular():
		return nil
	case t.IsDir():
		// What os.ReadFile, and so the runtimes' loaders, say.
		return &fs.PathError{Op: "read", Path: path, Err: syscall.EISDIR}
	case t&fs.ModeNamedPipe != 0:
		return &FileError{Path: path, What: "is a named pipe, not a file: reading it would wait for a writer"}
	case t&fs.ModeSymlink != 0:
		return &FileError{Path: path, What: "is a symbolic link"}
	default:
		return &FileError{Path: path, What: "is not a regular file (a device or socket)"}
	}
}

func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
