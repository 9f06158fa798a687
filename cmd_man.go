package main

import (
	"fmt"
	"io"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
)

func manCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:      "man",
		Usage:     "print certkit's manual page (roff), every command and flag in one page",
		UsageText: "certkit man",
		Description: `Examples:
  certkit man | man -l -
  certkit man > ~/.local/share/man/man1/certkit.1    # then: man certkit`,
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return usageError{fmt.Errorf("certkit man takes no arguments, got %q", c.Args().First())}
			}
			return writeManPage(e.stdout, c.App, manDate())
		},
	}
}

// manDate dates the page by the commit certkit was built from, or, for a
// build without one, today.
func manDate() time.Time {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.time" {
				if t, err := time.Parse(time.RFC3339, s.Value); err == nil {
					return t
				}
			}
		}
	}
	return time.Now()
}

// writeManPage writes the manual page of app in roff (man(7) macros),
// built from the same commands, flags and help texts as --help.
func writeManPage(w io.Writer, app *cli.App, date time.Time) error {
	var b strings.Builder
	fmt.Fprintf(&b, ".TH CERTKIT 1 %s %s \"User Commands\"\n", date.UTC().Format(time.DateOnly), roffQuote("certkit "+app.Version))
	b.WriteString(".SH NAME\n")
	b.WriteString(roffFill("certkit - " + app.Usage))
	b.WriteString(".SH SYNOPSIS\n")
	b.WriteString(".B certkit\n[\\fB\\-\\-home\\fR \\fIDIR\\fR]\n\\fICOMMAND\\fR\n[\\fIOPTIONS\\fR]\n")
	b.WriteString(".SH DESCRIPTION\n")
	var desc strings.Builder
	writeRoffBlock(&desc, app.Description)
	b.WriteString(strings.TrimPrefix(desc.String(), ".PP\n")) // no paragraph break right after a heading
	b.WriteString(".SH GLOBAL OPTIONS\n")
	writeRoffFlags(&b, app.Flags)
	b.WriteString(".SH COMMANDS\n")
	var walk func(cmds []*cli.Command, path string)
	walk = func(cmds []*cli.Command, path string) {
		for _, c := range cmds {
			if c.Hidden {
				continue
			}
			name := path + " " + c.Name
			fmt.Fprintf(&b, ".SS %s\n", roffQuote(name))
			b.WriteString(roffFill(c.Usage))
			usage := c.UsageText
			if usage == "" {
				usage = name + " [options]"
			}
			b.WriteString(".PP\n.nf\n")
			for _, l := range strings.Split(usage, "\n") {
				b.WriteString(roffText(strings.TrimSpace(l)) + "\n")
			}
			b.WriteString(".fi\n")
			writeRoffBlock(&b, c.Description)
			writeRoffFlags(&b, c.Flags)
			walk(c.Subcommands, name)
		}
	}
	walk(app.Commands, "certkit")
	b.WriteString(manTail)
	_, err := io.WriteString(w, b.String())
	return err
}

// writeRoffBlock writes a help text: paragraphs of prose, and its indented
// lines (the examples) as they are, unfilled.
func writeRoffBlock(b *strings.Builder, text string) {
	text = strings.TrimSpace(text)
	if text == "" {
		return
	}
	inPara, inExample := false, false
	for _, line := range strings.Split(text, "\n") {
		indented := strings.HasPrefix(line, " ")
		switch {
		case strings.TrimSpace(line) == "":
			if inExample {
				b.WriteString(".fi\n.RE\n")
			}
			inPara, inExample = false, false
			continue
		case indented && !inExample:
			b.WriteString(".RS 4\n.nf\n")
			inPara, inExample = false, true
		case !indented && inExample:
			b.WriteString(".fi\n.RE\n")
			inExample = false
		}
		if !inExample && !inPara {
			b.WriteString(".PP\n")
			inPara = true
		}
		if inExample {
			b.WriteString(roffText(strings.TrimPrefix(line, "  ")) + "\n")
		} else {
			b.WriteString(roffFill(line))
		}
	}
	if inExample {
		b.WriteString(".fi\n.RE\n")
	}
}

