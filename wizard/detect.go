package wizard

import (
	"os"
	"path/filepath"

	"github.com/certkit/certkit/install"
)

// Probe is how Detect looks at the machine.
type Probe struct {
	LookPath func(string) (string, error)
	Stat     func(string) (os.FileInfo, error)
	Getenv   func(string) string
	HomeDir  string
}

// Detect lists the container runtimes found on this machine, for the
// wizard to pre-select: their daemons' binaries or sockets.
func Detect(p Probe) []install.Target {
	has := func(paths ...string) bool {
		for _, path := range paths {
			if path == "" {
				continue
			}
			if _, err := p.Stat(path); err == nil {
				return true
			}
		}
		return false
	}
	bin := func(names ...string) bool {
		for _, n := range names {
			if _, err := p.LookPath(n); err == nil {
				return true
			}
		}
		return false
	}
	var found []install.Target
	if bin("dockerd") || has("/var/run/docker.sock", "/run/docker.sock") {
		found = append(found, install.Docker)
	}
	// Only a running rootless daemon counts: docker-ce installs
	// dockerd-rootless.sh everywhere, rootless or not.
	if run := p.Getenv("XDG_RUNTIME_DIR"); run != "" && has(filepath.Join(run, "docker.sock")) {
		found = append(found, install.DockerRootless)
	}
	if p.HomeDir != "" && has(filepath.Join(p.HomeDir, ".docker", "desktop")) {
		found = append(found, install.DockerDesktop)
	}
	if bin("podman", "skopeo", "buildah") {
		found = append(found, install.Podman)
	}
	if bin("containerd") || has("/run/containerd/containerd.sock") {
		found = append(found, install.Containerd)
	}
	return found
}
