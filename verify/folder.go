package verify

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/certkit/certkit/host"
	"github.com/certkit/certkit/install"
	"github.com/certkit/certkit/internal/prose"
	"github.com/certkit/certkit/internal/shellquote"
	"github.com/certkit/certkit/issue"
)

// Options say which registry folder to verify, and how.
type Options struct {
	Registry host.Registry
	// Dir is the registry's certs.d folder: <certs root>/<host[:port]>.
	Dir string
	// Addr is the host:port to connect to instead of resolving the
	// registry's name.
	Addr string
	// Offline skips the live probe: only the folder is read.
	Offline bool
	// Live tunes the probe; its Now is also the clock of the folder checks.
	Live LiveOptions
	// Target is the consumer whose rules apply (Docker's when empty):
	// containerd fails on other files than Docker and podman do.
	Target install.Target
	// CertsDir is the certs root given with --certs-dir, if any: with
	// Target, it completes the commands verify suggests.
	CertsDir string
	// HomeFlags are the run's " --home DIR" when it named its certkit
	// home: every certkit command verify suggests carries them.
	HomeFlags string
	// Search lists the folders the consumer tries for the registry, in
	// order (see Lookup); it reads the first that exists, which verify
	// then checks instead of Dir. Empty means Dir alone.
	Search []string
	// Root is the certs root Dir is in, as install resolved it: when
	// containerd reads it after other roots (Docker's is containerd's
	// second, install.ContainerdLookup) and a folder it tries before Dir
	// exists, containerd reads that one instead, and a check warns. The
	// zero Root: containerd's search is not checked.
	Root install.Root
	// Misnamed is set, instead of Registry, for a folder of the certs
	// root whose name is no registry's (install.StrayFolders): no runtime
	// reads it, and the report says which registry it may be meant for.
	Misnamed string
	// Revoked, when set, finds the folder's revoked pairs: each is an
	// error.
	Revoked RevokedFunc
}

// Verify reads the registry's folder as Docker and podman would (through
// install.ReadFolder, the one implementation of those rules), then, unless
// Offline, probes the live registry with the folder's CA files and client
// pairs. With Search, the folder read is the one the consumer picks, and a
// check says which. Every finding is a check in the report.
func Verify(ctx context.Context, opt Options) *Report {
	start := time.Now()
	if opt.Misnamed != "" {
		return misnamedReport(opt, start)
	}
	dir, lookup := lookupFolder(opt)
	return verifyFolder(ctx, opt, dir, lookup, start)
}

// lookupFolder is the folder the consumer of opt reads and the checks
// that say how it found it (Options.Search, and containerd's search
// through Docker's root).
func lookupFolder(opt Options) (string, []Check) {
	dir, lookup := pickFolder(opt)
	return dir, append(lookup, containerdShadow(opt)...)
}

// verifyFolder is Verify once the folder to read, dir, is known.
func verifyFolder(ctx context.Context, opt Options, dir string, lookup []Check, start time.Time) *Report {
	now := opt.Live.Now
	if now == nil {
		now = time.Now
	}
	checks, tg := readFolder(opt, dir, now)
	tg.Addr = opt.Addr
	if dir != opt.Dir {
		tg.InstallDir = opt.Dir
	}
	var rep *Report
	if opt.Offline {
		rep = &Report{Registry: opt.Registry.String(), Dir: dir, Accepted: []string{}}
		if msg := issue.LoopbackWarning(opt.Registry); msg != "" {
			rep.Checks = append(rep.Checks, Check{ID: "loopback", Status: Warning, Kind: "loopback", Message: msg, Fix: issue.LoopbackFix})
		}
	} else {
		rep = probeChecks(ctx, tg, opt.Live)
	}
	rep.Target = targetName(opt.Target)
	rep.Checks = append(append(lookup, checks...), rep.Checks...)
	if dir != opt.Dir {
		rep.InstallDir = opt.Dir
	}
	rep.count()
	rep.Elapsed = Millis(time.Since(start))
	return rep
}

// targetName is the --target whose certs root t is (docker when empty).
func targetName(t install.Target) string {
	if t == "" {
		return string(install.Docker)
	}
	return string(t)
}

// readKey is what decides a report's findings: the folder read, the
// registry and address probed, and the rules the folder is read by
// (containerd reads hosts.toml; Docker and podman do not, and fail on
// other files).
type readKey struct {
	dir, registry, addr string
	offline, containerd bool
}

func keyOf(opt Options, dir string) readKey {
	// The folder itself, not the path's text: two certs roots may be one
	// folder through a link (rootless Docker's linked to Desktop's).
	if real, err := filepath.EvalSymlinks(dir); err == nil {
		dir = real
	}
	return readKey{dir: filepath.Clean(dir), registry: opt.Registry.String(), addr: opt.Addr, offline: opt.Offline, containerd: opt.Target == install.Containerd}
}

