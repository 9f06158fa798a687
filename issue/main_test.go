package issue

import (
	"os"
	"testing"

	cflog "github.com/cloudflare/cfssl/log"
)

func TestMain(m *testing.M) {
	// As certkit's main does: cfssl must not print.
	cflog.Level = cflog.LevelFatal + 1
	code := m.Run()
	if p256Home != "" {
		os.RemoveAll(p256Home)
	}
	os.Exit(code)
}
