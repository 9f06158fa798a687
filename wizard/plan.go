// Package wizard is certkit setup: one plan (which CA, which certificates,
// which runtimes) built either by questions or by flags, and run through
// the same packages the single commands use (ca, issue, install). It is
// the only package that imports survey.
package wizard

import (
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/certkit/certkit/ca"
	"github.com/certkit/certkit/host"
	"github.com/certkit/certkit/install"
	"github.com/certkit/certkit/internal/atomicfile"
	"github.com/certkit/certkit/internal/errs"
	"github.com/certkit/certkit/internal/home"
	"github.com/certkit/certkit/internal/safefs"
	"github.com/certkit/certkit/internal/shellquote"
	"github.com/certkit/certkit/issue"
	"github.com/certkit/certkit/templates"
)

// Role is what this machine does with the registry.
type Role string

// The roles.
const (
	Client Role = "client" // pulls and pushes: a client certificate, installed for the runtimes
	Server Role = "server" // runs the registry: a server certificate
	Both   Role = "both"
)

// ParseRole reads a --role value.
func ParseRole(s string) (Role, error) {
	switch r := Role(strings.ToLower(strings.TrimSpace(s))); r {
	case Client, Server, Both:
		return r, nil
	}
	return "", errs.Input(fmt.Sprintf("unknown role %q", s), "use client (this machine pulls), server (it runs the registry) or both")
}

// Plan is everything setup will do. The wizard fills it by asking; the
// flags of certkit setup fill it directly. Run executes it.
type Plan struct {
	Home     string
	Registry host.Registry
	Role     Role
	// NewCA makes a new CA. Over an existing one it replaces it (the old
	// pair is kept as a backup, and what it issued stops being trusted).
	NewCA bool
	// CreateCA makes a CA when the home has none. A client machine gets
	// its certificates from the registry's CA, so a client-only setup
	// makes none without it (NoCAError).
	CreateCA bool
	KeyType  ca.KeyType
	Validity time.Duration // of the server and client certificates
	Names    []string      // client certificate names
	Targets  []install.Target
	CertsDir string // write the layout of Targets[0] into this folder instead
	// Force replaces existing certificates of the registry and certkit's
	// own installed files that changed, keeping backups.
	Force bool
	// HomeFlag: the home was given with --home, so the printed commands
	// name it too (CERTKIT_HOME reaches them through the environment).
	HomeFlag bool
}

// ConfigFile is the name of the registry configuration setup renders for
// the server role, beside the server certificate in the home.
const ConfigFile = "registry-config.yml"

// ConfigPath is where setup writes the registry's configuration.
func (p *Plan) ConfigPath() string {
	return filepath.Join(home.HostDir(p.Home, p.Registry.String()), ConfigFile)
}

func (p *Plan) server() bool { return p.Role == Server || p.Role == Both }
func (p *Plan) client() bool { return p.Role == Client || p.Role == Both }

// Defaults fills what was left empty.
func (p *Plan) Defaults() {
	if p.Role == "" {
		p.Role = Client
	}
	if p.KeyType == "" {
		p.KeyType = ca.ECDSAP256
	}
	if p.Validity == 0 {
		p.Validity = issue.DefaultValidity
	}
	if p.client() && len(p.Names) == 0 {
		p.Names = []string{"client"}
	}
	if p.client() && len(p.Targets) == 0 {
		p.Targets = []install.Target{install.Docker}
	}
}

// Validate checks the plan before anything is written.
func (p *Plan) Validate() error {
	if p.Registry.Name == "" {
		return errs.Input("no registry given", "pass --host reg.example.com:5000")
	}
	if _, err := ParseRole(string(p.Role)); err != nil {
		return err
	}
	if _, err := ca.ParseKeyType(string(p.KeyType)); err != nil {
		return err
	}
	if p.Validity <= 0 {
		return errs.Input("validity must be positive", "e.g. --validity 825d")
	}
	if p.client() {
		if err := issue.CheckNames(p.Names); err != nil {
			return err
		}
		if p.CertsDir != "" && len(p.Targets) > 1 {
			return errs.Input("--certs-dir takes one --target (the layout to write)", "")
		}
	}
	return nil
}

// Step is one thing the plan does, for the summary.
type Step struct {
	What  string   // "create the CA", …
	Paths []string // files or folders it writes
}

