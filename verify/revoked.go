package verify

import (
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/certkit/certkit/install"
	"github.com/certkit/certkit/internal/shellquote"
)

// RevokedFunc says whether a client certificate was revoked, and when:
// the certkit home's CRLs, read by the caller.
type RevokedFunc func(c *x509.Certificate) (at time.Time, revoked bool)

// revokedChecks are the errors for the folder's pairs that were revoked:
// a server that checks the CRL (nginx, Apache from certkit's templates)
// refuses them, and one that does not (distribution) should not be
// trusted to.
func revokedChecks(opt Options, f *install.Folder, flags string) []Check {
	if opt.Revoked == nil {
		return nil
	}
	var out []Check
	for _, p := range f.Pairs {
		if p.Cert == nil {
			continue
		}
		at, ok := opt.Revoked(p.Cert)
		if !ok {
			continue
		}
		out = append(out, Check{ID: "pair-revoked:" + p.Name, Status: Error, Kind: "revoked",
			Message: fmt.Sprintf("%s was revoked on %s (serial %s): a registry behind nginx or Apache refuses it, and one that docker-registry serves directly still takes it until %s",
				p.CertPath, at.UTC().Format(time.DateOnly), hex.EncodeToString(p.Cert.SerialNumber.Bytes()), p.Cert.NotAfter.UTC().Format(time.DateOnly)),
			Fix: "take it out, and install the pairs the certkit home still has: " + install.Command(opt.Registry.String(), true, flags) +
				" (or certkit uninstall --host " + shellquote.Quote(opt.Registry.String()) + flags + " when it has none)"})
	}
	return out
}
