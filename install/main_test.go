//go:build unix

package install

import (
	"os"
	"testing"

	cflog "github.com/cloudflare/cfssl/log"
	ctrlog "github.com/containerd/log"
)

func TestMain(m *testing.M) {
	cflog.Level = cflog.LevelFatal + 1 // ca.Create goes through cfssl, which logs
	ctrlog.SetLevel("panic")           // containerd logs the hosts.toml it cannot parse
	if os.Getenv(crashEnv) != "" {
		os.Exit(crashChild())
	}
	os.Exit(m.Run())
}
