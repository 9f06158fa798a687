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
