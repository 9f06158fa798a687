package verify

import (
	"fmt"

	"github.com/certkit/certkit/host"
)

// loopbackWarning is the warning for a registry that Docker's classic path
// treats as insecure (certsd.md §4), or "" for any other registry.
func loopbackWarning(reg host.Registry) string {
	if !reg.IsLoopback() {
		return ""
	}
	return fmt.Sprintf("%s is a loopback registry: Docker's classic path treats localhost, 127.0.0.0/8 and ::1 as insecure "+
		"and reads no certs.d folder for them, so docker login and classic pulls send no client certificate "+
		"even when this check passes (the containerd image store sends it, but skips server verification for localhost); "+
		"for a real test use a name that resolves to a non-loopback address of this machine", reg)
}
