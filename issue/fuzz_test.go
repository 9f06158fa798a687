package issue

import (
	"strings"
	"testing"
)

// FuzzParseSAN: an accepted --san is a lowercase DNS name (possibly one
// leading wildcard) or an IP, and reading its own form back gives the same.
func FuzzParseSAN(f *testing.F) {
	for _, s := range []string{"reg.example.com", "10.0.0.5", "[fd00::1]", "*.example.com", "reg:5000", "https://reg/x", "bücher.example", "fe80::1%eth0", "::ffff:1.2.3.4", "*.*.x.y", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		san, err := ParseSAN(s)
		if err != nil {
			if _, ok := err.(*SANError); !ok {
				t.Fatalf("ParseSAN(%q) error %T, want *SANError", s, err)
			}
			return
		}
		if san.IP.IsValid() == (san.DNS != "") {
			t.Fatalf("ParseSAN(%q) = %+v: exactly one of DNS and IP must be set", s, san)
		}
		if d := san.DNS; d != "" {
			if d != strings.ToLower(d) || strings.ContainsAny(d, ":/\\@[] \x00") || strings.Count(d, "*") > 1 || strings.Contains(d, "*") && !strings.HasPrefix(d, "*.") {
				t.Fatalf("ParseSAN(%q) = %q, not a clean DNS name", s, d)
			}
		}
		again, err := ParseSAN(san.String())
		if err != nil || again != san {
			t.Fatalf("ParseSAN(%q) = %v, but its form %q reads back as %v, %v", s, san, san.String(), again, err)
		}
	})
}

// FuzzParseNames: every name a --names-file yields is a safe file stem,
// and the yield is duplicate-free.
func FuzzParseNames(f *testing.F) {
	for _, s := range []string{"a\nb\n", "# c\n\n x \n", "../x", "a\nA", ".hidden", "server", "a/b\n", "\uFEFFa\r\nb"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		names, err := ParseNames(data)
		if err != nil {
			return
		}
		seen := map[string]bool{}
		for _, n := range names {
			if err := ValidateName(n); err != nil {
				t.Fatalf("ParseNames yielded %q, which ValidateName refuses: %v", n, err)
			}
			if n == "" || n[0] == '.' || strings.ContainsAny(n, "/\\\x00 ") || len(n) > MaxNameLen {
				t.Fatalf("unsafe name %q", n)
			}
			if seen[strings.ToLower(n)] {
				t.Fatalf("duplicate %q", n)
			}
			seen[strings.ToLower(n)] = true
		}
		if err := checkNames(names); err != nil {
			t.Fatalf("checkNames refuses what ParseNames accepted: %v", err)
		}
	})
}
