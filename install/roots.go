package install

import (
	"fmt"

	"github.com/certkit/certkit/internal/errs"
)

// Roots turns targets and an optional certs-dir override into certs roots:
// with certsDir, the layout of the one target (docker when none) written
// into certsDir; otherwise each target's root on this machine. Targets are
// de-duplicated in order; none means docker.
func Roots(targets []Target, certsDir string, env RootEnv) ([]Root, error) {
	var uniq []Target
	seen := map[Target]bool{}
	for _, t := range targets {
		if !seen[t] {
			seen[t] = true
			uniq = append(uniq, t)
		}
	}
	if len(uniq) == 0 {
		uniq = []Target{Docker}
	}
	if certsDir != "" {
		if len(uniq) > 1 {
			return nil, errs.Input(fmt.Sprintf("--certs-dir takes one --target (the layout to write), got %d", len(uniq)),
				"run once per target, e.g. --certs-dir DIR --target containerd")
		}
		r, err := CustomRoot(uniq[0], certsDir)
		if err != nil {
			return nil, err
		}
		return []Root{r}, nil
	}
	var roots []Root
	for _, t := range uniq {
		r, err := ResolveRoot(t, env)
		if err != nil {
			return nil, err
		}
		roots = append(roots, r)
	}
	return roots, nil
}
