package verify

import (
	"os"
	"testing"

	cflog "github.com/cloudflare/cfssl/log"
)

func TestMain(m *testing.M) {
	// ca.Create goes through cfssl, which logs every signature.
	cflog.Level = cflog.LevelFatal
	os.Exit(m.Run())
}
