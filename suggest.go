package main

import (
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/certkit/certkit/internal/errs"
)

// unknownFlagPrefix starts the error the flag package returns for a flag a
// command does not have; it gives no typed error to match instead.
const unknownFlagPrefix = "flag provided but not defined: -"

// usageErrorWithSuggestion marks err as a usage error (exit 2) and, when it
// is about an unknown flag close to one of flags, hints at that flag:
// --hots gives "did you mean --host?".
func usageErrorWithSuggestion(err error, flags []cli.Flag) error {
	name, ok := strings.CutPrefix(err.Error(), unknownFlagPrefix)
	if !ok {
		return usageError{err}
	}
	name = strings.TrimLeft(name, "-")
	names := []string{"help"}
	for _, f := range flags {
		names = append(names, f.Names()...)
	}
	if s := closest(name, names); s != "" {
		dashes := "--"
		if len(s) == 1 {
			dashes = "-"
		}
		return usageError{errs.WithHint(err, "did you mean "+dashes+s+"?")}
	}
	return usageError{err}
}

// commandSuggestion is a hint naming the command closest to name, or "".
func commandSuggestion(name string, cmds []*cli.Command, prefix string) string {
	var names []string
	for _, c := range cmds {
		if !c.Hidden {
			names = append(names, c.Names()...)
		}
	}
	if s := closest(name, names); s != "" {
		return "did you mean " + prefix + s + "?"
	}
	return ""
}

// closest returns the candidate nearest to s, if it is near enough to be a
// typo of it (a swapped, missing, extra or wrong letter or two), or the one
// candidate s is the start of; "" otherwise.
func closest(s string, candidates []string) string {
	if s == "" {
		return ""
	}
	best, bestDist := "", 3
	if len(s) <= 4 {
		bestDist = 2
	}
	var prefixed []string
	for _, c := range candidates {
		if len(s) >= 2 && strings.HasPrefix(c, s) {
			prefixed = append(prefixed, c)
		}
		if d := editDistance(s, c); d < bestDist && d < len(c) {
			best, bestDist = c, d
		}
	}
	if best == "" && len(prefixed) == 1 {
		return prefixed[0]
	}
	return best
}

// editDistance is the optimal string alignment distance: insertions,
// deletions, substitutions and swaps of neighbours each cost one.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}
