package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/urfave/cli/v2"

	"github.com/certkit/certkit/ca"
	"github.com/certkit/certkit/install"
	"github.com/certkit/certkit/internal/atomicfile"
	"github.com/certkit/certkit/internal/errs"
	"github.com/certkit/certkit/internal/shellquote"
	"github.com/certkit/certkit/status"
)

func statusCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:      "status",
		Usage:     "list the certificates of the certkit home and of the certs roots, with their expiry; exit 1 when one needs attention",
		UsageText: "certkit status [--target T]... [--certs-dir DIR] [--within DUR] [--json] [--prometheus FILE]",
		Description: `Lists the CA, each registry's server certificate and every client pair of
the certkit home, then what is installed in the certs roots for each
registry (every root certkit knows that exists, or --target/--certs-dir as
install takes them): the home's copy, an older one (a renewal not yet
installed), a pair missing there, or one the home does not know. Without a
certkit home (a client machine) it lists what is installed.

Each certificate's state: ok, renew (inside the renewal window), expired,
not-yet-valid, outlives-ca (a leaf valid past its CA). The window is
--within, else a third of each certificate's lifetime, at most 30 days.

Exit status: 0 nothing needs attention, 1 something does (a state other
than ok, a copy older than the home's or missing, a file that cannot be
read), 2 usage. Fit for cron and systemd's ExecCondition=.

Examples:
  certkit status
  certkit status --within 14d --json
  certkit status --certs-dir /etc/docker/certs.d         # a client machine
  certkit status --prometheus /var/lib/node_exporter/textfile/certkit.prom`,
		Flags: []cli.Flag{
			homeFlag(),
			targetFlag(),
			certsDirFlag(),
			&cli.StringFlag{Name: "within", Usage: "renewal window, e.g. 30d, 2w, 36h (default: a third of each lifetime, at most 30 days)"},
			jsonFlag(),
			&cli.StringFlag{Name: "prometheus", Usage: "also write the report for node_exporter's textfile collector to `FILE` (atomically)"},
		},
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return usageError{errs.Input("status takes no arguments, got "+c.Args().First(), "certkit status [--target T] [--within DUR]")}
			}
			rep, err := readStatus(e, c)
			if err != nil {
				return err
			}
			if p := c.String("prometheus"); p != "" {
				var buf bytes.Buffer
				if err := rep.WritePrometheus(&buf); err != nil {
					return err
				}
				if _, err := atomicfile.WriteAll([]atomicfile.File{{Path: p, Data: buf.Bytes(), Mode: 0o644}}, atomicfile.Options{Force: true, DirMode: 0o755}); err != nil {
					return err
				}
			}
			if c.Bool("json") {
				if err := e.printJSON(rep); err != nil {
					return err
				}
			} else {
				printStatus(e.stdout, rep)
			}
			return statusExit(rep, c)
		},
	}
}

// readStatus reads what status and renew report on.
func readStatus(e *env, c *cli.Context) (*status.Report, error) {
	within, err := parseWithin(c.String("within"))
	if err != nil {
		return nil, err
	}
	h, err := e.home(c)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(h); errors.Is(err, fs.ErrNotExist) {
		// No home: a client machine, which lists what is installed.
		e.ui.hintf("no certkit home at %s: listing what is installed only", h)
		h = ""
	}
	roots, err := statusRoots(c)
	if err != nil {
		return nil, err
	}
	return status.Read(status.Options{Home: h, Roots: roots, Within: within})
}

// statusRoots are the roots of --target/--certs-dir, or every root
// certkit knows (each once).
func statusRoots(c *cli.Context) ([]install.Root, error) {
	if len(c.StringSlice("target")) > 0 || c.String("certs-dir") != "" {
		return resolveRoots(c)
	}
	var out []install.Root
	seen := map[string]bool{}
	for _, t := range install.Targets() {
		r, err := install.ResolveRoot(t, processEnv())
		if err != nil || seen[r.Dir] {
			continue
		}
		seen[r.Dir] = true
		out = append(out, r)
	}
	return out, nil
}

func parseWithin(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	d, err := ca.ParseValidity(s)
	if err != nil {
		return 0, errs.Input(fmt.Sprintf("--within %q is not a duration", s), "use days, weeks or hours, e.g. --within 30d, 2w or 36h")
	}
	return d, nil
}

