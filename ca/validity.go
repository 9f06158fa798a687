package ca

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/certkit/certkit/internal/errs"
)

// lastTime is the last instant an X.509 validity can express
// (GeneralizedTime 99991231235959Z).
var lastTime = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)

// MinValidity is the shortest validity certkit issues.
const MinValidity = time.Hour

// ParseValidity reads a --validity value: whole years ("2y", 365 days
// each), weeks ("2w"), days ("90d") and hours ("36h"), alone or together
// ("1y2w"), or a Go duration that starts with hours ("8760h", "36h30m").
// m counts minutes only after hours: "6m" and "1y6m" mean months to most
// people and minutes to Go, and certkit takes neither, so they are
// refused rather than read as a few minutes.
func ParseValidity(s string) (time.Duration, error) {
	const (
		day    = 24 * time.Hour
		maxDur = 290 * 365 * day // time.Duration ends at about 292 years
	)
	in := strings.TrimSpace(s)
	bad := func(why string) error {
		return errs.Input(fmt.Sprintf("validity %q %s", s, why), "use years, weeks, days or hours, e.g. --validity 2y, 26w, 90d or 36h")
	}
	if in == "" {
		return 0, bad("is empty")
	}
	if strings.HasPrefix(in, "-") {
		return 0, bad("must be positive")
	}
	var total time.Duration
	hours := false
	for rest := in; rest != ""; {
		i := strings.IndexFunc(rest, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
		if i < 0 {
			i = len(rest)
		}
		num := rest[:i]
		j := strings.IndexFunc(rest[i:], func(r rune) bool { return r >= '0' && r <= '9' || r == '.' })
		if j < 0 {
			j = len(rest) - i
		}
		unit := rest[i : i+j]
		before := in[:len(in)-len(rest)]
		rest = rest[i+j:]
		if num == "" {
			return 0, bad("is not a duration")
		}
		var d time.Duration
		switch unit {
		case "":
			if f, err := strconv.ParseFloat(num, 64); err == nil && f == 0 && before == "" && rest == "" {
				return 0, bad("must be positive")
			}
			return 0, errs.Input(fmt.Sprintf("validity %q has no unit", s), "say which: --validity "+num+"d for days, "+num+"h for hours")
		case "y", "w", "d":
			per := map[string]time.Duration{"y": 365 * day, "w": 7 * day, "d": day}[unit]
			n, err := strconv.ParseInt(num, 10, 64)
			if errors.Is(err, strconv.ErrRange) {
				return 0, bad("is longer than 290 years")
			}
			if err != nil {
				return 0, bad("is not a duration: years, weeks and days are whole numbers")
			}
			if n > int64(maxDur/per) {
				return 0, bad("is longer than 290 years")
			}
			d = time.Duration(n) * per
		case "m", "mo", "mon", "mos", "month", "months":
			if unit == "m" && hours {
				d, _ = time.ParseDuration(num + unit) // minutes after hours, as in 36h30m
				break
			}
			return 0, monthsError(s, before, num, rest)
		case "h", "s", "ms", "us", "µs", "ns":
			var err error
			if d, err = time.ParseDuration(num + unit); err != nil {
				return 0, bad("is not a duration")
			}
			hours = hours || unit == "h"
		default:
			return 0, bad("is not a duration")
		}
		if d > maxDur-total {
			return 0, bad("is longer than 290 years")
		}
		total += d
	}
	if total <= 0 {
		return 0, bad("must be positive")
	}
	if total < MinValidity {
		return 0, bad("is shorter than an hour: the certificate would expire before it is installed")
	}
	return total, nil
}

// monthsError refuses months (6m, 6mo, 1y6m): they differ in length, and m
// is minutes to Go. The fix counts each month as 30 days.
func monthsError(s, before, num, after string) error {
	fix := "write months as days, 30 to a month: e.g. --validity 180d"
	if n, err := strconv.ParseInt(num, 10, 32); err == nil && n > 0 {
		fix = "write months as days, 30 to a month: --validity " + before + strconv.FormatInt(n*30, 10) + "d" + after
	}
	return errs.Input(fmt.Sprintf("validity %q counts months (m is months or minutes), which certkit does not take", s), fix)
}

// CheckNotAfter refuses a validity that ends after the year 9999.
func CheckNotAfter(now time.Time, d time.Duration) (time.Time, error) {
	end := now.Add(d)
	if d > lastTime.Sub(now) || end.After(lastTime) {
		return time.Time{}, errs.Input(fmt.Sprintf("validity %s reaches beyond the year 9999", d), "pick a shorter --validity, e.g. 10y")
	}
	return end, nil
}
