package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"
)

// ui is the one place that talks to people. Everything for humans goes to
// stderr: "certkit: error: …", "certkit: warning: …", "certkit: hint: …"
// and plain report lines. stdout carries only data (JSON, templates).
type ui struct {
	w io.Writer
}

func newUI(w io.Writer) *ui { return &ui{w: w} }

func (u *ui) errorf(format string, a ...any) { u.line("certkit: error: ", format, a...) }
func (u *ui) warnf(format string, a ...any)  { u.line("certkit: warning: ", format, a...) }
func (u *ui) hintf(format string, a ...any)  { u.line("certkit: hint: ", format, a...) }

// printf writes a plain report line.
func (u *ui) printf(format string, a ...any) { u.line("", format, a...) }

func (u *ui) line(prefix, format string, a ...any) {
	msg := strings.TrimRight(fmt.Sprintf(format, a...), "\n")
	fmt.Fprintf(u.w, "%s%s\n", prefix, msg)
}

// terminal reports whether w is an interactive terminal.
func terminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// progress announces slow work (RSA key generation takes seconds). On a
// terminal it shows a spinner until done is called; elsewhere one line.
func (u *ui) progress(msg string) (done func()) {
	start := time.Now()
	if !terminal(u.w) {
		u.printf("%s…", msg)
		return func() {}
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		frames := `|/-\`
		t := time.NewTicker(120 * time.Millisecond)
		defer t.Stop()
		for i := 0; ; i++ {
			fmt.Fprintf(u.w, "\r%s %c", msg, frames[i%len(frames)])
			select {
			case <-stop:
				fmt.Fprintf(u.w, "\r%s done (%.1fs)\n", msg, time.Since(start).Seconds())
				return
			case <-t.C:
			}
		}
	}()
	return func() { close(stop); wg.Wait() }
}
