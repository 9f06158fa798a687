// The registry machine's own files: the server certificate's chain, its
// key and the CA for clientcas, copied out of the certkit home (0700, its
// owner's) into a folder the registry's service user can read. Debian's
// docker-registry runs as user docker-registry, which can read nothing in
// the home.

package install

import (
	"bytes"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"time"

	"github.com/certkit/certkit/ca"
	"github.com/certkit/certkit/host"
	"github.com/certkit/certkit/internal/atomicfile"
	"github.com/certkit/certkit/internal/errs"
	"github.com/certkit/certkit/internal/home"
	"github.com/certkit/certkit/internal/safefs"
	"github.com/certkit/certkit/internal/shellquote"
)

// The server folder's files and their modes. The key is 0640 with the
// service's group, or 0600 when no group is given.
const (
	ServerChainFile                = home.ServerChain // leaf + CA: the registry's tls.certificate
	ServerKeyFile                  = home.ServerKey   // its key: tls.key
	ServerCAFile                   = CAFileName       // the CA: tls.clientcas
	ServerKeyGroupMode fs.FileMode = 0o640
)

// ServerDirBase is the folder under which InstallServer puts a
// registry's files by default: beside Debian's packaged
// /etc/docker/registry/config.yml.
const ServerDirBase = "/etc/docker/registry/certs"

// DefaultServerDir is the default folder of reg's server files.
func DefaultServerDir(reg host.Registry) string {
	return filepath.Join(ServerDirBase, reg.String())
}

// ServerPaths are the files InstallServer writes in dir, for a registry's
// config.yml: tls.certificate, tls.key and tls.clientcas.
func ServerPaths(dir string) (chain, key, caFile string) {
	return filepath.Join(dir, ServerChainFile), filepath.Join(dir, ServerKeyFile), filepath.Join(dir, ServerCAFile)
}

// Group is the group that may read the server key.
type Group struct {
	Name string
	GID  int
}

// ServerOptions say whose server files to copy where.
type ServerOptions struct {
	Home     string
	Registry host.Registry
	Dir      string // the folder that receives the files
	// Group, when not nil, may read the key (0640, that group); nil
	// leaves it 0600, its owner's only.
	Group *Group
	Force bool // replace files that differ (kept as .bak- backups)
	// HomeFlags are the run's " --home DIR", for the certkit commands of
	// the fixes; empty when the home was not named.
	HomeFlags string
	DryRun    bool
	Now       func() time.Time // time.Now when nil
}

// ServerResult is what InstallServer did, or would do.
type ServerResult struct {
	Registry string       `json:"registry"`
	Dir      string       `json:"dir"`
	DryRun   bool         `json:"dry_run,omitempty"`
	Changed  bool         `json:"changed"`
	Group    string       `json:"group,omitempty"`
	NotAfter time.Time    `json:"not_after"`
	Files    []FileChange `json:"files"`
}

// ServerExistsError reports files of the server folder that differ from
// what would be written, without Force.
type ServerExistsError struct {
	Dir   string
	Names []string
}

func (e *ServerExistsError) Error() string {
	return fmt.Sprintf("%s already holds %s, different from the certkit home's", e.Dir, strings.Join(e.Names, " and "))
}

// Hint says how to replace them.
func (e *ServerExistsError) Hint() string {
	return "nothing was changed; add --force to replace them (the old files are kept as .bak- backups), then restart the registry"
}

