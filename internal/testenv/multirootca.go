package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"testing"
)

// MultirootcaEnv names the multirootca binary the tests run; scripts/test
// builds it from the cfssl version go.mod pins and sets it.
const MultirootcaEnv = "CERTKIT_MULTIROOTCA"

// multirootcaInstall is how to get multirootca by hand.
const multirootcaInstall = "go install github.com/cloudflare/cfssl/cmd/multirootca@v1.6.5 (the version go.mod pins) and put it on PATH, or set " +
	MultirootcaEnv + "; ./scripts/test builds it"

// NeedMultirootca returns the path of cfssl's multirootca, the remote
// signer: $CERTKIT_MULTIROOTCA, or multirootca on PATH. A missing one
// fails the test under CI=true and skips it elsewhere.
func NeedMultirootca(t testing.TB) string {
	t.Helper()
	if p := os.Getenv(MultirootcaEnv); p != "" {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("%s=%s: %v", MultirootcaEnv, p, err)
		}
		return p
	}
	if p, err := exec.LookPath("multirootca"); err == nil {
		return p
	}
	if err := missing("multirootca"); err != nil {
		t.Fatal(err)
	}
	t.Skip("multirootca is not installed: " + multirootcaInstall)
	return ""
}

// multirootcaReady is the line multirootca logs once it listens with TLS.
var multirootcaReady = regexp.MustCompile(`Now listening on https://`)

// StartMultirootca starts multirootca with args (the command certkit
// template multirootca prints, without its name), waits until it accepts
// connections on listen, and stops it when the test ends.
func StartMultirootca(t testing.TB, listen string, args []string) {
	t.Helper()
	if len(args) == 0 {
		t.Fatal(fmt.Errorf("StartMultirootca: no arguments"))
	}
	StartProcess(t, Program{Path: NeedMultirootca(t), Args: args, Ready: multirootcaReady, Listen: listen})
}
