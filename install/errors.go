// The errors install and uninstall stop on, each with the words of its fix.

package install

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/certkit/certkit/internal/prose"
	"github.com/certkit/certkit/internal/shellquote"
)

// ConflictError reports files install will not replace.
type ConflictError struct {
	Dir     string
	Files   []string // names in Dir; a folder's ends in "/"
	Foreign bool     // not certkit's: never replaced
	// Reason says what the one file is, when it is not in the way of a
	// file certkit writes (a file where the registry folder belongs).
	Reason string
	// Command is the command to run again: "install" when empty.
	Command string
}

func (e *ConflictError) Error() string {
	files := strings.Join(e.Files, ", ")
	switch {
	case e.Reason != "":
		return fmt.Sprintf("%s holds %s, %s; certkit will not replace it", e.Dir, files, e.Reason)
	case e.Foreign:
		return fmt.Sprintf("%s already holds %s, which certkit did not install and will not replace", e.Dir, files)
	}
	return fmt.Sprintf("%s holds %s, installed by certkit earlier and different from what the certkit home has now", e.Dir, files)
}

// Hint says how to go on.
func (e *ConflictError) Hint() string {
	cmd := e.Command
	if cmd == "" {
		cmd = "install"
	}
	if !e.Foreign {
		return "nothing was changed; pass --force to replace them (the old files are kept under .certkit-backup in the certs root)"
	}
	if e.Reason != "" {
		return fmt.Sprintf("nothing was changed; move it out of the way (%s) and run %s again", moveAside(filepath.Join(e.Dir, e.Files[0]), ""), cmd)
	}
	if f, dir := strings.CutSuffix(e.Files[0], "/"); dir {
		// A folder in the registry folder: any name in it is in the way,
		// and beside the registry folder it would be listed as a registry
		// (and a key in it would still be in certs.d), so it leaves the
		// certs root, as a shadow folder does.
		outside := filepath.Dir(filepath.Dir(e.Dir)) // the certs root's parent
		return fmt.Sprintf("nothing was changed; move it out of the certs root (%s) and run %s again",
			moveAside(filepath.Join(e.Dir, f), filepath.Join(outside, filepath.Base(e.Dir)+"-"+f+shadowSuffix)), cmd)
	}
	// A file renamed in the folder is read by no runtime, but a key left
	// anywhere in certs.d reads as a stray key: keys leave certs.d.
	var keys, others []string
	for _, f := range e.Files {
		if strings.HasSuffix(f, KeyExt) {
			keys = append(keys, f)
		} else {
			others = append(others, f)
		}
	}
	if len(others) == 0 {
		outside := filepath.Dir(filepath.Dir(e.Dir)) // the certs root's parent
		return fmt.Sprintf("nothing was changed; move them out of certs.d (e.g. %s) and run %s again",
			moveAside(filepath.Join(e.Dir, keys[0]), filepath.Join(outside, filepath.Base(e.Dir)+"-"+keys[0]+".orig")), cmd)
	}
	mv := moveAside(filepath.Join(e.Dir, others[0]), "")
	if len(keys) > 0 {
		return fmt.Sprintf("nothing was changed; rename them to names no runtime reads (e.g. %s), but move %s out of certs.d (a key left there reads as a stray key), and run %s again",
			mv, prose.AndList(keys), cmd)
	}
	return fmt.Sprintf("nothing was changed; rename them to names no runtime reads (e.g. %s) and run %s again", mv, cmd)
}

// moveAside is the command that moves path to to, or to path.orig when to
// is empty; to a free name (to2, to3, …), so that it overwrites nothing
// and never moves a folder into another.
func moveAside(path, to string) string {
	path = strings.TrimSuffix(path, "/")
	if to == "" {
		to = path + ".orig"
	}
	dst := to
	for n := 2; exists(dst); n++ {
		dst = fmt.Sprintf("%s%d", to, n)
	}
	return "mv " + shellquote.Quote(path) + " " + shellquote.Quote(dst)
}

// ShadowError reports a folder that containerd reads for a registry
// instead of the one certkit installs into: <host>_<port>_ beside
// <host:port> in a certs root only containerd reads.
type ShadowError struct {
	Root     string // the certs root
	Registry string // host:port
	Shadow   string // the folder containerd reads: host_port_
}

