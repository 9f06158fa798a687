package ca

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/certkit/certkit/internal/errs"
)

// TestParseValidityUnits: the units a person means. m is never read as
// minutes on its own (90m was a 90-minute certificate), months are refused
// with words that say so, and weeks and combined units are read.
func TestParseValidityUnits(t *testing.T) {
	const day = 24 * time.Hour
	good := []struct {
		in   string
		want time.Duration
	}{
		{"2w", 14 * day},
		{"1y2w", 365*day + 14*day},
		{"1y6w3d", 365*day + 45*day},
		{"1d12h", 36 * time.Hour},
		{"36h0m0s", 36 * time.Hour}, // a Go duration's String(), as the wizard writes it back
		{"1h30m", 90 * time.Minute},
		{"1.5h", 90 * time.Minute},
		{" 90d ", 90 * day},
	}
	for _, tt := range good {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseValidity(tt.in)
			if err != nil || got != tt.want {
				t.Fatalf("ParseValidity(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
		})
	}
	bad := []struct {
		in, msg, fix string
	}{
		{"90m", "counts months", "--validity 2700d"},
		{"12m", "counts months", "--validity 360d"},
		{"6mo", "counts months", "--validity 180d"},
		{"6months", "counts months", "--validity 180d"},
		{"1y6m", "counts months", "--validity 1y180d"},
		{"1y6m2d", "counts months", "--validity 1y180d2d"},
		{"90", "has no unit", "--validity 90d"},
		{"59s", "shorter than an hour", ""},
		{"30m1h", "counts months", ""},
		{"2x", "is not a duration", "26w"},
		{"1.5y", "is not a duration", ""},
		{"291y", "longer than 290 years", ""},
		{"200y100y", "longer than 290 years", ""},
		{"16000w", "longer than 290 years", ""},
	}
	for _, tt := range bad {
		t.Run(tt.in, func(t *testing.T) {
			_, err := ParseValidity(tt.in)
			var ie *errs.InputError
			if !errors.As(err, &ie) {
				t.Fatalf("ParseValidity(%q) err = %v, want an input error", tt.in, err)
			}
			if !strings.Contains(ie.Msg, tt.msg) {
				t.Errorf("message %q does not say %q", ie.Msg, tt.msg)
			}
			if !strings.Contains(ie.Fix, tt.fix) {
				t.Errorf("fix %q does not say %q", ie.Fix, tt.fix)
			}
		})
	}
}

// FuzzParseValidity: any input gives a validity between an hour and 290
// years, or an input error; never a panic or a wrapped-around duration.
func FuzzParseValidity(f *testing.F) {
	for _, s := range []string{"825d", "2y", "2w", "1y6m", "36h30m", "90m", "6mo", "9223372036854775807d", "1.5h", "-1d", "0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseValidity(s)
		if err != nil {
			if !errs.IsInput(err) {
				t.Fatalf("ParseValidity(%q) err = %v, not an input error", s, err)
			}
			return
		}
		if d < MinValidity || d > 290*365*24*time.Hour {
			t.Fatalf("ParseValidity(%q) = %v, outside an hour to 290 years", s, d)
		}
	})
}
