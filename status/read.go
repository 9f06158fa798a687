package status

// Reading the home and the certs roots: under the home's shared lock,
// through safefs, each registry folder opened once and its files read on
// both cores.

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"

	"github.com/certkit/certkit/ca"
	"github.com/certkit/certkit/host"
	"github.com/certkit/certkit/install"
	"github.com/certkit/certkit/internal/home"
	"github.com/certkit/certkit/internal/safefs"
)

// readHome reads the CA and every leaf of the home, under its shared lock
// and through safefs, into a slice with room for copies more Certs for
// each (the copies of the certs roots, appended to it).
func readHome(homeDir string, copies int) ([]Cert, error) {
	if _, err := os.Stat(homeDir); err != nil {
		return nil, fmt.Errorf("certkit home %s: %w", homeDir, err)
	}
	release, err := home.RLock(homeDir)
	if err != nil {
		return nil, err
	}
	defer release()
	d, err := safefs.OpenDir(homeDir)
	if err != nil {
		return nil, err
	}
	var out []Cert
	err = d.Do(func(r *safefs.Root) error {
		c, err := readCert(r, filepath.Join("ca", ca.CertFile), Cert{Location: InHome, Name: "ca", Kind: CA})
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			return err
		default:
			out = append(out, c)
		}
		c, err = readCert(r, filepath.Join("ca", ca.PreviousDir, ca.CertFile), Cert{Location: InHome, Name: PreviousCAName, Kind: CA})
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			return err
		default:
			out = append(out, c)
		}
		regs, err := r.Names("hosts")
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		for _, name := range regs {
			reg, err := host.Parse(name)
			if err != nil || reg.String() != name {
				continue
			}
			sub, err := r.Sub(filepath.Join("hosts", name))
			if errors.Is(err, syscall.ENOTDIR) {
				continue
			}
			if err != nil {
				return err
			}
			out, err = readRegistry(sub, name, out, copies)
			sub.Close()
			if err != nil {
				return err
			}
		}
		return nil
	})
	return out, err
}

// readRegistry reads the server certificate and the client pairs of one
// registry folder of the home into out, making room for copies more
// Certs for each of out's (see readHome).
func readRegistry(r *safefs.Root, registry string, out []Cert, copies int) ([]Cert, error) {
	names, err := r.Names(".")
	if err != nil {
		return out, err
	}
	has := func(n string) bool { // names are sorted
		i := sort.SearchStrings(names, n)
		return i < len(names) && names[i] == n
	}
	pairs := pairNames(names)
	if need := len(out) + 1 + len(pairs); cap(out) < need {
		out = slices.Grow(out, need*(1+copies)-len(out))
	}
	if has(home.ServerCert) && has(home.ServerKey) {
		c, err := readCert(r, home.ServerCert, Cert{Location: InHome, Registry: registry, Name: "server", Kind: Server})
		if err != nil {
			return out, err
		}
		out = append(out, c)
	}
	certs := out[len(out) : len(out)+len(pairs)]
	err = each(r, len(pairs), func(i int) (err error) {
		certs[i], err = readCert(r, pairs[i]+home.CertExt, Cert{Location: InHome, Registry: registry, Name: pairs[i], Kind: Client})
		return err
	})
	return out[:len(out)+len(pairs)], err
}

