package main

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/certkit/certkit/status"
)

// countWriter counts the writes it is given: each is a system call when
// the writer is standard output.
type countWriter struct {
	bytes.Buffer
	writes int
}

func (w *countWriter) Write(p []byte) (int, error) {
	w.writes++
	return w.Buffer.Write(p)
}

// TestStatusPrintBuffered: the table of a large report reaches standard
// output in a few large writes, not one per cell (330,000 system calls for
// 20,000 certificates), and every line is there.
func TestStatusPrintBuffered(t *testing.T) {
	const n = 2000
	rep := &status.Report{Now: time.Now()}
	for i := range n {
		rep.Certs = append(rep.Certs, status.Cert{Location: status.InHome, Registry: "reg.example.com:5000", Name: fmt.Sprintf("c%05d", i),
			Kind: status.Client, KeyType: "ecdsa-p256", NotAfter: rep.Now.Add(800 * 24 * time.Hour), DaysLeft: 800, State: status.OK})
	}
	var w countWriter
	printStatus(&w, rep)
	lines := strings.Split(strings.TrimSuffix(w.String(), "\n"), "\n")
	if len(lines) != n+1 || !strings.HasPrefix(lines[0], "WHERE") || !strings.Contains(lines[n], "c01999") {
		t.Fatalf("%d lines, want the header and %d certificates:\n%s…", len(lines), n, lines[0])
	}
	if max := 1 + len(w.String())/(64<<10); w.writes > max {
		t.Errorf("%d writes for %d bytes, want at most %d (one per 64 KiB)", w.writes, len(w.String()), max)
	}
}

// TestStatusTableAsTabwriter: the status table is laid out byte for byte
// as text/tabwriter lays it out, with wide and narrow cells, empty ones,
// names in other scripts, and cells with a tab or a line break in them.
func TestStatusTableAsTabwriter(t *testing.T) {
	for _, names := range [][]string{
		{"laptop", "ci-runner-01", "x"},
		{"", "ünïcödé", "日本語の名前", "a"},
		{"tab\there", "plain"},
		{"line\nbreak", "plain"},
		{"vtab\vff\f", "plain"},
	} {
		rows := [][]string{{"WHERE", "REGISTRY", "NAME", "DAYS", "STATE"}}
		for i, n := range names {
			rows = append(rows, []string{"docker (same)", "reg.example.com:" + strings.Repeat("5", i+1), n, fmt.Sprint(800 - 300*i), "ok"})
		}
		var want bytes.Buffer
		tw := tabwriter.NewWriter(&want, 0, 0, 2, ' ', 0)
		for _, row := range rows {
			fmt.Fprintln(tw, strings.Join(row, "\t"))
		}
		tw.Flush()
		var got bytes.Buffer
		writeTable(&got, rows)
		if got.String() != want.String() {
			t.Errorf("names %q:\n%s\nwant (tabwriter):\n%s", names, got.String(), want.String())
		}
	}
}
