package safefs

import (
	"errors"
	"io/fs"
	"strings"
	"syscall"
	"time"
)

// readDirect is ReadFile's path for a name of r's folder itself (no
// slash, not "." or ".."), on the descriptor alone: openat on the
// folder's descriptor with O_NOFOLLOW (what os.Root does for such a
// name), one fstat, the reads and close, without an os.File (whose
// poller registration, second fstat and cleanup cost as much as the
// reads for a certificate). The checks are ReadFile's, on what was
// opened. ok is false when the open did not succeed (a link, which
// os.Root follows inside the folder, a missing file, a refusal): ReadFile
// then opens the name again through os.Root, for its answer and its
// error. The data is read into buf when it fits (see ReadFileBuf).
func (r *Root) readDirect(name string, max int64, buf []byte) (data []byte, ok bool, err error) {
	if name == "" || name == "." || name == ".." || strings.IndexByte(name, '/') >= 0 {
		return nil, false, nil
	}
	dirfd, err := r.dirFD()
	if err != nil {
		return nil, false, nil
	}
	var fd int
	for {
		fd, err = syscall.Openat(dirfd, name, syscall.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		return nil, false, nil
	}
	defer syscall.Close(fd)
	var st syscall.Stat_t
	for {
		err = syscall.Fstat(fd, &st)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		return nil, true, &fs.PathError{Op: "stat", Path: r.Join(name), Err: err}
	}
	// The checks of ReadFile; an fs.FileInfo (and the path, for messages)
	// only where one may refuse: in a folder a user controls, or for what
	// is not a regular file.
	if r.dir.As != nil || st.Mode&syscall.S_IFMT != syscall.S_IFREG {
		fi, path := &statInfo{name: name, st: st}, r.Join(name)
		if err := r.checkOwner(fi, path, "file"); err != nil {
			return nil, true, err
		}
		if err := regular(fi, path); err != nil {
			return nil, true, err
		}
	}
	if max <= 0 {
		max = MaxFile
	}
	if st.Size > max {
		return nil, true, tooLarge(r.Join(name), max)
	}
	data, err = readFD(fd, st.Size, max, buf)
	switch {
	case err == errTooLarge:
		return nil, true, tooLarge(r.Join(name), max)
	case err != nil:
		return nil, true, &fs.PathError{Op: "read", Path: r.Join(name), Err: err}
	}
	return data, true, nil
}

// errTooLarge is readFD's answer for a file past max.
var errTooLarge = errors.New("too large")

// readFD reads the regular file open as fd, of size bytes by fstat, at
// most max, into buf when it fits. It asks for one byte more than size: a
// read that stops short of it with size bytes in all has reached the end
// (the file is what fstat said), so that a file takes one read, not a
// second one to see the end. A file that grew since is read on to its
// end, still bounded by max (errTooLarge past it).
func readFD(fd int, size, max int64, buf []byte) ([]byte, error) {
	if int64(cap(buf)) >= size+1 {
		buf = buf[:size+1]
	} else {
		buf = make([]byte, size+1)
	}
	n := 0
	for {
		if n == len(buf) {
			if int64(n) > max {
				return nil, errTooLarge
			}
			grow := min(max+1-int64(n), 4096)
			buf = append(buf, make([]byte, grow)...)
		}
		m, err := syscall.Read(fd, buf[n:])
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return nil, err
		}
		if m == 0 {
			break
		}
		n += m
		if int64(n) == size {
			break
		}
	}
	if int64(n) > max {
		return nil, errTooLarge
	}
	return buf[:n], nil
}

// statInfo is an fstat's answer as an fs.FileInfo, as os.File.Stat gives
// it on Linux.
type statInfo struct {
	name string
	st   syscall.Stat_t
}

func (s *statInfo) Name() string       { return s.name }
func (s *statInfo) Size() int64        { return s.st.Size }
func (s *statInfo) ModTime() time.Time { return time.Unix(s.st.Mtim.Unix()) }
func (s *statInfo) IsDir() bool        { return s.Mode().IsDir() }
func (s *statInfo) Sys() any           { return &s.st }

func (s *statInfo) Mode() fs.FileMode {
	m := fs.FileMode(s.st.Mode & 0o777)
	switch s.st.Mode & syscall.S_IFMT {
	case syscall.S_IFBLK:
		m |= fs.ModeDevice
	case syscall.S_IFCHR:
		m |= fs.ModeDevice | fs.ModeCharDevice
	case syscall.S_IFDIR:
		m |= fs.ModeDir
	case syscall.S_IFIFO:
		m |= fs.ModeNamedPipe
	case syscall.S_IFLNK:
		m |= fs.ModeSymlink
	case syscall.S_IFSOCK:
		m |= fs.ModeSocket
	}
	if s.st.Mode&syscall.S_ISGID != 0 {
		m |= fs.ModeSetgid
	}
	if s.st.Mode&syscall.S_ISUID != 0 {
		m |= fs.ModeSetuid
	}
	if s.st.Mode&syscall.S_ISVTX != 0 {
		m |= fs.ModeSticky
	}
	return m
}
