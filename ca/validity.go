package ca

import (
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

// ParseValidity reads a --validity value: a number of days ("90d"), years
// ("2y", 365 days each) or a Go duration ("8760h").
func ParseValidity(s string) (time.Duration, error) {
	in := strings.TrimSpace(s)
	bad := func(why string) error {
		return errs.Input(fmt.Sprintf("validity %q %s", s, why), "use a number of days, years or hours, e.g. --validity 90d, 2y or 8760h")
	}
	if in == "" {
		return 0, bad("is empty")
	}
	var d time.Duration
	switch unit := in[len(in)-1]; unit {
	case 'd', 'y':
		n, err := strconv.ParseInt(in[:len(in)-1], 10, 64)
		if err != nil {
			return 0, bad("is not a number of days or years")
		}
		if n <= 0 {
			return 0, bad("must be positive")
		}
		// time.Duration ends at about 292 years; nobody needs more. The
		// bound comes before the multiplication, which could wrap.
		if unit == 'y' && n > 290 || unit == 'd' && n > 290*365 {
			return 0, bad("is longer than 290 years")
		}
		days := n
		if unit == 'y' {
			days = n * 365
		}
		d = time.Duration(days) * 24 * time.Hour
	default:
		var err error
		d, err = time.ParseDuration(in)
		if err != nil {
			return 0, bad("is not a duration")
		}
	}
	if d <= 0 {
		return 0, bad("must be positive")
	}
	if d < MinValidity {
		return 0, bad("is shorter than an hour: the certificate would expire before it is installed")
	}
	return d, nil
}

// CheckNotAfter refuses a validity that ends after the year 9999.
func CheckNotAfter(now time.Time, d time.Duration) (time.Time, error) {
	end := now.Add(d)
	if d > lastTime.Sub(now) || end.After(lastTime) {
		return time.Time{}, errs.Input(fmt.Sprintf("validity %s reaches beyond the year 9999", d), "pick a shorter --validity, e.g. 10y")
	}
	return end, nil
}
