package install

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"time"

	"github.com/certkit/certkit/ca"
	"github.com/certkit/certkit/host"
	"github.com/certkit/certkit/internal/errs"
	"github.com/certkit/certkit/internal/home"
	"github.com/certkit/certkit/internal/safefs"
	"github.com/certkit/certkit/internal/shellquote"
)

// File modes of what install writes.
const (
	DirMode  fs.FileMode = 0o755
	CertMode fs.FileMode = 0o644 // ca.crt, NAME.cert, hosts.toml, the manifest
	KeyMode  fs.FileMode = 0o600 // NAME.key
)

// backupDir is the folder in a certs root where --force keeps the files it
// replaces, per registry and run: a key kept inside a registry folder would
// read as a stray key. No runtime looks at it: they look up folders by
// registry name.
const backupDir = ".certkit-backup"

// Options say what to install where.
type Options struct {
	Home string
	// Registries to install; empty means every registry that has client
	// certificates in the certkit home.
	Registries []host.Registry
	Roots      []Root // at least one
	DryRun     bool   // plan only
	// Force replaces certkit's own files that changed (a re-issued
	// certificate, a new CA) and removes certkit's files the home no
	// longer has, keeping the old files under <root>/.certkit-backup. It
	// never replaces a file of the user's, a hosts.toml certkit did not
	// write included: that one stays, and a warning gives the lines that
	// make it name certkit's files.
	Force bool
	Now   func() time.Time // time.Now when nil
	// Flags are the run's flags that name its certs roots (" --target
	// containerd --certs-dir DIR"), for the certkit install commands the
	// fixes of the folders' problems suggest; empty for Docker's root.
	Flags string
	// From, when set, is installed instead of the home's material: Home
	// and Registries are then not read (install --from a bundle).
	From []Material
	// HomeFlags are the run's flags that name its certkit home (" --home
	// DIR"), for the certkit issue and init-ca commands the fixes of the
	// home's material suggest; empty when the home was not named.
	HomeFlags string

	// step and exchange are test-only seams: step is called with the
	// registry folder and the name of each step of a run ("" and the name
	// for the steps of the whole run), so that a test can kill the process
	// there; exchange replaces the one-step swap, to test the fallback.
	step     func(dir, step string)
	exchange func(a, b string) error
}

// Action is what happens to one file.
type Action string

// The actions.
const (
	Create    Action = "create"    // new file
	Update    Action = "update"    // certkit's own file replaced (with --force; old one backed up)
	Rewrite   Action = "rewrite"   // certkit's own hosts.toml or manifest regenerated, or a mode restored
	Unchanged Action = "unchanged" // certkit's file, already right
	Keep      Action = "keep"      // not certkit's (or certkit's but no longer issued): left as it is
	Remove    Action = "remove"    // certkit's file taken away
)

// FileChange is one file of a registry folder.
type FileChange struct {
	Name    string      `json:"name"`
	Path    string      `json:"path"`
	Mode    fs.FileMode `json:"-"`
	ModeStr string      `json:"mode"`
	Action  Action      `json:"action"`
	Certkit bool        `json:"certkit"` // certkit's file (in its manifest) after the run
	Backup  string      `json:"backup,omitempty"`
	Note    string      `json:"note,omitempty"`
}

// FolderResult is the plan, then the outcome, for one registry folder.
type FolderResult struct {
	Target   Target       `json:"target"`
	Registry string       `json:"registry"`
	Root     string       `json:"root"`
	Dir      string       `json:"dir"`
	Existed  bool         `json:"existed"`
	Changed  bool         `json:"changed"`
	Removed  bool         `json:"removed,omitempty"` // uninstall took the whole folder away
	Files    []FileChange `json:"files"`
	// Problems of the folder as it is (after the run; before it, for a
	// dry run) that do not stop the install: warnings.
	Problems []Problem `json:"problems,omitempty"`
	Note     string    `json:"note,omitempty"`
	Loopback bool      `json:"loopback,omitempty"`
	// NeedsRoot (a dry run only): this process may not write the certs
	// root, a system one (under /etc), so the run itself must be made as
	// root; a not-writable warning among Problems says so too.
	NeedsRoot bool `json:"needs_root,omitempty"`

	reg  host.Registry
	root Root
	want map[string][]byte // name -> content to write
	// as is the user who controls the certs root, when certkit runs as
	// root in a root a user owns (sudo into ~/.config/...): every change
	// there is made with that user's rights (safefs.Run), so what certkit
	// makes is the user's from the start, and nothing is chowned.
	as    *safefs.User
	pairs []string  // the names of certkit's client pairs (install)
	extra []Problem // problems found outside the folder (shadow folders)
	read  *Folder   // the folder as the plan read it (uninstall)
	// unlink: uninstall leaves the folder empty, and it is reached
	// through a symbolic link in a certs root containerd reads: the link
	// goes after the run.
	unlink bool
	// previousCA: the folder gets the previous CA too (a CA rotation).
	previousCA bool
}

// Result lists every folder install looked at, in order.
type Result struct {
	DryRun  bool           `json:"dry_run,omitempty"`
	Folders []FolderResult `json:"folders"`
}

// Changed reports whether any folder changed (or would, for a dry run).
func (r *Result) Changed() bool {
	for _, f := range r.Folders {
		if f.Changed {
			return true
		}
	}
	return false
}