// Preview lists what Run will write, without writing anything. A
// certificate that exists and is valid is kept (a re-run does only what
// is missing), and so is the registry's configuration; it refuses, before
// any side effect, a plan that would replace another existing
// certificate without Force.
func (p *Plan) Preview(env install.RootEnv) ([]Step, error) {
	steps, _, err := p.preview(env, time.Now())
	return steps, err
}

// preview is Preview at now, with the certificates it keeps.
func (p *Plan) preview(env install.RootEnv, now time.Time) ([]Step, []Kept, error) {
	var steps []Step
	caDir := home.CADir(p.Home)
	caCert := filepath.Join(caDir, ca.CertFile)
	existingCA := exists(caCert)
	if !existingCA && !p.NewCA && !p.CreateCA && p.Role == Client {
		return nil, nil, &NoCAError{Home: p.Home, Registry: p.Registry, Names: p.Names, HomeFlag: p.HomeFlag}
	}
	switch {
	case p.NewCA && existingCA:
		steps = append(steps, Step{"replace the CA (the old pair is kept as a .bak- backup)", []string{caCert, filepath.Join(caDir, ca.KeyFile)}})
	case p.NewCA || !existingCA:
		steps = append(steps, Step{"create a new CA", []string{caCert, filepath.Join(caDir, ca.KeyFile)}})
	default:
		steps = append(steps, Step{"reuse the CA", []string{caCert}})
	}
	var cur *x509.Certificate
	if existingCA && !p.NewCA {
		c, err := loadCACert(p.Home)
		if err != nil {
			return nil, nil, err
		}
		cur = c
	}
	dir := home.HostDir(p.Home, p.Registry.String())
	var conflicts []string
	var kept []Kept
	// issueStep adds the step for certificates, keeping those that are
	// there and valid unless Force; it returns the names still to issue.
	issueStep := func(kind issue.Kind, what string, names []string, filesOf func(string) []string) []string {
		var todo, keep []string
		var files, keptFiles []string
		for _, n := range names {
			fs := filesOf(n)
			ic := p.checkIssued(kind, n, fs, cur, now)
			if ic.kept != nil && !p.Force {
				kept = append(kept, *ic.kept)
				keep = append(keep, n)
				keptFiles = append(keptFiles, fs[0])
				continue
			}
			if len(ic.exists) > 0 {
				for _, f := range ic.exists {
					why := ic.why
					if why == "" {
						why = "valid; --force issues it again"
					}
					conflicts = append(conflicts, fmt.Sprintf("%s (%s)", f, why))
				}
			}
			todo = append(todo, n)
			files = append(files, fs...)
		}
		if len(keep) > 0 {
			steps = append(steps, Step{fmt.Sprintf("keep the %s certificate %s (it exists and is valid)", kind, strings.Join(keep, ", ")), keptFiles})
		}
		if len(todo) > 0 {
			steps = append(steps, Step{what + strings.Join(todo, ", "), files})
		}
		return todo
	}
	if p.server() {
		issueStep(issue.Server, "issue the server certificate for "+p.Registry.String()+": ", []string{"server"}, func(string) []string {
			return []string{filepath.Join(dir, home.ServerCert), filepath.Join(dir, home.ServerKey), filepath.Join(dir, home.ServerChain)}
		})
		if exists(p.ConfigPath()) && !p.Force {
			steps = append(steps, Step{"keep the registry's configuration", []string{p.ConfigPath()}})
		} else {
			steps = append(steps, Step{"write the registry's configuration (distribution config.yml, client certificates required)", []string{p.ConfigPath()}})
		}
	}
	if p.client() {
		issueStep(issue.Client, "issue client certificates ", p.Names, func(n string) []string {
			return []string{filepath.Join(dir, n+home.CertExt), filepath.Join(dir, n+home.KeyExt)}
		})
		roots, err := install.Roots(p.Targets, p.CertsDir, env)
		if err != nil {
			return nil, nil, err
		}
		for _, r := range roots {
			steps = append(steps, Step{
				fmt.Sprintf("install ca.crt and the client pairs for %s (never a CA or server key)", r.Target),
				[]string{filepath.Join(r.Dir, p.Registry.String()) + string(filepath.Separator)},
			})
		}
	}
	if len(conflicts) > 0 && !p.Force {
		return steps, kept, errs.WithHint(fmt.Errorf("%w: %s", errExisting, strings.Join(conflicts, ", ")),
			"pass --force to issue them again (the old files are kept as .bak- backups)")
	}
	return steps, kept, nil
}

// errExisting reports certificates that the plan would replace.
var errExisting = errors.New("certificates setup would issue exist already and cannot be kept")