// statusExit is the error that makes status exit 1, with what to do.
func statusExit(rep *status.Report, c *cli.Context) error {
	n := rep.Attention()
	if n == 0 {
		return nil
	}
	var crlDue []string
	for _, l := range rep.CRLs {
		if l.State != status.OK {
			crlDue = append(crlDue, l.Path)
		}
	}
	revoked := 0
	for _, cc := range rep.Certs {
		if cc.State == status.Revoked {
			revoked++
		}
	}
	var parts []string
	switch certs := n - len(crlDue) - len(rep.Problems); {
	case certs == 1:
		parts = append(parts, "1 certificate needs attention")
	case certs > 1:
		parts = append(parts, plural(certs, "certificate")+" need attention")
	}
	if len(crlDue) > 0 {
		parts = append(parts, fmt.Sprintf("the CRL %s is due to be signed again", strings.Join(crlDue, " and ")))
	}
	if len(rep.Problems) > 0 {
		parts = append(parts, plural(len(rep.Problems), "file")+" cannot be read ("+strings.Join(rep.Problems, "; ")+")")
	}
	what := strings.Join(parts, "; ")
	within := ""
	if w := c.String("within"); w != "" {
		within = " --within " + shellquote.Quote(w)
	}
	var hints []string
	if len(crlDue) > 0 {
		hints = append(hints, "sign the CRL again before its next update, after which nginx and Apache refuse every client: certkit crl"+homeArg(c)+", then reload them")
	}
	if revoked > 0 {
		hints = append(hints, "take the revoked pairs out of the certs roots: certkit install --force"+runRootFlags(c))
	}
	if n-len(crlDue)-len(rep.Problems)-revoked > 0 || len(hints) == 0 {
		hints = append(hints, "renew them, and install the renewed pairs where the old ones are: certkit renew --install"+within+runRootFlags(c))
	}
	hint := strings.Join(hints, "; ")
	if rep.CADue {
		hint = "the CA itself expires inside its window: a new CA is due (certkit rotate-ca, then renew); " + hint
	}
	if rep.Home == "" {
		hint = "on the machine with the certkit home, run certkit renew, then bring the new pairs here"
	}
	return errs.WithHint(fmt.Errorf("%s", what), hint)
}

func printStatus(out io.Writer, rep *status.Report) {
	// tabwriter writes each cell and each run of padding on its own: to
	// a terminal or a pipe that is a system call each, 16 a line.
	w := bufio.NewWriterSize(out, 64<<10)
	defer w.Flush()
	rows := make([][]string, 0, 1+len(rep.Certs))
	rows = append(rows, []string{"WHERE", "REGISTRY", "NAME", "KIND", "KEY", "NOT AFTER", "DAYS", "STATE"})
	for i := range rep.Certs {
		c := &rep.Certs[i]
		where := "home"
		if c.Location == status.InCertsD {
			where = string(c.Target) + " (" + string(c.Copy) + ")"
		}
		reg := c.Registry
		if reg == "" {
			reg = "-"
		}
		rows = append(rows, []string{where, reg, c.Name, string(c.Kind), c.KeyType,
			c.NotAfter.Format("2006-01-02 15:04"), strconv.Itoa(c.DaysLeft), string(c.State)})
	}
	writeTable(w, rows)
	if rep.Rotation != nil {
		fmt.Fprintln(w)
		fmt.Fprintln(w, rotationLine(len(rep.Rotation.Leaves), rep.Rotation.Previous))
	}
	if len(rep.CRLs) > 0 {
		fmt.Fprintln(w)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "CRL\tNUMBER\tNEXT UPDATE\tDAYS\tREVOKED\tSTATE")
		for _, l := range rep.CRLs {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\n", l.Path, l.Number, l.NextUpdate.Format("2006-01-02 15:04"), l.DaysLeft, l.Revoked, l.State)
		}
		tw.Flush()
	}
	if len(rep.Revoked) > 0 {
		fmt.Fprintln(w)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "REVOKED\tNAME\tSERIAL\tREVOKED AT\tNOT AFTER")
		for _, r := range rep.Revoked {
			at := "not in the CRL: certkit crl --rebuild"
			if r.Listed {
				at = r.RevokedAt.Format("2006-01-02 15:04")
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Registry, r.Name, r.Serial, at, r.NotAfter.Format("2006-01-02"))
		}
		tw.Flush()
	}
}

// writeTable writes rows (the header first) in columns, as a tabwriter
// (minwidth 0, padding 2, padded with spaces, no flags) writes the rows'
// cells joined by tabs: each column but the last as wide as its widest
// cell, counted in runes, and two spaces. tabwriter itself took 10 % of
// status over 10,000 pairs (every cell copied into its buffer and written
// on its own). Rows with a character tabwriter acts on (\t \v \n \f)
// in a cell go through tabwriter, for the same output.
func writeTable(w io.Writer, rows [][]string) {
	var widths []int
	for _, row := range rows {
		for j, cell := range row {
			if strings.ContainsAny(cell, "\t\v\n\f") {
				tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
				for _, row := range rows {
					io.WriteString(tw, strings.Join(row, "\t")+"\n")
				}
				tw.Flush()
				return
			}
			if j == len(row)-1 {
				continue // the last cell is not padded
			}
			for len(widths) <= j {
				widths = append(widths, 0)
			}
			widths[j] = max(widths[j], utf8.RuneCountInString(cell))
		}
	}
	const spaces = "                                                                "
	var line []byte
	for _, row := range rows {
		line = line[:0]
		for j, cell := range row {
			line = append(line, cell...)
			if j == len(row)-1 {
				break
			}
			for pad := widths[j] + 2 - utf8.RuneCountInString(cell); pad > 0; pad -= len(spaces) {
				line = append(line, spaces[:min(pad, len(spaces))]...)
			}
		}
		line = append(line, '\n')
		w.Write(line)
	}
}
