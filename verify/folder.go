package verify

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"sync"
	"time"

	"github.com/certkit/certkit/host"
	"github.com/certkit/certkit/install"
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
}

// Verify reads the registry's folder as Docker and podman would (through
// install.ReadFolder, the one implementation of those rules), then, unless
// Offline, probes the live registry with the folder's CA files and client
// pairs. Every finding is a check in the report.
func Verify(ctx context.Context, opt Options) *Report {
	start := time.Now()
	now := opt.Live.Now
	if now == nil {
		now = time.Now
	}
	checks, tg := ReadFolder(opt.Dir, opt.Registry, now)
	tg.Addr = opt.Addr
	var rep *Report
	if opt.Offline {
		rep = &Report{Registry: opt.Registry.String(), Dir: opt.Dir, Accepted: []string{}}
		if msg := issue.LoopbackWarning(opt.Registry); msg != "" {
			rep.Checks = append(rep.Checks, Check{ID: "loopback", Status: Warning, Kind: "loopback", Message: msg})
		}
	} else {
		rep = Probe(ctx, tg, opt.Live)
	}
	rep.Checks = append(checks, rep.Checks...)
	rep.Elapsed = Millis(time.Since(start))
	return rep
}

// ReadFolder turns install.ReadFolder's findings about one registry folder
// into checks, and returns what the live probe needs from it: the CA
// certificates Docker adds to the roots and the client pairs it loads, in
// filename order.
func ReadFolder(dir string, reg host.Registry, now func() time.Time) ([]Check, Target) {
	tg := Target{Registry: reg, Dir: dir}
	f, err := install.ReadFolderWith(dir, install.ReadOptions{Now: now, Name: reg.String()})
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return []Check{{ID: "folder", Status: Error, Kind: "no-folder",
			Message: fmt.Sprintf("%s does not exist: Docker and podman trust no extra CA for %s and send it no client certificate", dir, reg),
			Fix:     fmt.Sprintf("certkit install --host %s (with --certs-dir or --target for the folder checked here)", reg)}}, tg
	case err != nil:
		return []Check{{ID: "folder", Status: Error, Kind: "folder-unreadable",
			Message: fmt.Sprintf("cannot read %s: %v", dir, err),
			Fix:     "run verify as a user who can read the folder (sudo for /etc), or check the path"}}, tg
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
			names = joinAnd(ns)
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
		summary.Message = dir + " has no CA file and no client pair: Docker trusts only the system roots here and sends no client certificate"
		summary.Fix = fmt.Sprintf("certkit install --host %s", reg)
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
	return checks, tg
}

// count writes "2 CA files (a, b)" or "no client pair".
func count(n int, what string, items []string) string {
	switch n {
	case 0:
		return "no " + what
	case 1:
		return fmt.Sprintf("1 %s (%s)", what, joinAnd(items))
	}
	return fmt.Sprintf("%d %ss (%s)", n, what, joinAnd(items))
}

// DefaultConcurrency bounds how many registries All probes at once. A
// probe mostly waits for the network and holds one connection at a time,
// so 128 at once cost 128 sockets and little else, and a machine with a
// hundred registries is checked in about the time of one.
const DefaultConcurrency = 128

// All verifies every registry, at most limit at a time (DefaultConcurrency
// when limit < 1), and returns the reports in the order of opts.
func All(ctx context.Context, opts []Options, limit int) []*Report {
	if limit < 1 {
		limit = DefaultConcurrency
	}
	reports := make([]*Report, len(opts))
	sem := make(chan struct{}, limit)
	var wg sync.WaitGroup
	for i := range opts {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			reports[i] = Verify(ctx, opts[i])
		}()
	}
	wg.Wait()
	return reports
}
