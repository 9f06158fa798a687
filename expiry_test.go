package main

import (
	"testing"
	"time"
)

func TestValidityExpiryText(t *testing.T) {
	now := time.Date(2030, 5, 1, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		after time.Duration
		want  string
	}{
		{825 * 24 * time.Hour, "2032-08-03"},
		{48 * time.Hour, "2030-05-03"},
		{36 * time.Hour, "2030-05-02 22:00:00 UTC (in 36 hours)"},
		{90 * time.Minute, "2030-05-01 11:30:00 UTC (in 1 hour 30 minutes)"},
		{time.Hour + time.Minute, "2030-05-01 11:01:00 UTC (in 1 hour 1 minute)"},
		{59*time.Minute + 50*time.Second, "2030-05-01 10:59:50 UTC (in 1 hour)"},
		{20 * time.Minute, "2030-05-01 10:20:00 UTC (in 20 minutes)"},
		{-time.Hour, "2030-05-01 09:00:00 UTC (already expired)"},
	}
	for _, tt := range tests {
		t.Run(tt.after.String(), func(t *testing.T) {
			// A certificate's NotAfter in another zone reads the same.
			notAfter := now.Add(tt.after).In(time.FixedZone("X", 3*3600))
			if got := expiryText(notAfter, now); got != tt.want {
				t.Errorf("expiryText(now+%v) = %q, want %q", tt.after, got, tt.want)
			}
		})
	}
}
