package host

import (
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"
	"unicode"
)

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"reg.example.com", "reg.example.com:5000", "Reg.Example.COM:443", "10.0.0.5:5000",
		"[fd00::1]:5000", "[fd00::1]", "fd00::1", "fd00::1:5000", "localhost", "localhost:5000",
		"bücher.example", "xn--bcher-kva.example", "１０．０．０．５", "[::ffff:7f00:1]",
		"https://user@reg:5000/v2/", "reg/foo", "reg.example.com.", "[fe80::1%eth0]:5000",
		"[::ffff:10.0.0.5]", "reg:0", "reg:+5", "reg:05000", "1.2.3", "reg..x", "\u200breg", "[fd00::1",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := Parse(s)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("Parse(%q) error %T is not a *ParseError", s, err)
			}
			if pe.Input != s || pe.Reason == "" || pe.Fix == "" {
				t.Fatalf("Parse(%q) = %#v: want Input, a Reason and a Fix", s, pe)
			}
			if r != (Registry{}) {
				t.Fatalf("Parse(%q) returned %#v with its error", s, r)
			}
			// A corrected value offered in the fix must itself be valid.
			_, p := parse(s)
			if fix, fr, ok := suggest(p); ok {
				again, err := Parse(fr.String())
				if err != nil || again != fr || !strings.HasSuffix(fix, ": "+fr.String()) {
					t.Fatalf("Parse(%q): fix %q offers %q, which parses to %#v, %v", s, fix, fr.String(), again, err)
				}
			}
			return
		}

		str := r.String()
		for _, c := range str {
			if c == '/' || c == '\\' || c == 0 || unicode.IsSpace(c) || c > unicode.MaxASCII || unicode.IsControl(c) {
				t.Fatalf("Parse(%q).String() = %q contains %q", s, str, c)
			}
		}
		again, err := Parse(str)
		if err != nil {
			t.Fatalf("Parse(%q).String() = %q does not parse: %v", s, str, err)
		}
		if again != r {
			t.Fatalf("Parse(%q) = %#v, but Parse(%q) = %#v", s, r, str, again)
		}

		if r.Name == "" || r.Port < 0 || r.Port > 65535 || r.IP.Zone() != "" {
			t.Fatalf("Parse(%q) = %#v", s, r)
		}
		if h := r.Hostname(); h != strings.ToLower(h) || h == "" {
			t.Fatalf("Parse(%q).Hostname() = %q", s, h)
		}
		host, port, err := net.SplitHostPort(r.DialAddr())
		if err != nil || host != r.Hostname() {
			t.Fatalf("Parse(%q).DialAddr() = %q: %v", s, r.DialAddr(), err)
		}
		if n, err := strconv.Atoi(port); err != nil || n != r.Port && !(r.Port == 0 && n == 443) {
			t.Fatalf("Parse(%q).DialAddr() = %q, Port %d", s, r.DialAddr(), r.Port)
		}
		dns, ips := r.ServerSANs()
		if len(dns)+len(ips) == 0 {
			t.Fatalf("Parse(%q).ServerSANs() is empty", s)
		}
		dirs := r.ContainerdDirs()
		if len(dirs) == 0 || dirs[len(dirs)-1] != str {
			t.Fatalf("Parse(%q).ContainerdDirs() = %q, want it to end with %q", s, dirs, str)
		}
	})
}
