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

// TestNeedsRootFixes: a dry run's warning that the install itself needs
// root names the command that makes it, under sudo and without --dry-run;
// other warnings, other folders and runs as root keep their fix.
func TestNeedsRootFixes(t *testing.T) {
	const generic = "run the install as root, with sudo (sudo certkit still finds your certkit home)"
	result := func(dry bool) *install.Result {
		return &install.Result{DryRun: dry, Folders: []install.FolderResult{
			{Root: "/etc/docker/certs.d", NeedsRoot: true, Problems: []install.Problem{
				{Kind: install.KindShadowFolder, Fix: "mv a b"},
				{Kind: install.KindNotWritable, Fix: generic},
			}},
			{Root: "/srv/theirs/certs.d", Problems: []install.Problem{{Kind: install.KindNotWritable, Fix: "check who owns /srv/theirs/certs.d"}}},
		}}
	}
	env := func(vars map[string]string) func(string) string { return func(k string) string { return vars[k] } }
	const h = "/home/u/.local/share/certkit"
	tests := []struct {
		name string
		args []string
		dry  bool
		euid int
		env  map[string]string
		want string // the fix of the first folder's warning
	}{
		{"dry run", []string{"install", "--host", "reg:5000", "--dry-run"}, true, 1000, nil,
			"run it as root: sudo certkit install --host reg:5000 (sudo certkit still reads your certkit home, " + h + ")"},
		{"single dash, home from the environment", []string{"install", "-dry-run", "--host", "[fd00::1]:5000", "--target", "all"}, true, 1000, map[string]string{"CERTKIT_HOME": h},
			"run it as root: sudo certkit install --host '[fd00::1]:5000' --target all --home " + h + " (sudo certkit still reads your certkit home, " + h + ")"},
		{"--dry-run=true, uninstall", []string{"uninstall", "--dry-run=true", "--host", "reg"}, true, 1000, nil,
			"run it as root: sudo certkit uninstall --host reg (sudo certkit still reads your certkit home, " + h + ")"},
		{"as root", []string{"install", "--dry-run"}, true, 0, nil, generic},
		{"not a dry run", []string{"install"}, false, 1000, nil, generic},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := result(tt.dry)
			needsRootFixes(res, tt.args, h, tt.euid, env(tt.env))
			if got := res.Folders[0].Problems[1].Fix; got != tt.want {
				t.Errorf("fix\n got %q\nwant %q", got, tt.want)
			}
			if got := res.Folders[0].Problems[0].Fix; got != "mv a b" {
				t.Errorf("another warning's fix changed: %q", got)
			}
			if got := res.Folders[1].Problems[0].Fix; got != "check who owns /srv/theirs/certs.d" {
				t.Errorf("a folder that needs no root got %q", got)
			}
		})
	}
}