// Outcome is what Run did.
type Outcome struct {
	CA        *ca.CA
	CACreated bool
	Server    *issue.Result
	Clients   *issue.Result
	Install   *install.Result
	Config    string // the registry configuration, for the server role
	// ConfigKept: Config was there and was left as it was.
	ConfigKept bool
	// Kept are the certificates that were there and valid, left as they
	// were.
	Kept []Kept
}

// Run executes the plan: the CA, the certificates, the install. If a step
// fails, the files the earlier steps wrote are taken away again (and files
// they replaced put back), so that a failed setup leaves nothing behind.
func Run(p Plan, env install.RootEnv, now func() time.Time) (out *Outcome, err error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	_, kept, err := p.preview(env, timeNow(now))
	if err != nil {
		return nil, err
	}
	keep := map[string]bool{}
	for _, k := range kept {
		keep[string(k.Kind)+"/"+k.Name] = true
	}
	var undo undoLog
	// Every folder this run may create, the home's missing parents too,
	// outermost first, so that a failure removes them again.
	var missing []string
	for d := p.Home; !exists(d); d = filepath.Dir(d) {
		missing = append([]string{d}, missing...)
		if filepath.Dir(d) == d {
			break
		}
	}
	for _, d := range append(missing, home.CADir(p.Home), filepath.Join(home.CADir(p.Home), ca.RegistriesDir), filepath.Dir(ca.RegistryClientCAs(p.Home, p.Registry.String())),
		home.HostsDir(p.Home), home.HostDir(p.Home, p.Registry.String())) {
		if !exists(d) {
			undo.newDirs = append(undo.newDirs, d)
		}
	}
	defer func() {
		if err != nil {
			undo.rollback()
		}
	}()
	out = &Outcome{Kept: kept}
	remote := false
	if p.NewCA || !exists(filepath.Join(home.CADir(p.Home), ca.CertFile)) {
		res, err := ca.Create(ca.Options{Home: p.Home, KeyType: p.KeyType, Force: p.NewCA, Machine: machine(), Now: now, PerRegistry: true})
		if err != nil {
			return nil, err
		}
		undo.add(res.Written, res.Backups)
		out.CA, out.CACreated = res.CA, true
	} else if r, err := ca.LoadRemote(p.Home); err == nil {
		// A client machine whose certificates a remote signer makes:
		// issue goes through it (base.CA stays nil).
		out.CA, remote = r.CA, true
	} else if !errors.Is(err, ca.ErrNotRemote) {
		return nil, err
	} else {
		c, err := ca.Load(p.Home)
		if err != nil {
			return nil, err
		}
		out.CA = c
	}
	base := issue.Options{
		Home: p.Home, Registry: p.Registry, KeyType: p.KeyType, Validity: p.Validity,
		Force: p.Force, CA: out.CA, Now: now,
	}
	if remote {
		base.CA = nil
	}
	if p.server() {
		if !keep[string(issue.Server)+"/server"] {
			o := base
			o.Kind = issue.Server
			res, err := issue.Issue(o)
			if err != nil {
				return nil, err
			}
			undo.add(issuedPaths(res), res.Backups)
			out.Server = res
		}
		out.ConfigKept = exists(p.ConfigPath()) && !p.Force
		if !out.ConfigKept {
			cfg, err := templates.Render(templates.Registry, templates.Options{Home: p.Home, Registry: p.Registry})
			if err != nil {
				return nil, err
			}
			wres, err := atomicfile.WriteAll([]atomicfile.File{{Path: p.ConfigPath(), Data: cfg, Mode: 0o644}},
				atomicfile.Options{Force: p.Force, Now: timeNow(now)})
			if err != nil {
				return nil, err
			}
			undo.add(wres.Written, wres.Backups)
		}
		out.Config = p.ConfigPath()
	}
	if p.client() {
		var names []string
		for _, n := range p.Names {
			if !keep[string(issue.Client)+"/"+n] {
				names = append(names, n)
			}
		}
		if len(names) > 0 {
			o := base
			o.Kind, o.Names = issue.Client, names
			res, err := issue.Issue(o)
			if err != nil {
				return nil, err
			}
			undo.add(issuedPaths(res), res.Backups)
			out.Clients = res
		}
		roots, err := install.Roots(p.Targets, p.CertsDir, env)
		if err != nil {
			return nil, err
		}
		// A new CA or re-issued pairs change certkit's own installed
		// files; the plan was confirmed (or forced) with that in view.
		// install's --force replaces only certkit's own files, never the
		// user's (a hosts.toml of theirs included: install warns with the
		// lines to add to it instead), so the printed install --force
		// does what this run does.
		// The fixes install prints name the same roots and home.
		flags := p.targetFlags()
		if p.HomeFlag {
			flags += " --home " + shellquote.Quote(p.Home)
		}
		ires, err := install.Install(install.Options{
			Home: p.Home, Registries: []host.Registry{p.Registry}, Roots: roots,
			Force: p.Force || out.CACreated, Now: now, Flags: flags,
		})
		if err != nil {
			return nil, againWithSetup(err)
		}
		out.Install = ires
	}
	return out, nil
}

