package install

import (
	"reflect"
	"testing"
)

// RenderHostsTOML writes every path as a TOML string that containerd's
// reading (parseHostsTOML, the same library and field rules) gives back
// as it was, in both entries: relative or absolute, with spaces, quotes,
// backslashes, control characters (which Go's %q would write as \a or
// \x.., not TOML) and non-ASCII letters; and leaves the client lines out
// when there is no pair.
func TestRenderHostsTOMLPaths(t *testing.T) {
	t.Parallel()
	dir := "/etc/containerd/certs.d/reg.example.com:5000"
	tests := []struct {
		name  string
		cas   []string
		pairs [][2]string
	}{
		{"relative", []string{"ca.crt", "corp.crt"}, [][2]string{{"a.cert", "a.key"}, {"b.cert", "b.key"}}},
		{"absolute", []string{dir + "/ca.crt"}, [][2]string{{dir + "/ci.cert", dir + "/ci.key"}}},
		{"odd characters", []string{"my \"corp\" ca.crt", `back\slash.crt`, "bell\a tab\t.crt", "del\x7f.crt", "café ü.crt"},
			[][2]string{{"line\nbreak.cert", "cr\r.key"}}},
		{"no pair", []string{"ca.crt"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			data := RenderHostsTOML("reg.example.com:5000", tt.cas, tt.pairs)
			h := parseHostsTOML(dir, data)
			if h.Err != nil {
				t.Fatalf("%v:\n%s", h.Err, data)
			}
			if h.Server != "https://reg.example.com:5000" || len(h.Hosts) != 2 || h.Hosts[0].URL != h.Server || !h.Hosts[1].Root {
				t.Fatalf("server %q, entries %+v:\n%s", h.Server, h.Hosts, data)
			}
			abs := func(p string) string {
				if p != "" && p[0] == '/' {
					return p
				}
				return dir + "/" + p
			}
			var cas []string
			for _, c := range tt.cas {
				cas = append(cas, abs(c))
			}
			var pairs [][2]string
			for _, p := range tt.pairs {
				pairs = append(pairs, [2]string{abs(p[0]), abs(p[1])})
			}
			for _, e := range h.Hosts {
				if !reflect.DeepEqual(e.CA, cas) || !reflect.DeepEqual(e.Client, pairs) {
					t.Errorf("entry %q reads ca %q, client %q; want %q, %q:\n%s", e.URL, e.CA, e.Client, cas, pairs, data)
				}
			}
		})
	}
}
