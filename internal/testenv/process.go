package testenv

import (
	"bufio"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// Program is a server program for StartProcess.
type Program struct {
	Path string   // from NeedTool
	Args []string // without the program's name
	Env  []string // added to the test's own environment
	// Credential, when not nil, runs the program as that user and group
	// (the test must run as root), as a service runs as its own user.
	Credential *syscall.Credential

	// Ready matches the line of output (stdout or stderr) by which the
	// program says it is ready; StartProcess waits for it and returns its
	// submatches.
	Ready *regexp.Regexp
	// Listen is an address the program listens on; StartProcess waits
	// until it accepts connections there. It is for programs that say
	// nothing when ready (nginx, Apache).
	Listen string
}

// failsafe is how long a program may take to be ready before it is
// killed. It is not a timing assertion: a program that never becomes ready
// would otherwise hang the test; killed, it fails it with its output.
const failsafe = time.Minute

// maxOutput bounds the output kept to show when a test fails.
const maxOutput = 1 << 20

// StartProcess starts a server program, waits until it is ready (see
// Program.Ready and Program.Listen) and returns Ready's submatches, or nil
// without Ready. When the test ends the program is killed and waited for,
// and its output is logged if the test failed. A program that exits before
// it is ready fails the test, showing its output.
func StartProcess(t testing.TB, p Program) []string {
	t.Helper()
	name := filepath.Base(p.Path)
	cmd := exec.Command(p.Path, p.Args...)
	if p.Env != nil {
		cmd.Env = append(os.Environ(), p.Env...)
	}
	if p.Credential != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: p.Credential}
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = w, w
	err = cmd.Start()
	w.Close()
	if err != nil {
		r.Close()
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()

	out := new(output)
	ready := make(chan []string, 1)
	readDone := make(chan struct{}) // the program and its output ended
	go func() {
		defer close(readDone)
		sc := bufio.NewScanner(r)
		said := p.Ready == nil
		for sc.Scan() {
			line := sc.Text()
			out.add(line)
			if !said {
				if m := p.Ready.FindStringSubmatch(line); m != nil {
					ready <- m
					said = true
				}
			}
		}
		io.Copy(io.Discard, r) // after a line too long to scan: keep draining
	}()
	// endOutput waits until all the output is read, once the program has
	// exited; a child that inherited the output could keep it open, so
	// after 10s it is closed instead.
	endOutput := func() {
		select {
		case <-readDone:
		case <-time.After(10 * time.Second):
			r.Close()
			<-readDone
		}
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
		endOutput()
		r.Close()
		if t.Failed() {
			t.Logf("%s %s output:\n%s", name, strings.Join(p.Args, " "), out)
		}
	})

	var killed atomic.Bool
	timer := time.AfterFunc(failsafe, func() { killed.Store(true); cmd.Process.Kill() })
	defer timer.Stop()
	notReady := func(what string) {
		t.Helper()
		if killed.Load() {
			what += " (killed after " + failsafe.String() + ")"
		}
		<-exited
		endOutput()
		t.Fatalf("%s %s:\n%s", name, what, out)
	}

	var m []string
	if p.Ready != nil {
		select {
		case m = <-ready:
		case <-readDone:
			select {
			case m = <-ready:
			default:
				notReady("exited before it said it was ready")
			}
		}
	}
	if p.Listen != "" {
		for {
			c, err := net.DialTimeout("tcp", p.Listen, time.Second)
			if err == nil {
				c.Close()
				break
			}
			select {
			case <-exited:
				notReady("exited before it listened on " + p.Listen + ": " + err.Error())
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
	return m
}

// output is a program's output, kept up to maxOutput.
type output struct {
	mu        sync.Mutex
	b         strings.Builder
	truncated bool
}

func (o *output) add(line string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.b.Len()+len(line) >= maxOutput {
		o.truncated = true
		return
	}
	o.b.WriteString(line)
	o.b.WriteByte('\n')
}

func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.truncated {
		return o.b.String() + "[output cut at 1 MiB]\n"
	}
	return o.b.String()
}
