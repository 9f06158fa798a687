package host

import (
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

func TestParseAccepts(t *testing.T) {
	ip := netip.MustParseAddr
	localIPs := []netip.Addr{ip("127.0.0.1"), ip("::1")}
	tests := []struct {
		in        string
		want      Registry
		str       string
		hostname  string
		dns       []string
		ips       []netip.Addr
		loopback  bool
		dial      string
		container []string
	}{
		{
			in:   "reg.example.com",
			want: Registry{Name: "reg.example.com"},
			str:  "reg.example.com", hostname: "reg.example.com",
			dns:       []string{"reg.example.com"},
			dial:      "reg.example.com:443",
			container: []string{"reg.example.com"},
		},
		{
			in:   "reg.example.com:5000",
			want: Registry{Name: "reg.example.com", Port: 5000},
			str:  "reg.example.com:5000", hostname: "reg.example.com",
			dns:       []string{"reg.example.com"},
			dial:      "reg.example.com:5000",
			container: []string{"reg.example.com_5000_", "reg.example.com:5000"},
		},
		{
			// "reg:443" and "reg" are different certs.d folders.
			in:   "reg:443",
			want: Registry{Name: "reg", Port: 443},
			str:  "reg:443", hostname: "reg",
			dns:       []string{"reg"},
			dial:      "reg:443",
			container: []string{"reg_443_", "reg:443"},
		},
		{
			// The typed case is the folder name; SANs and dialing are lowercase.
			in:   "Reg.Example.COM:5000",
			want: Registry{Name: "Reg.Example.COM", Port: 5000},
			str:  "Reg.Example.COM:5000", hostname: "reg.example.com",
			dns:       []string{"reg.example.com"},
			dial:      "reg.example.com:5000",
			container: []string{"Reg.Example.COM_5000_", "Reg.Example.COM:5000"},
		},
		{
			in:   "10.0.0.5:5000",
			want: Registry{Name: "10.0.0.5", Port: 5000, IP: ip("10.0.0.5")},
			str:  "10.0.0.5:5000", hostname: "10.0.0.5",
			ips:       []netip.Addr{ip("10.0.0.5")},
			dial:      "10.0.0.5:5000",
			container: []string{"10.0.0.5_5000_", "10.0.0.5:5000"},
		},
		{
			in:   "127.0.0.1",
			want: Registry{Name: "127.0.0.1", IP: ip("127.0.0.1")},
			str:  "127.0.0.1", hostname: "127.0.0.1",
			ips:       []netip.Addr{ip("127.0.0.1")},
			loopback:  true,
			dial:      "127.0.0.1:443",
			container: []string{"127.0.0.1"},
		},
		{
			in:   "127.1.2.3:5000",
			want: Registry{Name: "127.1.2.3", Port: 5000, IP: ip("127.1.2.3")},
			str:  "127.1.2.3:5000", hostname: "127.1.2.3",
			ips:       []netip.Addr{ip("127.1.2.3")},
			loopback:  true,
			dial:      "127.1.2.3:5000",
			container: []string{"127.1.2.3_5000_", "127.1.2.3:5000"},
		},
		{
			in:   "[fd00::1]:5000",
			want: Registry{Name: "fd00::1", Port: 5000, IP: ip("fd00::1")},
			str:  "[fd00::1]:5000", hostname: "fd00::1",
			ips:       []netip.Addr{ip("fd00::1")},
			dial:      "[fd00::1]:5000",
			container: []string{"[fd00::1]_5000_", "[fd00::1]:5000"},
		},
		{
			// containerd replaces the last ':' even inside the brackets.
			in:   "[fd00::1]",
			want: Registry{Name: "fd00::1", IP: ip("fd00::1")},
			str:  "[fd00::1]", hostname: "fd00::1",
			ips:       []netip.Addr{ip("fd00::1")},
			dial:      "[fd00::1]:443",
			container: []string{"[fd00:_1]_", "[fd00::1]"},
		},
		{
			// Bare IPv6 is accepted when no port can be read into it.
			in:   "fd00::1",
			want: Registry{Name: "fd00::1", IP: ip("fd00::1")},
			str:  "[fd00::1]", hostname: "fd00::1",
			ips:       []netip.Addr{ip("fd00::1")},
			dial:      "[fd00::1]:443",
			container: []string{"[fd00:_1]_", "[fd00::1]"},
		},
		{
			// The typed spelling is kept: Docker's folder is "[FD00:0::1]:5000".
			in:   "[FD00:0::1]:5000",
			want: Registry{Name: "FD00:0::1", Port: 5000, IP: ip("fd00::1")},
			str:  "[FD00:0::1]:5000", hostname: "fd00:0::1",
			ips:       []netip.Addr{ip("fd00::1")},
			dial:      "[fd00:0::1]:5000",
			container: []string{"[FD00:0::1]_5000_", "[FD00:0::1]:5000"},
		},
		{
			in:   "[::1]:5000",
			want: Registry{Name: "::1", Port: 5000, IP: ip("::1")},
			str:  "[::1]:5000", hostname: "::1",
			ips:       []netip.Addr{ip("::1")},
			loopback:  true,
			dial:      "[::1]:5000",
			container: []string{"[::1]_5000_", "[::1]:5000"},
		},
		{
			// IPv4-mapped loopback, in the hex form image references allow.
			in:   "[::ffff:7f00:1]",
			want: Registry{Name: "::ffff:7f00:1", IP: ip("::ffff:127.0.0.1")},
			str:  "[::ffff:7f00:1]", hostname: "::ffff:7f00:1",
			ips:       []netip.Addr{ip("::ffff:127.0.0.1")},
			loopback:  true,
			dial:      "[::ffff:7f00:1]:443",
			container: []string{"[::ffff:7f00_1]_", "[::ffff:7f00:1]"},
		},
		{
			in:   "localhost:5000",
			want: Registry{Name: "localhost", Port: 5000},
			str:  "localhost:5000", hostname: "localhost",
			dns:       []string{"localhost"},
			ips:       localIPs,
			loopback:  true,
			dial:      "localhost:5000",
			container: []string{"localhost_5000_", "localhost:5000"},
		},
		{
			in:   "localhost",
			want: Registry{Name: "localhost"},
			str:  "localhost", hostname: "localhost",
			dns:       []string{"localhost"},
			ips:       localIPs,
			loopback:  true,
			dial:      "localhost:443",
			container: []string{"localhost"},
		},
		{
			in:   "LocalHost",
			want: Registry{Name: "LocalHost"},
			str:  "LocalHost", hostname: "localhost",
			dns:       []string{"localhost"},
			ips:       localIPs,
			loopback:  true,
			dial:      "localhost:443",
			container: []string{"LocalHost"},
		},
		{
			in:   "reg.localhost:5000",
			want: Registry{Name: "reg.localhost", Port: 5000},
			str:  "reg.localhost:5000", hostname: "reg.localhost",
			dns:       []string{"reg.localhost"},
			ips:       localIPs,
			loopback:  true,
			dial:      "reg.localhost:5000",
			container: []string{"reg.localhost_5000_", "reg.localhost:5000"},
		},
		{
			// Not loopback: only the ".localhost" suffix is.
			in:   "notlocalhost",
			want: Registry{Name: "notlocalhost"},
			str:  "notlocalhost", hostname: "notlocalhost",
			dns:       []string{"notlocalhost"},
			dial:      "notlocalhost:443",
			container: []string{"notlocalhost"},
		},
		{
			in:   "bücher.example",
			want: Registry{Name: "xn--bcher-kva.example"},
			str:  "xn--bcher-kva.example", hostname: "xn--bcher-kva.example",
			dns:       []string{"xn--bcher-kva.example"},
			dial:      "xn--bcher-kva.example:443",
			container: []string{"xn--bcher-kva.example"},
		},
		{
			// IDNA mapping lowercases a Unicode name as a whole.
			in:   "Bücher.Example:5000",
			want: Registry{Name: "xn--bcher-kva.example", Port: 5000},
			str:  "xn--bcher-kva.example:5000", hostname: "xn--bcher-kva.example",
			dns:       []string{"xn--bcher-kva.example"},
			dial:      "xn--bcher-kva.example:5000",
			container: []string{"xn--bcher-kva.example_5000_", "xn--bcher-kva.example:5000"},
		},
		{
			in:   "xn--bcher-kva.example",
			want: Registry{Name: "xn--bcher-kva.example"},
			str:  "xn--bcher-kva.example", hostname: "xn--bcher-kva.example",
			dns:       []string{"xn--bcher-kva.example"},
			dial:      "xn--bcher-kva.example:443",
			container: []string{"xn--bcher-kva.example"},
		},
		{
			// Full-width digits and dots map to an IPv4 address.
			in:   "１０．０．０．５:5000",
			want: Registry{Name: "10.0.0.5", Port: 5000, IP: ip("10.0.0.5")},
			str:  "10.0.0.5:5000", hostname: "10.0.0.5",
			ips:       []netip.Addr{ip("10.0.0.5")},
			dial:      "10.0.0.5:5000",
			container: []string{"10.0.0.5_5000_", "10.0.0.5:5000"},
		},
		{
			in:   "a-b--c.example:65535",
			want: Registry{Name: "a-b--c.example", Port: 65535},
			str:  "a-b--c.example:65535", hostname: "a-b--c.example",
			dns:       []string{"a-b--c.example"},
			dial:      "a-b--c.example:65535",
			container: []string{"a-b--c.example_65535_", "a-b--c.example:65535"},
		},
		{
			in:   strings.Repeat("a", 63) + ".example:1",
			want: Registry{Name: strings.Repeat("a", 63) + ".example", Port: 1},
			str:  strings.Repeat("a", 63) + ".example:1", hostname: strings.Repeat("a", 63) + ".example",
			dns:       []string{strings.Repeat("a", 63) + ".example"},
			dial:      strings.Repeat("a", 63) + ".example:1",
			container: []string{strings.Repeat("a", 63) + ".example_1_", strings.Repeat("a", 63) + ".example:1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			r, err := Parse(tt.in)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.in, err)
			}
			if r != tt.want {
				t.Errorf("Parse(%q) = %#v, want %#v", tt.in, r, tt.want)
			}
			if got := r.String(); got != tt.str {
				t.Errorf("String() = %q, want %q", got, tt.str)
			}
			if got := r.Hostname(); got != tt.hostname {
				t.Errorf("Hostname() = %q, want %q", got, tt.hostname)
			}
			dns, ips := r.ServerSANs()
			if !slices.Equal(dns, tt.dns) || !slices.Equal(ips, tt.ips) {
				t.Errorf("ServerSANs() = %q, %v, want %q, %v", dns, ips, tt.dns, tt.ips)
			}
			if got := r.IsLoopback(); got != tt.loopback {
				t.Errorf("IsLoopback() = %v, want %v", got, tt.loopback)
			}
			if got := r.DialAddr(); got != tt.dial {
				t.Errorf("DialAddr() = %q, want %q", got, tt.dial)
			}
			if got := r.ContainerdDirs(); !slices.Equal(got, tt.container) {
				t.Errorf("ContainerdDirs() = %q, want %q", got, tt.container)
			}
			again, err := Parse(r.String())
			if err != nil || again != r {
				t.Errorf("Parse(String()) = %#v, %v, want %#v", again, err, r)
			}
		})
	}
}

