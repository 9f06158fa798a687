package main

import (
	"errors"
	"io/fs"
	"testing"

	"github.com/certkit/certkit/install"
	"github.com/certkit/certkit/internal/errs"
)

// TestSudoHint: permission denied on a system certs root names the exact
// sudo command, carrying the certkit home across sudo's reset environment
// when it came from the environment.
func TestSudoHint(t *testing.T) {
	denied := &install.PermissionError{Dir: "/etc/docker/certs.d", System: true, Err: fs.ErrPermission}
	env := func(vars map[string]string) func(string) string { return func(k string) string { return vars[k] } }
	tests := []struct {
		name string
		err  error
		args []string
		euid int
		env  map[string]string
		want string // the hint; "" when the error must come back unchanged
	}{
		{"default home", denied, []string{"install", "--host", "reg:5000"}, 1000, nil,
			"re-run as root: sudo certkit install --host reg:5000 (sudo certkit still reads your certkit home, /home/u/.local/share/certkit)"},
		{"home from CERTKIT_HOME", denied, []string{"install", "--host", "[fd00::1]:5000"}, 1000, map[string]string{"CERTKIT_HOME": "/srv/ck"},
			"re-run as root: sudo certkit install --host '[fd00::1]:5000' --home /home/u/.local/share/certkit (sudo certkit still reads your certkit home, /home/u/.local/share/certkit)"},
		{"home from --home", denied, []string{"--home", "/srv/ck", "install"}, 1000, map[string]string{"CERTKIT_HOME": "/srv/ck"},
			"re-run as root: sudo certkit --home /srv/ck install (sudo certkit still reads your certkit home, /home/u/.local/share/certkit)"},
		{"already root", denied, []string{"install"}, 0, nil, ""},
		{"user root", &install.PermissionError{Dir: "/home/u/.docker/certs.d", Err: fs.ErrPermission}, []string{"install"}, 1000, nil, ""},
		{"other error", errors.New("boom"), []string{"install"}, 1000, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := sudoHintFor(tt.err, tt.args, "/home/u/.local/share/certkit", tt.euid, env(tt.env))
			if got.Error() != tt.err.Error() {
				t.Errorf("message changed: %q", got)
			}
			wantHint := tt.want
			if wantHint == "" {
				wantHint = errs.HintOf(tt.err)
			}
			if h := errs.HintOf(got); h != wantHint {
				t.Errorf("hint\n got %q\nwant %q", h, wantHint)
			}
		})
	}
}