// InstallServer copies the server chain, key and CA certificate issued
// for opt.Registry into opt.Dir, after checking them as a registry will
// use them. It writes all three or none (atomicfile), changes nothing when
// they are already there, and refuses to replace a file that differs
// without Force.
func InstallServer(opt ServerOptions) (*ServerResult, error) {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	now := opt.Now()
	dir, err := filepath.Abs(opt.Dir)
	if err != nil {
		return nil, err
	}
	for _, part := range strings.Split(dir, string(filepath.Separator)) {
		if part == "certs.d" {
			return nil, errs.Input(fmt.Sprintf("%s is under a certs.d root: a server key there makes Docker and podman fail every pull", dir),
				"give a folder the registry reads, e.g. --dir "+shellquote.Quote(DefaultServerDir(opt.Registry)))
		}
	}
	chainPEM, keyPEM, caPEM, leaf, err := readServer(opt.Home, opt.Registry, now, opt.HomeFlags)
	if err != nil {
		return nil, err
	}
	res := &ServerResult{Registry: opt.Registry.String(), Dir: dir, DryRun: opt.DryRun, NotAfter: leaf.NotAfter}
	keyMode, gid := KeyMode, -1
	if opt.Group != nil {
		keyMode, gid, res.Group = ServerKeyGroupMode, opt.Group.GID, opt.Group.Name
	}
	want := []struct {
		name string
		data []byte
		mode fs.FileMode
		gid  int
	}{
		{ServerChainFile, chainPEM, CertMode, -1},
		{ServerKeyFile, keyPEM, keyMode, gid},
		{ServerCAFile, caPEM, CertMode, -1},
	}
	have, err := readServerDir(dir)
	if err != nil {
		return nil, err
	}
	var files []atomicfile.File
	var differ []string
	for _, w := range want {
		fc := FileChange{Name: w.name, Path: filepath.Join(dir, w.name), Mode: w.mode, ModeStr: fmt.Sprintf("%04o", w.mode), Action: Create, Certkit: true}
		if h, ok := have[w.name]; ok {
			switch {
			case !h.regular:
				return nil, fmt.Errorf("%s exists and is not a regular file", fc.Path)
			case bytes.Equal(h.data, w.data) && h.mode == w.mode && (w.gid < 0 || h.gid == w.gid):
				fc.Action = Unchanged
			default:
				fc.Action = Update
				differ = append(differ, w.name)
			}
		}
		res.Files = append(res.Files, fc)
		if fc.Action != Unchanged {
			f := atomicfile.File{Path: fc.Path, Data: w.data, Mode: w.mode}
			if w.gid >= 0 {
				g := w.gid
				f.Group = &g
			}
			files = append(files, f)
		}
	}
	res.Changed = len(files) > 0
	if len(differ) > 0 && !opt.Force {
		return nil, &ServerExistsError{Dir: dir, Names: differ}
	}
	if opt.DryRun || len(files) == 0 {
		return res, nil
	}
	wr, err := atomicfile.WriteAll(files, atomicfile.Options{Force: opt.Force, Now: now, DirMode: DirMode})
	if err != nil {
		return nil, err
	}
	for _, p := range wr.Backups {
		for j := range res.Files {
			if strings.HasPrefix(p, res.Files[j].Path+".bak-") {
				res.Files[j].Backup = p
			}
		}
	}
	return res, nil
}

// readServer reads and checks, under the home's shared lock and through
// safefs (under sudo with the home owner's rights), the CA certificate
// and the server chain and key issued for reg: the key is the leaf's and
// loadable, the leaf is a server certificate (serverAuth) for reg's name,
// valid now and signed by the CA.
func readServer(homeDir string, reg host.Registry, now time.Time, homeFlags string) (chainPEM, keyPEM, caPEM []byte, leaf *x509.Certificate, err error) {
	release, err := home.RLock(homeDir)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	defer release()
	hd, err := safefs.OpenDir(homeDir)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	folder := reg.String()
	dir := home.HostDir(hd.Path, folder)
	reissue := "issue it again: certkit issue server --force --host " + shellquote.Quote(folder) + homeFlags
	err = hd.Do(func(r *safefs.Root) error {
		caPath := filepath.Join(home.CADir(hd.Path), ca.CertFile)
		raw, err := r.ReadFile(filepath.Join("ca", ca.CertFile), maxFileSize)
		if errors.Is(err, fs.ErrNotExist) {
			return &ca.NotFoundError{Dir: home.CADir(hd.Path)}
		}
		if err != nil {
			return err
		}
		caCert, err := checkCA(caPath, raw, now, "make a CA with certkit init-ca --force"+homeFlags,
			"make a CA with certkit init-ca --force"+homeFlags+", or import one with --import-cert")
		if err != nil {
			return err
		}
		caPEM = ca.EncodeCert(caCert)
		// The CAs whose clients the registry accepts: in a per-registry
		// home its issuing CA (and the previous root's, mid-rotation);
		// else the CA, and during a rotation the previous one
		// (ca/client-cas.crt, kept by certkit); a home made before there
		// was such a file, the CA alone.
		clientCAs, missingIssuer := filepath.Join("ca", ca.ClientCAsFile), false
		if ca.PerRegistry(hd.Path) {
			clientCAs = filepath.Join(ca.IssuerRel(folder, false), ca.ClientCAsFile)
		}
		if all, err := r.ReadFile(clientCAs, maxFileSize); err == nil {
			if certs := pemCerts(all); len(certs) > 0 {
				caPEM = ca.EncodeCerts(certs)
			}
		} else if !errors.Is(err, fs.ErrNotExist) {
			return err
		} else if ca.PerRegistry(hd.Path) {
			missingIssuer = true
		}
		read := func(name string) ([]byte, error) {
			b, err := r.ReadFile(filepath.Join("hosts", folder, name), maxFileSize)
			if errors.Is(err, fs.ErrNotExist) {
				return nil, &MaterialError{filepath.Join(dir, name), "is missing: no server certificate was issued for " + folder,
					"issue one first: certkit issue server --host " + shellquote.Quote(folder) + homeFlags}
			}
			return b, err
		}
		if chainPEM, err = read(ServerChainFile); err != nil {
			return err
		}
		if keyPEM, err = read(ServerKeyFile); err != nil {
			return err
		}
		if missingIssuer {
			// The root would let every registry's clients in.
			return &MaterialError{r.Join(clientCAs), "is missing: " + folder + " has no issuing CA in this per-registry home",
				"issue its server certificate again, which makes one: certkit issue server --force --host " + shellquote.Quote(folder) + homeFlags}
		}
		roots := x509.NewCertPool()
		roots.AddCert(caCert)
		leaf, err = checkServer(reg, filepath.Join(dir, ServerChainFile), filepath.Join(dir, ServerKeyFile), chainPEM, keyPEM, roots, now, reissue)
		return err
	})
	var pe *fs.PathError
	if errors.As(err, &pe) && pe.Path == hd.Path && errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil, nil, &ca.NotFoundError{Dir: home.CADir(hd.Path)}
	}
	return chainPEM, keyPEM, caPEM, leaf, err
}

