package rootflags

import "testing"

func TestFlags(t *testing.T) {
	tests := []struct {
		name     string
		targets  []string
		certsDir string
		want     string
	}{
		{"docker's root", nil, "", ""},
		{"one target", []string{"podman"}, "", " --target podman"},
		{"several targets", []string{"docker", "containerd"}, "", " --target docker --target containerd"},
		{"certs root", nil, "/srv/certs.d", " --certs-dir /srv/certs.d"},
		{"both", []string{"containerd"}, "/srv/certs.d", " --target containerd --certs-dir /srv/certs.d"},
		{"quoted", []string{"all"}, "/srv/my certs", " --target all --certs-dir '/srv/my certs'"},
		{"home", nil, "~/certs.d", " --certs-dir '~/certs.d'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Flags(tt.targets, tt.certsDir); got != tt.want {
				t.Errorf("Flags(%q, %q) = %q, want %q", tt.targets, tt.certsDir, got, tt.want)
			}
		})
	}
}
