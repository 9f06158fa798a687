package main

import (
	"bufio"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
)

// TestDemoSignalLeavesNothing stops certkit demo with SIGTERM at each of
// its steps: whatever the step, its temporary folder (which holds a CA
// key) is gone afterwards.
func TestDemoSignalLeavesNothing(t *testing.T) {
	for _, step := range []string{"== 1.", "== 2.", "== 3.", "== 4."} {
		t.Run(step, func(t *testing.T) {
			tmp := t.TempDir()
			// testscript.Main put certkit (this test binary) on PATH.
			cmd := exec.Command("certkit", "demo")
			cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
			stderr, err := cmd.StderrPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			sc := bufio.NewScanner(stderr)
			for sc.Scan() {
				if strings.HasPrefix(sc.Text(), step) {
					cmd.Process.Signal(syscall.SIGTERM)
					break
				}
			}
			for sc.Scan() { // drain, so the demo never blocks on stderr
			}
			err = cmd.Wait()
			if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() != 130 {
				t.Errorf("exit %d after SIGTERM, want 130 (or 0 if it had finished)", ee.ExitCode())
			}
			left, _ := os.ReadDir(tmp)
			for _, e := range left {
				t.Errorf("left behind: %s", e.Name())
			}
		})
	}
}
