package status

import (
	"crypto/x509"
	"time"
)

// PreviousCA is the state of a leaf that the previous CA issued, during
// a CA rotation: renew issues it again under the new CA.
const PreviousCA State = "previous-ca"

// PreviousCAName is the name of the previous CA's line in the report.
const PreviousCAName = "ca-previous"

// Rotation is a CA rotation under way: the previous CA, still trusted,
// and the leaves of the home it issued.
type Rotation struct {
	Previous         string    `json:"previous"` // its subject
	PreviousNotAfter time.Time `json:"previous_not_after"`
	// Leaves are the home's certificates still under the previous CA,
	// as "registry name"; certkit rotate-ca --finish waits for none.
	Leaves []string `json:"leaves"`
}

// underPrevious marks a leaf the previous CA issued.
func (r *Report) underPrevious(c *Cert, prev *x509.Certificate) {
	if prev == nil || c.Kind == CA || c.der == nil {
		return
	}
	if c.State != Expired && c.State != Revoked && r.chainsTo(c, prev) {
		c.State = PreviousCA
	}
}

func (r *Report) rotation(prev *x509.Certificate, home []Cert) *Rotation {
	rot := &Rotation{Previous: prev.Subject.String(), PreviousNotAfter: prev.NotAfter.UTC(), Leaves: []string{}}
	for _, c := range home {
		if c.State == PreviousCA {
			rot.Leaves = append(rot.Leaves, c.Registry+" "+c.Name)
		}
	}
	return rot
}