func TestParseRejects(t *testing.T) {
	long := strings.Repeat("a", 64)
	// 4 labels of 63 bytes and 3 dots: 255 bytes.
	tooLong := strings.Join([]string{strings.Repeat("a", 63), strings.Repeat("b", 63), strings.Repeat("c", 63), strings.Repeat("d", 63)}, ".")
	tests := []struct {
		in     string
		reason string // a substring of Reason
		fix    string // the whole Fix
	}{
		{"", "it is empty", "give the registry host as in image references, e.g. reg.example.com:5000"},
		{" reg", "leading or trailing whitespace", "remove the surrounding whitespace: reg"},
		{"reg:5000\n", "leading or trailing whitespace", "remove the surrounding whitespace: reg:5000"},
		{"reg .example", "whitespace (U+0020)", "remove the whitespace"},
		{"reg\texample", "whitespace (U+0009)", "remove the whitespace"},
		{"reg\u00a0x", "whitespace (U+00A0)", "remove the whitespace"},
		{"reg\x00", "control character (U+0000)", "remove the invisible characters: reg"},
		{"reg\x1b.example", "control character (U+001B)", "remove the invisible characters: reg.example"},
		{"reg\u200b.example", "invisible character (U+200B)", "remove the invisible characters: reg.example"},
		{"\ufeffreg", "invisible character (U+FEFF)", "remove the invisible characters: reg"},
		{"reg\xff", "not valid UTF-8", "type the name again as plain text"},
		{"https://reg", "URL scheme (https://)", "drop the scheme: reg"},
		{"http://reg:5000", "URL scheme (http://)", "drop the scheme: reg:5000"},
		{"docker://reg", "URL scheme (docker://)", "drop the scheme: reg"},
		{"https://user@reg:5000/v2/", "URL scheme", "drop the scheme, then drop the path, then drop the user info: reg:5000"},
		{"https://", "URL scheme", "drop the scheme, then give the registry host as in image references, e.g. reg.example.com:5000"},
		{"https://reg_x", "URL scheme", "drop the scheme, then use only letters, digits, '-' and '.' in the name"},
		{"//reg", "starts with //", "drop the leading //: reg"},
		{"reg/foo", "it has a path (/foo)", "drop the path: reg"},
		{"reg:5000/library/alpine:3", "it has a path (/library/alpine:3)", "drop the path: reg:5000"},
		{"reg/", "it has a path (/)", "drop the path: reg"},
		{"/etc/docker/certs.d/reg:5000/", "it is a path", "give only the folder name: reg:5000"},
		{"/", "it is a path", "give the registry host, e.g. reg.example.com:5000"},
		{`reg\foo`, "backslash", `give only the host[:port], without \`},
		{"user@reg", "user info (user@)", "drop the user info: reg"},
		{"user:pw@reg:5000", "user info (user:pw@)", "drop the user info: reg:5000"},
		{"reg..example", "empty label (..)", "drop the extra dots: reg.example"},
		{"reg.example.com.", "ends with a dot", "drop the trailing dot: reg.example.com"},
		{"reg.example.com.:5000", "ends with a dot", "drop the trailing dot: reg.example.com:5000"},
		{"bücher.example.", "ends with a dot", "drop the trailing dot: xn--bcher-kva.example"},
		{".reg", "starts with a dot", "drop the leading dot: reg"},
		{".", "only a dot", "give the registry host, e.g. reg.example.com:5000"},
		{"-reg.example", `label "-reg" starts with a hyphen`, "start and end each label with a letter or digit"},
		{"reg.ex-", `label "ex-" ends with a hyphen`, "start and end each label with a letter or digit"},
		{"reg_x.example", "contains '_'", "use only letters, digits, '-' and '.' in the name"},
		{"reg*", "contains '*'", "use only letters, digits, '-' and '.' in the name"},
		{"reg%20", "contains '%'", "use only letters, digits, '-' and '.' in the name"},
		{long + ".example", "is 64 bytes long; DNS allows 63", "use labels of at most 63 bytes"},
		{tooLong, "the name is 255 bytes long; DNS allows 253", "use a shorter name"},
		{"xn--abc.example", `label "xn--abc" is not valid punycode`, "check the xn-- label, or type the name in Unicode"},
		{"-ü.example", "not a valid internationalized domain name", "check the spelling of the name"},
		{"bü_cher.example", "not a valid internationalized domain name", "check the spelling of the name"},
		{"\u034f", "nothing is left of it after IDNA mapping", "give the registry host, e.g. reg.example.com:5000"},
		{"1.2.3", "digits and dots but is not an IPv4 address", "write an IPv4 address as four numbers 0-255 without leading zeros, e.g. 10.0.0.5"},
		{"256.1.1.1", "digits and dots but is not an IPv4 address", "write an IPv4 address as four numbers 0-255 without leading zeros, e.g. 10.0.0.5"},
		{"010.0.0.5:5000", "digits and dots but is not an IPv4 address", "write an IPv4 address as four numbers 0-255 without leading zeros, e.g. 10.0.0.5"},
		{"5000", "digits and dots but is not an IPv4 address", "write an IPv4 address as four numbers 0-255 without leading zeros, e.g. 10.0.0.5"},
		{"reg.123", `last label "123" is all digits`, "check the name; an IPv4 address has four numbers"},
		{"0.0.0.0:5000", "unspecified address (0.0.0.0)", "give the address clients connect to"},
		{"[::]:5000", "unspecified address (::)", "give the address clients connect to"},
		{"reg:0", "port 0 is out of range 1-65535", "give the port the registry listens on (1-65535)"},
		{"reg:000", "port 000 is out of range 1-65535", "give the port the registry listens on (1-65535)"},
		{"reg:65536", "port 65536 is out of range 1-65535", "give the port the registry listens on (1-65535)"},
		{"reg:99999999999999999999", "out of range 1-65535", "give the port the registry listens on (1-65535)"},
		{"reg:", "port after ':' is empty", "drop the ':': reg"},
		{"[fd00::1]:", "port after ':' is empty", "drop the ':': [fd00::1]"},
		{"reg:abc", `port "abc" is not a decimal number`, "give the port as decimal digits, e.g. :5000"},
		{"reg:+5", `port "+5" is not a decimal number`, "give the port as decimal digits, e.g. :5000"},
		{"reg:-5", `port "-5" is not a decimal number`, "give the port as decimal digits, e.g. :5000"},
		{"reg:５０００", "is not a decimal number", "give the port as decimal digits, e.g. :5000"},
		{"reg:05000", `port "05000" has a leading zero`, "drop the leading zeros: reg:5000"},
		{":5000", "host before ':' is empty", "put the registry host before the port, e.g. reg.example.com:5000"},
		{"[fd00::1", "'[' without a closing ']'", "close the bracket: [fd00::1]"},
		{"fd00::1]:5000", "']' without an opening '['", "open the bracket: [fd00::1]:5000"},
		{"reg[1]", "unbalanced brackets", "put [ ] only around an IPv6 address, e.g. [fd00::1]:5000"},
		{"[[fd00::1]]", "unbalanced brackets", "put [ ] only around an IPv6 address, e.g. [fd00::1]:5000"},
		{"[fd00::1]5000", `"5000" follows ']' without a ':'`, "put a ':' before the port: [fd00::1]:5000"},
		{"[fd00::1]x", `"x" follows ']'`, "drop the text after ']': [fd00::1]"},
		{"[fe80::1%eth0]:5000", "IPv6 zone (%eth0)", "drop the zone: [fe80::1]:5000"},
		{"fe80::1%eth0", "IPv6 zone (%eth0)", "drop the zone: [fe80::1]"},
		{"[10.0.0.5]:5000", "brackets are only for IPv6 addresses", "remove the brackets: 10.0.0.5:5000"},
		{"[reg]", "brackets are only for IPv6 addresses", "remove the brackets: reg"},
		{"[]", "brackets are only for IPv6 addresses", "remove the brackets, then give the registry host as in image references, e.g. reg.example.com:5000"},
		{"[fd00:::1]", "[fd00:::1] is not a valid IPv6 address", "write a valid IPv6 address, e.g. [fd00::1]:5000"},
		{"[::ffff:10.0.0.5]:5000", "only hex digits and ':'", "use the IPv4 address: 10.0.0.5:5000"},
		{"[64:ff9b::1.2.3.4]", "only hex digits and ':'", "write the address in hex: [64:ff9b::102:304]"},
		{"fd00::1:5000", "ambiguous: the last group 5000 could be a port", "write [fd00::1:5000] for the address, or [fd00::1]:5000 if 5000 is the port"},
		{"::1:443", "ambiguous", "write [::1:443] for the address, or [::1]:443 if 443 is the port"},
		{"a:b:c", "more than one ':' but is not an IPv6 address", "write an IPv6 address in brackets, e.g. [fd00::1]:5000; a name takes one :PORT at most"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			r, err := Parse(tt.in)
			if err == nil {
				t.Fatalf("Parse(%q) = %#v, want an error", tt.in, r)
			}
			if r != (Registry{}) {
				t.Errorf("Parse(%q) returned %#v with its error, want the zero Registry", tt.in, r)
			}
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("Parse(%q) error %T is not a *ParseError", tt.in, err)
			}
			if pe.Input != tt.in {
				t.Errorf("Input = %q, want %q", pe.Input, tt.in)
			}
			if !strings.Contains(pe.Reason, tt.reason) {
				t.Errorf("Reason = %q, want it to contain %q", pe.Reason, tt.reason)
			}
			if pe.Fix != tt.fix {
				t.Errorf("Fix = %q\n want %q", pe.Fix, tt.fix)
			}
			// A fix that ends in a value names a registry that parses.
			if _, v, ok := strings.Cut(pe.Fix, ": "); ok && !strings.Contains(v, " ") {
				if _, err := Parse(v); err != nil {
					t.Errorf("the value in Fix %q does not parse: %v", pe.Fix, err)
				}
			}
		})
	}
}

func TestParseErrorMessage(t *testing.T) {
	_, err := Parse("https://reg")
	want := `registry "https://reg" is not a host[:port]: it has a URL scheme (https://); certs.d folders are named after the host only`
	if err == nil || err.Error() != want {
		t.Fatalf("error = %v\n want %s", err, want)
	}

	// The CLI layer finds the fix and the input-error class through these
	// methods (internal/errs.HintOf and IsInput).
	var h interface {
		Hint() string
		InputError() bool
	}
	if !errors.As(err, &h) || h.Hint() != "drop the scheme: reg" || !h.InputError() {
		t.Errorf("error %#v does not carry the hint and the input-error mark", err)
	}

	// Control characters are quoted, never printed raw.
	_, err = Parse("reg\x1b[31m")
	if err == nil || strings.ContainsRune(err.Error(), '\x1b') {
		t.Errorf("error %q contains a raw escape character", err)
	}
}

// Each call returns fresh slices: a caller that appends must not affect the
// next one.
func TestServerSANsFreshSlices(t *testing.T) {
	r, err := Parse("localhost")
	if err != nil {
		t.Fatal(err)
	}
	dns, ips := r.ServerSANs()
	dns[0] = "changed"
	ips[0] = netip.IPv6Unspecified()
	dns, ips = r.ServerSANs()
	if dns[0] != "localhost" || ips[0] != netip.MustParseAddr("127.0.0.1") {
		t.Errorf("ServerSANs() = %q, %v after the previous result was changed", dns, ips)
	}
}