// readHome reads, under the home's shared lock and through safefs, the
// material of each registry (every registry with client pairs when regs
// is empty).
func readHome(homeDir string, regs []host.Registry, now time.Time, homeFlags string) ([]host.Registry, []*material, error) {
	release, err := home.RLock(homeDir)
	if err != nil {
		return nil, nil, err
	}
	defer release()
	hd, err := safefs.OpenDir(homeDir)
	if err != nil {
		return nil, nil, err
	}
	var mats []*material
	err = hd.Do(func(r *safefs.Root) error {
		if len(regs) == 0 {
			entries, err := r.ReadDir("hosts")
			if err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
			for _, e := range entries {
				if !e.IsDir() {
					continue
				}
				pairs, err := r.Names(filepath.Join("hosts", e.Name()))
				if err != nil || len(home.PairNamesOf(pairs)) == 0 {
					continue
				}
				reg, err := host.Parse(e.Name())
				if err != nil {
					return fmt.Errorf("%s: %w", home.HostDir(homeDir, e.Name()), err)
				}
				regs = append(regs, reg)
			}
			if len(regs) == 0 {
				// The registry of the home when it has one (a server
				// certificate issued), else the example.
				example := "reg.example.com:5000"
				for _, e := range entries {
					if _, err := host.Parse(e.Name()); err == nil && e.IsDir() {
						example = e.Name()
						break
					}
				}
				return errs.Input("no client certificates in the certkit home "+homeDir,
					"issue one first: certkit issue client --host "+shellquote.Quote(example)+homeFlags)
			}
		}
		for _, reg := range regs {
			m, err := loadMaterial(r, reg, now, homeFlags)
			if err != nil {
				return err
			}
			mats = append(mats, m)
		}
		return nil
	})
	if errors.Is(err, fs.ErrNotExist) && mats == nil {
		var pe *fs.PathError
		if errors.As(err, &pe) && pe.Path == homeDir {
			return nil, nil, &ca.NotFoundError{Dir: home.CADir(homeDir)}
		}
	}
	return regs, mats, err
}

// Install copies the CA certificate and the client pairs of each registry
// into each root. Every folder is planned and checked before the first one
// is written, each is replaced atomically, and the set is too: when one
// folder fails, those already replaced are put back, so that a failed run
// changes nothing (Changed is then false for every folder that is back as
// it was). A crash leaves each folder complete, old or new.
func Install(opt Options) (_ *Result, err error) {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	now := opt.Now()
	if len(opt.Roots) == 0 {
		return nil, errs.Input("no target given", "pass --target or --certs-dir")
	}
	regs, mats, err := opt.material(now)
	if err != nil {
		return nil, err
	}
	// The certs roots are locked before the run reads what it changes:
	// a second run plans on what the first one left.
	ls := &lockSet{}
	defer ls.release()
	if !opt.DryRun {
		made, lerr := ls.lockRoots(opt.Roots, true)
		if lerr != nil {
			return nil, lerr
		}
		defer func() {
			if err != nil {
				safefs.RemoveEmpty(made) // a failed run leaves no certs root it made
			}
		}()
	}
	return installLocked(ls, regs, mats, opt)
}

// installLocked is Install once the home is read and the roots locked.
func installLocked(ls *lockSet, regs []host.Registry, mats []*material, opt Options) (*Result, error) {
	res := &Result{DryRun: opt.DryRun}
	for _, root := range opt.Roots {
		for i, reg := range regs {
			if !opt.DryRun {
				if err := recoverFolder(ls, root, reg, "install"); err != nil {
					return nil, err
				}
			}
			fr, err := planInstall(root, reg, mats[i], opt)
			if err != nil {
				return nil, err
			}
			res.Folders = append(res.Folders, *fr)
		}
	}
	if err := checkShared(res.Folders); err != nil {
		return nil, err
	}
	if opt.DryRun {
		return res, nil
	}
	if err := applyInstall(ls, res, opt); err != nil {
		return res, err
	}
	return res, nil
}

// applyInstall makes every registry folder what its plan says, or none.
func applyInstall(ls *lockSet, res *Result, opt Options) error {
	b := newBatch(opt.step, opt.exchange, ls)
	for i := range res.Folders {
		fr := &res.Folders[i]
		if !fr.Changed {
			continue
		}
		var made []string
		err := safefs.Run(fr.as, func() (err error) {
			made, err = mkdirAll(fr.root.Dir, DirMode)
			return err
		})
		b.created = append(b.created, made...)
		if err != nil {
			return b.fail(permission(fr.root, err))
		}
		b.add(fr)
	}
	if err := b.run(func(c *change) error { return prepareInstall(b, c, opt) }); err != nil {
		return err
	}
	for _, c := range b.changes {
		after := c.after
		if c.dup != nil {
			after = c.dup.after
		}
		c.fr.Problems = c.fr.problems(after)
	}
	return nil
}

var errNoExchange = errors.New("this file system cannot exchange two folders in one step")

// KindShadowFolder: containerd reads another folder for the registry than
// the one certkit installs into, and never this one: <host>_<port>_ in the
// same certs root (it looks for that spelling first), or a folder for the
// registry, or _default, in a certs root it searches before this one
// (certsd.md §2).
const KindShadowFolder Kind = "shadow-folder"