// coveredReport is the report for opt when the folder its consumer reads,
// dir, is read by the same rules for another report (by): it keeps only
// the lookup, which says where the folder's findings and the live checks
// are, and counts nothing else again.
func coveredReport(opt Options, dir string, lookup []Check, by Options, start time.Time) *Report {
	rep := &Report{Registry: opt.Registry.String(), Dir: dir, Target: targetName(opt.Target),
		CoveredBy: targetName(by.Target), Accepted: []string{}}
	if dir != opt.Dir {
		rep.InstallDir = opt.Dir
	}
	i := slices.IndexFunc(lookup, func(c Check) bool { return c.ID == "lookup" })
	if i < 0 {
		// the consumer reads its one folder, dir
		lookup = append([]Check{{ID: "lookup", Status: OK,
			Message: fmt.Sprintf("%s %s %s", readers(opt.Target), agree(opt.Target, "read", "reads"), dir)}}, lookup...)
		i = 0
	}
	lookup[i].Message += fmt.Sprintf("; %s %s it by the same rules as %s: the report for --target %s checks that folder and the registry, and its findings are not repeated here",
		readers(opt.Target), agree(opt.Target, "read", "reads"), readers(by.Target), rep.CoveredBy)
	rep.Checks = lookup
	rep.count()
	rep.Elapsed = Millis(time.Since(start))
	return rep
}

// readFolder turns install.ReadFolderWith's findings about the registry
// folder dir, read for the consumer in opt, into checks, and returns what
// the live probe needs from it: the CA certificates Docker adds to the
// roots and the client pairs it loads, in filename order.
func readFolder(opt Options, dir string, now func() time.Time) ([]Check, Target) {
	reg := opt.Registry
	tg := Target{Registry: reg, Dir: dir, Consumer: opt.Target, CertsDir: opt.CertsDir, HomeFlags: opt.HomeFlags}
	flags := rootFlags(opt)
	if opt.Dir != "" && dir != opt.Dir {
		// The runtime reads another folder than the one certkit installs
		// (found first in its search): the fixes install into the folder
		// it reads, else they would write one it never looks at.
		tg.CertsDir = filepath.Dir(dir)
		flags = targetFlags(opt.Target, tg.CertsDir) + opt.HomeFlags
	}
	// The fixes' install commands name --target as opt.Target: with
	// containerd's, install writes the folder's hosts.toml.
	// What breaks only containerd is an error only where containerd
	// reads (a root it never reads: podman's, rootless or Desktop Docker's).
	skips := opt.Root.Dir != "" && dir == opt.Dir && !opt.Root.ContainerdReads()
	f, err := install.ReadFolderWith(dir, install.ReadOptions{Now: now, Name: reg.String(), Flags: flags, HomeFlags: opt.HomeFlags,
		HostsTOML: opt.Target == install.Containerd, ContainerdSkips: skips})
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return []Check{missingFolder(opt, dir)}, tg
	case err != nil:
		return []Check{{ID: "folder", Status: Error, Kind: "folder-unreadable",
			Message: fmt.Sprintf("cannot read %s: %v", dir, err),
			Fix:     "run verify as a user who can read the folder (sudo for /etc), or check the path"}}, tg
	}
	tg.Manifest = f.Manifest
	if opt.Target == install.Containerd {
		tg.Refused = f.ContainerdError()
	} else {
		tg.Refused = f.LoaderError()
	}
	var cas, pairs []string
	for _, c := range f.CAs {
		names := "not PEM, ignored"
		if len(c.Certs) > 0 {
			var ns []string
			for _, x := range c.Certs {
				ns = append(ns, nameOf(x.Subject))
				tg.CAs = append(tg.CAs, x)
			}
			names = prose.AndList(ns)
		}
		cas = append(cas, fmt.Sprintf("%s: %s", c.Name, names))
	}
	for _, p := range f.Pairs {
		if p.Err != nil {
			continue
		}
		pairs = append(pairs, p.Name)
		tg.Pairs = append(tg.Pairs, Pair{Name: p.Name, Cert: p.TLS})
	}
	summary := Check{ID: "folder", Status: OK,
		Message: fmt.Sprintf("%s: %s, %s", dir, count(len(f.CAs), "CA file", cas), count(len(pairs), "client pair", pairs))}
	if len(f.CAs) == 0 && len(f.Pairs) == 0 {
		summary.Status = Warning
		summary.Kind = "empty-folder"
		summary.Message = fmt.Sprintf("%s has no CA file and no client pair: %s only the system roots here and %s no client certificate",
			dir, readers(opt.Target)+" "+agree(opt.Target, "trust", "trusts"), agree(opt.Target, "send", "sends"))
		summary.Fix = install.Command(reg.String(), false, flags)
	}
	checks := []Check{summary}
	for _, p := range f.Problems {
		// The ID names the file, the kind what is wrong with it (install's
		// diagnosis), the message both in words.
		c := Check{ID: "file:" + p.File, Status: Warning, Kind: string(p.Kind), Message: p.Message, Fix: p.Fix}
		if p.File == "" {
			c.ID = "folder:problem"
		}
		if p.Severity == install.SeverityError {
			c.Status = Error
		}
		checks = append(checks, c)
	}
	checks = append(checks, revokedChecks(opt, f, flags)...)
	errs, warns := tally(checks[1:])
	// The summary line sums up the folder's checks below it: it takes the
	// worst of their statuses, and is not counted again in the report's
	// totals.
	if errs+warns > 0 {
		s := &checks[0]
		s.Summary = true
		if errs > 0 {
			s.Status = Error
		} else {
			s.Status = Warning
		}
		refuse := ""
		if tg.Refused != nil {
			refuse = readers(opt.Target) + " " + agree(opt.Target, "refuse", "refuses") + " to load it: "
		}
		s.Message += fmt.Sprintf("; %s%s, %s below", refuse, plural(errs, "error"), plural(warns, "warning"))
		if s.Fix == "" {
			s.Fix = "each line below says what to change"
		}
	}
	return checks, tg
}