func issuedPaths(r *issue.Result) []string {
	var paths []string
	for _, c := range r.Certs {
		paths = append(paths, c.CertPath, c.KeyPath)
		if c.ChainPath != "" {
			paths = append(paths, c.ChainPath)
		}
	}
	return append(paths, r.IssuerMade...)
}

// undoLog remembers what each step wrote, to take it back.
type undoLog struct {
	steps   []undoStep
	newDirs []string // folders that did not exist before, outermost first
}

type undoStep struct {
	written []string
	backups map[string]string // path -> its backup
}

func (u *undoLog) add(written, backups []string) {
	s := undoStep{written: written, backups: map[string]string{}}
	for _, b := range backups {
		if i := strings.LastIndex(b, ".bak-"); i > 0 {
			s.backups[b[:i]] = b
		}
	}
	u.steps = append(u.steps, s)
}

func (u *undoLog) rollback() {
	for i := len(u.steps) - 1; i >= 0; i-- {
		s := u.steps[i]
		// Through safefs: under sudo the home is the user's, and what
		// is undone there is undone with the user's rights.
		for _, p := range s.written {
			if b, ok := s.backups[p]; ok {
				safefs.Rename(b, p)
			} else {
				safefs.Remove(p)
			}
		}
	}
	safefs.RemoveEmpty(u.newDirs) // each only when empty
}

func timeNow(now func() time.Time) time.Time {
	if now == nil {
		return time.Now()
	}
	return now()
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func machine() string {
	h, _ := os.Hostname()
	return h
}

// CASummary describes a CA in one line for a question or a summary.
func CASummary(c *x509.Certificate) string {
	return fmt.Sprintf("%q (%s, SHA-256 %s…, expires %s)", c.Subject.CommonName, ca.KeyTypeOf(c.PublicKey),
		ca.Fingerprint(c)[:23], c.NotAfter.UTC().Format(time.DateOnly))
}

// againWithSetup makes the hint of an install error say to run setup
// again, not install: setup takes back what it made before the install
// failed, so install alone would find nothing to install.
func againWithSetup(err error) error {
	var ce *install.ConflictError
	var be *install.BrokenFolderError
	switch {
	case errors.As(err, &ce):
		ce.Command = "setup"
	case errors.As(err, &be):
		be.Command = "setup"
	}
	return err
}

// NoCAError is a client-only setup in a home with no CA: a client machine
// gets its certificate from the registry's CA, on the machine that holds
// it (a bundle, a signed request) or through a remote signer; setup makes
// a CA here only when asked to (--create-ca).
type NoCAError struct {
	Home     string
	Registry host.Registry
	Names    []string
	HomeFlag bool
}

func (e *NoCAError) Error() string {
	return fmt.Sprintf("%s has no CA, and a client machine gets its certificate from the registry's CA: setup makes no CA here unless asked", e.Home)
}

// Hint gives the three ways to a client certificate without this
// machine's own CA, and the flag that makes one here.
func (e *NoCAError) Hint() string {
	name := "client"
	if len(e.Names) > 0 {
		name = e.Names[0]
	}
	reg, n := shellquote.Quote(e.Registry.String()), shellquote.Quote(name)
	homeFlag := ""
	if e.HomeFlag {
		homeFlag = " --home " + shellquote.Quote(e.Home)
	}
	return fmt.Sprintf("nothing was written; on the CA's machine: certkit issue client --host %s --name %s, then certkit export --host %s --name %s --out %s.bundle, and here: sudo certkit install --from %s.bundle; "+
		"or here: certkit request%s --host %s --name %s, signed there with certkit sign; "+
		"or with a remote signer: certkit init-ca%s --remote URL --auth-key-file FILE --ca-fingerprint SHA256, then certkit setup again; "+
		"to make a new CA on this machine instead, add --create-ca",
		reg, n, reg, n, name, name, homeFlag, reg, n, homeFlag)
}