func writeRoffFlags(b *strings.Builder, flags []cli.Flag) {
	for _, f := range flags {
		df, ok := f.(cli.DocGenerationFlag)
		if !ok {
			continue
		}
		if vf, ok := f.(cli.VisibleFlag); ok && !vf.IsVisible() {
			continue
		}
		var names []string
		for _, n := range f.Names() {
			dash := "\\-\\-"
			if len(n) == 1 {
				dash = "\\-"
			}
			names = append(names, "\\fB"+dash+roffText(n)+"\\fR")
		}
		head := strings.Join(names, ", ")
		usage := df.GetUsage()
		if df.TakesValue() {
			head += " \\fIvalue\\fR"
			if d := df.GetDefaultText(); d != "" {
				if u, err := strconv.Unquote(d); err == nil {
					d = u
				}
				usage += " (default: " + d + ")"
			}
		}
		if sf, ok := f.(cli.DocGenerationSliceFlag); ok && sf.IsSliceFlag() && !strings.Contains(usage, "repeatable") {
			usage += " (repeatable)"
		}
		fmt.Fprintf(b, ".TP\n%s\n%s", head, roffFill(usage))
	}
}

// roffText escapes text for a roff text line: backslashes, hyphens (so
// that flags render as minus signs and can be searched for), a leading
// control character, and characters outside ASCII.
func roffText(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\\':
			b.WriteString("\\e")
		case r == '-':
			b.WriteString("\\-")
		case r > 126 || r < ' ' && r != '\t':
			fmt.Fprintf(&b, "\\[u%04X]", r)
		default:
			b.WriteRune(r)
		}
	}
	out := b.String()
	if strings.HasPrefix(out, ".") || strings.HasPrefix(out, "'") {
		out = "\\&" + out
	}
	return out
}

// roffFill writes filled text as lines of at most about 80 bytes, broken
// at spaces (roff joins them again).
func roffFill(s string) string {
	var b strings.Builder
	n := 0
	for _, w := range strings.Fields(s) {
		w = roffText(w)
		switch {
		case n == 0:
		case n+1+len(w) > 80:
			b.WriteString("\n")
			n = 0
		default:
			b.WriteString(" ")
			n++
		}
		if n == 0 && (strings.HasPrefix(w, ".") || strings.HasPrefix(w, "'")) {
			w = "\\&" + w
		}
		b.WriteString(w)
		n += len(w)
	}
	if n > 0 {
		b.WriteString("\n")
	}
	return b.String()
}

// roffQuote makes s one macro argument.
func roffQuote(s string) string {
	return `"` + strings.ReplaceAll(roffText(s), `"`, `\(dq`) + `"`
}

const manTail = `.SH ENVIRONMENT
.TP
.B CERTKIT_HOME
The certkit home: the CA and everything issued from it.
\fB\-\-home\fR overrides it.
.TP
.B XDG_DATA_HOME
Without \fBCERTKIT_HOME\fR, the home is \fI$XDG_DATA_HOME/certkit\fR,
else \fI\[ti]/.local/share/certkit\fR.
.TP
.B SUDO_USER
Under sudo, with neither variable above set, the home of the user who ran
sudo, so that \fBsudo certkit install\fR finds the CA that user made.
.SH FILES
.TP
.I <home>/ca/ca.crt\fR, \fI<home>/ca/ca.key
The CA certificate and its private key.
.TP
.I <home>/hosts/<HOST[:PORT]>/
A registry's server certificate (\fIserver.crt\fR, \fIserver\-chain.crt\fR,
\fIserver.key\fR) and client pairs (\fINAME.cert\fR, \fINAME.key\fR).
.TP
.I /etc/docker/certs.d/<HOST[:PORT]>/
Where \fBcertkit install\fR puts the CA and client pairs for Docker;
podman and containerd have their own folders (see \fB\-\-target\fR).
.SH EXIT STATUS
.TP
.B 0
Success.
.TP
.B 1
The command failed.
.TP
.B 2
The command line was wrong: an unknown command or flag, or a bad value.
.TP
.B 130
Interrupted.
.SH SEE ALSO
.BR docker (1),
.BR podman (1),
.BR openssl (1)
`