// count writes "2 CA files (a, b)" or "no client pair".
func count(n int, what string, items []string) string {
	switch n {
	case 0:
		return "no " + what
	case 1:
		return fmt.Sprintf("1 %s (%s)", what, prose.AndList(items))
	}
	return fmt.Sprintf("%d %ss (%s)", n, what, prose.AndList(items))
}

// plural writes "1 error" or "2 errors".
func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// DefaultConcurrency bounds how many registries All probes at once. A
// probe mostly waits for the network and holds one connection at a time,
// so 128 at once cost 128 sockets and little else, and a machine with a
// hundred registries is checked in about the time of one.
const DefaultConcurrency = 128

// All verifies every registry, at most limit at a time (DefaultConcurrency
// when limit < 1), and returns the reports in the order of opts. A folder
// is read, and its registry probed, once for each set of rules it is read
// by: when two consumers read the same folder the same way (podman falls
// back to Docker's root), the later report keeps only its lookup and
// names the report that covers it (Report.CoveredBy). containerd reads
// the same folder by its own rules (hosts.toml), so its report is whole.
func All(ctx context.Context, opts []Options, limit int) []*Report {
	if limit < 1 {
		limit = DefaultConcurrency
	}
	reports := make([]*Report, len(opts))
	sem := make(chan struct{}, limit)
	var wg sync.WaitGroup
	first := map[readKey]int{}
	for i := range opts {
		start := time.Now()
		if opts[i].Misnamed != "" {
			reports[i] = misnamedReport(opts[i], start)
			continue
		}
		dir, lookup := lookupFolder(opts[i])
		key := keyOf(opts[i], dir)
		if j, seen := first[key]; seen {
			reports[i] = coveredReport(opts[i], dir, lookup, opts[j], start)
			continue
		}
		first[key] = i
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			reports[i] = verifyFolder(ctx, opts[i], dir, lookup, start)
		}()
	}
	wg.Wait()
	return reports
}

// misnamedReport is the report for a folder of a certs root whose name is
// no registry's: an error when it looks like a registry's misspelled
// (install.SuggestRegistry), since that registry then gets none of its
// files; a warning otherwise.
func misnamedReport(opt Options, start time.Time) *Report {
	dir := filepath.Join(opt.Root.Dir, opt.Misnamed)
	rep := &Report{Registry: opt.Misnamed, Dir: dir, Target: targetName(opt.Target), Accepted: []string{}}
	c := Check{ID: "folder", Status: Warning, Kind: "misnamed-folder",
		Message: fmt.Sprintf("%q is not a registry name: no runtime reads this folder", opt.Misnamed),
		Fix:     "remove it, or rename it to the registry's name as in image references (host[:port])"}
	if r, ok := install.SuggestRegistry(opt.Misnamed); ok {
		c.Status = Error
		c.Message = fmt.Sprintf("%q is not a registry name: did you mean %s? No runtime reads this folder", opt.Misnamed, r)
		c.Fix = fmt.Sprintf("rename it: mv %s %s", shellquote.Quote(dir), shellquote.Quote(filepath.Join(opt.Root.Dir, r.String())))
	}
	rep.Checks = []Check{c}
	rep.count()
	rep.Elapsed = Millis(time.Since(start))
	return rep
}