func (e *ShadowError) Error() string {
	return fmt.Sprintf("%s holds %s/, which containerd reads for %s instead of %s/ (it looks for %s/ first): certkit's files there would never be used",
		e.Root, e.Shadow, e.Registry, e.Registry, e.Shadow)
}

// Hint says how to go on.
func (e *ShadowError) Hint() string {
	return fmt.Sprintf("nothing was changed; move it out of the way (%s) and run install again; containerd then reads %s/, so copy into it first anything of %s/ you still need",
		ShadowMove(filepath.Join(e.Root, e.Shadow)), filepath.Join(e.Root, e.Registry), e.Shadow)
}

// BrokenFolderError reports a registry folder whose other files break it,
// so installing certkit's files would not make the registry work.
type BrokenFolderError struct {
	Dir      string
	Problems []Problem // the errors
	Command  string    // the command to run again: "install" when empty
}

func (e *BrokenFolderError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s has files that break it; certkit changed nothing there:", e.Dir)
	for _, p := range e.Problems {
		b.WriteString("\n  " + p.String())
	}
	return b.String()
}

// Hint gives the fix of every problem, once each: for a file that must
// leave the folder (a stray key), only that, which ends its other
// problems (a key readable by others) too.
func (e *BrokenFolderError) Hint() string {
	cmd := e.Command
	if cmd == "" {
		cmd = "install"
	}
	leaves := map[string]bool{}
	for _, p := range e.Problems {
		if p.File != "" && p.Fix != "" && (p.Kind == KindStrayKey || p.Kind == KindCAKey || p.Kind == KindServerKey) {
			leaves[p.File] = true
		}
	}
	var fixes, labelled []string
	for _, p := range e.Problems {
		if p.Fix == "" || leaves[p.File] && p.Kind != KindStrayKey && p.Kind != KindCAKey && p.Kind != KindServerKey {
			continue
		}
		l := p.Fix
		if p.File != "" {
			l = p.File + ": " + l
		}
		if !slices.Contains(labelled, l) {
			fixes, labelled = append(fixes, p.Fix), append(labelled, l)
		}
	}
	switch len(fixes) {
	case 0:
		return ""
	case 1:
		return fixes[0] + "; then run " + cmd + " again"
	}
	return "fix each of them, then run " + cmd + " again:\n  " + strings.Join(labelled, "\n  ")
}

// PermissionError reports a certs root this process may not write, or
// a file in it that it may not read (Read), such as a key root installed.
type PermissionError struct {
	Dir    string
	System bool // a root under /etc: root's to write
	Err    error
	// Read: the error is about reading a file of the certs root (named by
	// Err), which certkit must compare with what it would write.
	Read bool
}

func (e *PermissionError) Error() string {
	if e.Read {
		what := "a file of " + e.Dir
		var pe *fs.PathError
		if errors.As(e.Err, &pe) {
			what = pe.Path
		}
		return fmt.Sprintf("cannot read %s: %v; nothing was changed in %s", what, errText(e.Err), e.Dir)
	}
	return fmt.Sprintf("cannot write %s: %v; nothing was changed there", e.Dir, errText(e.Err))
}

func (e *PermissionError) Unwrap() error { return e.Err }

// Hint is the generic advice; the CLI adds the exact sudo command line.
func (e *PermissionError) Hint() string {
	if e.System {
		return "re-run with sudo (sudo certkit still finds your certkit home)"
	}
	return "check who owns " + e.Dir
}

// BadManifestError reports a manifest certkit cannot read: which files of
// the folder are certkit's is not known.
type BadManifestError struct {
	Path    string
	Err     error
	Command string // "install" or "uninstall"
	Fix     string // the install command that writes it again
}

func (e *BadManifestError) Error() string {
	return fmt.Sprintf("%s: %v; certkit cannot tell which files of the folder it installed", e.Path, e.Err)
}

func (e *BadManifestError) Unwrap() error { return e.Err }

// Hint names the command that writes the manifest again.
func (e *BadManifestError) Hint() string {
	h := "nothing was changed; " + e.Fix + " writes it again: the files whose content is what certkit installs become certkit's, the others stay yours"
	if e.Command == uninstallCmd {
		h += "; then run uninstall again"
	}
	return h
}

// permission turns a permission error into a PermissionError.
func permission(root Root, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EROFS) {
		return &PermissionError{Dir: root.Dir, System: root.System, Err: err}
	}
	return err
}