// checkServer checks a server chain and key as a registry serves them.
func checkServer(reg host.Registry, chainPath, keyPath string, chainPEM, keyPEM []byte, roots *x509.CertPool, now time.Time, reissue string) (*x509.Certificate, error) {
	certs, err := checkKeyPair(chainPath, keyPath, chainPEM, keyPEM, "the registry", "the registry", reissue)
	if err != nil {
		return nil, err
	}
	leaf := certs[0]
	switch {
	case leaf.IsCA:
		return nil, &MaterialError{chainPath, "starts with a CA certificate, not the registry's", reissue}
	case !hasEKU(leaf, x509.ExtKeyUsageServerAuth):
		return nil, &MaterialError{chainPath, "has no serverAuth extended key usage; clients would refuse it", reissue}
	case now.After(leaf.NotAfter):
		return nil, &MaterialError{chainPath, "expired on " + leaf.NotAfter.UTC().Format(time.DateOnly), reissue}
	case now.Before(leaf.NotBefore):
		return nil, &MaterialError{chainPath, "is not valid before " + leaf.NotBefore.UTC().Format(time.RFC3339), "check this machine's clock"}
	}
	if err := leaf.VerifyHostname(reg.Hostname()); err != nil {
		return nil, &MaterialError{chainPath, "does not name " + reg.Hostname() + " (" + err.Error() + ")", reissue}
	}
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: now,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
		return nil, &MaterialError{chainPath, "is not signed by the certkit CA (" + err.Error() + ")", reissue}
	}
	return leaf, nil
}

// serverFile is a file found in the server folder.
type serverFile struct {
	regular bool
	data    []byte
	mode    fs.FileMode
	gid     int
}

// readServerDir reads the files InstallServer writes that dir already
// holds, through safefs; a missing dir holds none.
func readServerDir(dir string) (map[string]serverFile, error) {
	have := map[string]serverFile{}
	d, err := safefs.OpenDir(dir)
	if err != nil {
		return nil, err
	}
	err = d.Do(func(r *safefs.Root) error {
		for _, name := range []string{ServerChainFile, ServerKeyFile, ServerCAFile} {
			fi, err := r.Lstat(name)
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err != nil {
				return err
			}
			f := serverFile{regular: fi.Mode().IsRegular(), mode: fi.Mode().Perm(), gid: -1}
			if _, gid, ok := ownerOf(fi); ok {
				f.gid = gid
			}
			if f.regular {
				if f.data, err = r.ReadFile(name, maxFileSize); err != nil {
					return err
				}
			}
			have[name] = f
		}
		return nil
	})
	if errors.Is(err, fs.ErrNotExist) && len(have) == 0 {
		return have, nil
	}
	return have, err
}
