package verify

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/certkit/certkit/host"
	"github.com/certkit/certkit/install"
)

// Each target's folders are said to be read by the programs that read
// them: podman falls back to Docker's rootful root only, never to the
// rootless or Desktop one.
func TestVerifyReaders(t *testing.T) {
	reg, err := host.Parse("reg.example.com:5000")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		target install.Target
		says   string
	}{
		{install.Docker, "Docker and podman trust only the system roots here and send no client certificate"},
		{install.DockerRootless, "rootless Docker trusts only the system roots here and sends no client certificate"},
		{install.DockerDesktop, "Docker Desktop trusts only the system roots here and sends no client certificate"},
		{install.Podman, "podman, skopeo and buildah trust only the system roots here and send no client certificate"},
		{install.Containerd, "containerd trusts only the system roots here and sends no client certificate"},
	}
	for _, tt := range tests {
		t.Run(string(tt.target), func(t *testing.T) {
			root := t.TempDir()
			dir := filepath.Join(root, reg.String())
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			rep := Verify(context.Background(), Options{Registry: reg, Dir: dir, Offline: true, Target: tt.target, CertsDir: root})
			c := expect(t, rep, "folder", Warning, "empty-folder")
			contains(t, "message", c.Message, tt.says)
			if tt.target == install.DockerRootless || tt.target == install.DockerDesktop {
				if strings.Contains(c.Message, "podman") {
					t.Errorf("podman is said to read the %s root: %s", tt.target, c.Message)
				}
			}
			if rep.Warnings != 1 || rep.Errors != 0 {
				t.Errorf("%d errors, %d warnings; want 0 and 1:\n%s", rep.Errors, rep.Warnings, dump(rep))
			}
		})
	}
}
