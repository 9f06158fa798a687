package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestStartupDependencies: the packages whose initialisation made every
// certkit command start several milliseconds slower (cfssl's config and
// signer packages link zlint, zcrypto and the public suffix list) stay out
// of the binary, while cfssl still makes the keys and certificate requests.
// zlint remains a test dependency (internal/certtest).
func TestStartupDependencies(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	deps := strings.Fields(string(out))
	has := func(prefix string) bool {
		for _, d := range deps {
			if d == prefix || strings.HasPrefix(d, prefix+"/") {
				return true
			}
		}
		return false
	}
	for _, p := range []string{
		"github.com/cloudflare/cfssl/config",
		"github.com/cloudflare/cfssl/signer",
		"github.com/zmap/zlint/v3",
		"github.com/zmap/zcrypto",
		"github.com/weppos/publicsuffix-go",
		"google.golang.org/protobuf",
	} {
		if has(p) {
			t.Errorf("certkit links %s: its package initialisation slows every command's start-up", p)
		}
	}
	if !has("github.com/cloudflare/cfssl/csr") {
		t.Error("certkit no longer links cfssl's csr package, which makes its keys' certificate requests")
	}
}