// each calls fn for 0…n-1: on every core when r may be shared (this
// process acts as itself), else in order on this goroutine (which holds
// the user's rights).
func each(r *safefs.Root, n int, fn func(i int) error) error {
	workers := runtime.GOMAXPROCS(0)
	if !r.Shared() || n < 64 || workers < 2 {
		for i := range n {
			if err := fn(i); err != nil {
				return err
			}
		}
		return nil
	}
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < n; i += workers {
				if err := fn(i); err != nil {
					errs[w] = err
					return
				}
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// rootListing is a certs root as listRoots found it.
type rootListing struct {
	folder bool            // the root is a folder (else it is skipped)
	regs   []host.Registry // its registry folders (install.Registries)
	err    error           // from install.Registries
	names  [][]string      // by regs, each folder's names; nil where listing it failed
}

// listRoots lists the certs roots and their registry folders, through
// safefs as readInstalled reads them (with the rights of who controls
// each), while the home is read: listing 20,000 names is most of the work
// left on one core. A folder whose listing failed is listed again by
// readInstalled, for its error.
func listRoots(roots []install.Root) []rootListing {
	out := make([]rootListing, len(roots))
	for i, root := range roots {
		if fi, err := os.Stat(root.Dir); err != nil || !fi.IsDir() {
			continue
		}
		l := &out[i]
		l.folder = true
		if l.regs, l.err = install.Registries(root.Dir); l.err != nil {
			continue
		}
		l.names = make([][]string, len(l.regs))
		for j, reg := range l.regs {
			d, err := safefs.OpenDir(root.Folder(reg))
			if err != nil {
				continue
			}
			d.Do(func(r *safefs.Root) error {
				names, err := r.Names(".")
				if err == nil {
					l.names[j] = names
				}
				return nil
			})
		}
	}
	return out
}

// readInstalled reads the CA files and client pairs of a registry folder
// in a certs root. A file that is the home's, byte for byte, is not parsed
// again.
func readInstalled(root install.Root, reg host.Registry, names []string, homePairs map[string]*Cert, out []Cert) ([]Cert, error) {
	dir := root.Folder(reg)
	d, err := safefs.OpenDir(dir)
	if err != nil {
		return out, err
	}
	err = d.Do(func(r *safefs.Root) error {
		if names == nil {
			var err error
			if names, err = r.Names("."); err != nil {
				return err
			}
		}
		regName := reg.String()
		base := Cert{Location: InCertsD, Registry: regName, Root: root.Dir, Target: root.Target}
		var cas []Cert
		for _, n := range names {
			if name, ok := strings.CutSuffix(n, ".crt"); ok {
				c := base
				c.Name, c.Kind = name, CA
				if c, err = readCert(r, n, c); err == nil {
					cas = append(cas, c)
				}
				// A .crt that is not a certificate is verify's to report.
			}
		}
		pairs := pairNames(names)
		out = append(out, cas...)
		out = slices.Grow(out, len(pairs))
		certs := out[len(out) : len(out)+len(pairs)]
		err = each(r, len(pairs), func(i int) error {
			n := pairs[i]
			c := base
			c.Name, c.Kind = n, Client
			buf := readBufs.Get().(*[]byte)
			defer readBufs.Put(buf)
			data, err := r.ReadFileBuf(n+home.CertExt, 0, *buf)
			if err != nil {
				return err
			}
			if h := homePairs[regName+"\x00"+n]; h != nil && sha256.Sum256(data) == h.pemSum {
				c = *h
				c.Location, c.Registry, c.Root, c.Target = InCertsD, regName, root.Dir, root.Target
				c.Path = r.Join(n + home.CertExt)
			} else if c, err = parseCert(data, r.Join(n+home.CertExt), c); err != nil {
				return err
			}
			certs[i] = c
			return nil
		})
		out = out[:len(out)+len(pairs)]
		return err
	})
	return out, err
}

// readBufs hold the certs.d copies while they are compared with the
// home's (a file is kept only as its parse).
var readBufs = sync.Pool{New: func() any { b := make([]byte, 4096); return &b }}

// pairNames is home.PairNamesOf for names sorted (as safefs's Names
// gives them): NAME of each NAME.cert with a NAME.key beside it, sorted,
// found by binary search instead of a map of 20,000 names.
func pairNames(names []string) []string {
	if !sort.StringsAreSorted(names) {
		return home.PairNamesOf(names)
	}
	var out []string
	for _, n := range names {
		stem, ok := strings.CutSuffix(n, home.CertExt)
		if !ok || stem == "" {
			continue
		}
		k := stem + home.KeyExt
		if i := sort.SearchStrings(names, k); i < len(names) && names[i] == k {
			out = append(out, stem)
		}
	}
	if !sort.StringsAreSorted(out) {
		sort.Strings(out)
	}
	return out
}
