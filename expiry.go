package main

import (
	"fmt"
	"time"
)

// expiryText says when a certificate ends, for a report line: its date, or,
// when that is under two days away, the exact time in UTC and how long is
// left, so that a 36-hour certificate does not read like one that lasts
// until the end of a day.
func expiryText(notAfter, now time.Time) string {
	left := notAfter.Sub(now)
	if left >= 48*time.Hour {
		return notAfter.UTC().Format(time.DateOnly)
	}
	if left <= 0 {
		return notAfter.UTC().Format("2006-01-02 15:04:05 UTC") + " (already expired)"
	}
	left = left.Round(time.Minute)
	h, m := int(left/time.Hour), int(left%time.Hour/time.Minute)
	var in string
	switch {
	case h == 0:
		in = plural(m, "minute")
	case m == 0:
		in = plural(h, "hour")
	default:
		in = plural(h, "hour") + " " + plural(m, "minute")
	}
	return fmt.Sprintf("%s (in %s)", notAfter.UTC().Format("2006-01-02 15:04:05 UTC"), in)
}
