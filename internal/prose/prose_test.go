package prose

import "testing"

func TestAndList(t *testing.T) {
	tests := []struct {
		in   []string
		want string
	}{
		{nil, ""},
		{[]string{"a"}, "a"},
		{[]string{"a", "b"}, "a and b"},
		{[]string{"a", "b", "c"}, "a, b and c"},
		{[]string{"ca.crt", "client.cert", "client.key", "hosts.toml"}, "ca.crt, client.cert, client.key and hosts.toml"},
	}
	for _, tt := range tests {
		if got := AndList(tt.in); got != tt.want {
			t.Errorf("AndList(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestPrintable(t *testing.T) {
	for in, want := range map[string]string{
		"CN=alice":    "CN=alice",
		"café é":      "café é",
		"a\nb":        `a\nb`,
		"\x1b[2J":     `\x1b[2J`,
		"nul\x00here": `nul\x00here`,
		"del\x7f":     `del\x7f`,
		"c1\u0085":    `c1\u0085`,
		"bad\xffutf8": `bad\xffutf8`,
		"tab\tand\r":  `tab\tand\r`,
		"":            "",
	} {
		if got := Printable(in); got != want {
			t.Errorf("Printable(%q) = %q, want %q", in, got, want)
		}
	}
}
