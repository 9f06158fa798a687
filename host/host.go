// Package host parses and normalises a registry name as it appears in an
// image reference (HOST[:PORT]). It is the one place that decides what a
// registry name is: issue uses it for SANs, install and verify for the
// certs.d folder names, the wizard to check what the user typed.
//
// The rules follow the project's certs.d spec (certsd.md §1-2): a certs.d
// folder is named after the host exactly as typed in image references, port
// included, so "reg" and "reg:443" are different folders, and the case the
// user typed is kept.
package host

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// Limits from RFC 1035 §2.3.4.
const (
	maxName  = 253 // bytes in a name, without the trailing dot
	maxLabel = 63  // bytes in one label
)

// Registry is a registry host as written in image references.
type Registry struct {
	Name string     // host part as the user types it in references, ASCII (IDN converted to punycode); IPv6 without brackets
	Port int        // 0 when no port was given ("reg" and "reg:443" are different certs.d folders)
	IP   netip.Addr // valid when Name is an IP literal
}

// ParseError reports a string that is not a registry host[:port].
type ParseError struct {
	Input  string // what was given
	Reason string // what is wrong with it
	Fix    string // what to do instead, ending in the corrected value when one can be derived
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("registry %q is not a host[:port]: %s", e.Input, e.Reason)
}

// Hint returns Fix, for the CLI's hint line (see internal/errs.HintOf).
func (e *ParseError) Hint() string { return e.Fix }

// InputError marks e as invalid user input (see internal/errs.IsInput).
func (e *ParseError) InputError() bool { return true }

// Parse parses a registry name as written in an image reference:
// "reg.example.com", "reg.example.com:5000", "10.0.0.5:5000",
// "[fd00::1]:5000", "localhost". A bare IPv6 address ("fd00::1") is accepted
// when it cannot be misread as address:port. Unicode names are converted to
// punycode (and lowercased, as IDNA mapping does); ASCII names keep the case
// typed, because Docker looks the folder up by the exact string.
//
// Errors are *ParseError.
func Parse(s string) (Registry, error) {
	r, p := parse(s)
	if p == nil {
		return r, nil
	}
	fix, _, _ := suggest(p)
	return Registry{}, &ParseError{Input: s, Reason: p.reason, Fix: fix}
}

// String returns the certs.d folder name: "reg.example.com:5000",
// "10.0.0.5:5000", "[fd00::1]:5000", "[fd00::1]", "localhost".
func (r Registry) String() string {
	h := r.Name
	if r.IP.Is6() {
		h = "[" + h + "]"
	}
	if r.Port != 0 {
		h += ":" + strconv.Itoa(r.Port)
	}
	return h
}

// Hostname returns the lowercased name without port or brackets, for SANs and
// the TLS ServerName.
func (r Registry) Hostname() string { return strings.ToLower(r.Name) }

// IsLoopback reports whether r is "localhost", a name under ".localhost"
// (RFC 6761), an address in 127.0.0.0/8, or ::1, IPv4-mapped forms included.
// Docker's classic path treats such registries as insecure and reads no
// certs.d folder for them (certsd.md §4).
func (r Registry) IsLoopback() bool {
	if r.IP.IsValid() {
		return r.IP.Unmap().IsLoopback()
	}
	h := r.Hostname()
	return h == "localhost" || strings.HasSuffix(h, ".localhost")
}

// ServerSANs returns the subject alternative names a server certificate for r
// needs: the DNS name or the IP address. A loopback name also gets 127.0.0.1
// and ::1, so the registry can be reached by address as well.
func (r Registry) ServerSANs() (dns []string, ips []netip.Addr) {
	if r.IP.IsValid() {
		return nil, []netip.Addr{r.IP}
	}
	dns = []string{r.Hostname()}
	if r.IsLoopback() {
		ips = []netip.Addr{netip.AddrFrom4([4]byte{127, 0, 0, 1}), netip.IPv6Loopback()}
	}
	return dns, ips
}

// DialAddr returns host:port for net.Dial, with port 443 when none was given.
func (r Registry) DialAddr() string {
	port := r.Port
	if port == 0 {
		port = 443
	}
	return net.JoinHostPort(r.Hostname(), strconv.Itoa(port))
}

// ContainerdDirs returns the folder names containerd tries, in order, in each
// certs root (certsd.md §2), leaving out its final fallback "_default".
//
// containerd v2.2 (core/remotes/docker/config: hostPaths, hostDirectory) takes
// the host string from the reference and, when it has a ':' after the first
// byte, first tries the name with its LAST ':' replaced by '_' and a '_'
// appended ("reg:5000" -> "reg_5000_"), then the name itself. Because it looks
// for the last ':' without regard to brackets, a bare bracketed IPv6 host gets
// the odd "[fd00::1]" -> "[fd00:_1]_"; that is what containerd does, so it is
// returned too. On Windows containerd also drops every ':' from both names;
// that layout belongs to install, not here.
func (r Registry) ContainerdDirs() []string {
	h := r.String()
	if i := strings.LastIndex(h, ":"); i > 0 {
		return []string{h[:i] + "_" + h[i+1:] + "_", h}
	}
	return []string{h}
}

// problem is one reason s is not a registry name, with the instruction that
// fixes it and, when one can be derived, the corrected input.
type problem struct {
	reason  string
	how     string // an instruction, e.g. "drop the scheme"
	cand    string // the corrected input, when hasCand
	hasCand bool
}

func fail(reason, how string) *problem { return &problem{reason: reason, how: how} }

func failFix(reason, how, cand string) *problem {
	return &problem{reason: reason, how: how, cand: cand, hasCand: true}
}

// maxFixSteps bounds how many corrections suggest chains ("drop the scheme,
// then drop the path").
const maxFixSteps = 8

// suggest builds the Fix for p: the instructions for every problem met while
// applying the corrections in turn, then ": " and the corrected registry when
// the corrections lead to a valid one (ok).
func suggest(p *problem) (fix string, r Registry, ok bool) {
	hows := []string{p.how}
	for range maxFixSteps {
		if !p.hasCand {
			break
		}
		var next *problem
		r, next = parse(p.cand)
		if next == nil {
			return strings.Join(hows, ", then ") + ": " + r.String(), r, true
		}
		if hows[len(hows)-1] != next.how {
			hows = append(hows, next.how)
		}
		p = next
	}
	return strings.Join(hows, ", then "), Registry{}, false
}

// parse is Parse without the error wrapping. The checks run from the outside
// in: the string as a whole, then the URL-like parts people paste (scheme,
// path, user info), then brackets and the port split, then the host.
func parse(s string) (Registry, *problem) {
	if p := checkWhole(s); p != nil {
		return Registry{}, p
	}
	if p := checkURLParts(s); p != nil {
		return Registry{}, p
	}

	hostPart, portStr, hasPort, bracketed, p := split(s)
	if p != nil {
		return Registry{}, p
	}
	portSuffix := ""
	if hasPort {
		portSuffix = ":" + portStr
	}

	var r Registry
	switch {
	case bracketed:
		r, p = parseBracketed(hostPart, portSuffix)
	case strings.Contains(hostPart, ":"):
		r, p = parseBareIPv6(hostPart)
	default:
		r, p = parseName(hostPart, portSuffix)
	}
	if p != nil {
		return Registry{}, p
	}
	if hasPort {
		port, p := parsePort(hostPart, portStr, bracketed)
		if p != nil {
			return Registry{}, p
		}
		r.Port = port
	}
	return r, nil
}

// checkWhole rejects strings that are empty, not UTF-8, or carry whitespace,
// control or invisible characters.
func checkWhole(s string) *problem {
	if s == "" {
		return fail("it is empty", "give the registry host as in image references, e.g. reg.example.com:5000")
	}
	if !utf8.ValidString(s) {
		return fail("it is not valid UTF-8", "type the name again as plain text")
	}
	if t := strings.TrimSpace(s); t != s {
		return failFix("it has leading or trailing whitespace", "remove the surrounding whitespace", t)
	}
	for _, c := range s {
		if unicode.IsSpace(c) {
			return fail(fmt.Sprintf("it contains whitespace (%U)", c), "remove the whitespace")
		}
	}
	// Control characters (NUL, DEL, ...) and invisible format characters
	// (zero-width space, byte order mark, soft hyphen) come from copy and
	// paste; IDNA would drop some of them silently, so say so instead.
	invisible := func(c rune) bool { return unicode.IsControl(c) || unicode.Is(unicode.Cf, c) }
	if i := strings.IndexFunc(s, invisible); i >= 0 {
		c, _ := utf8.DecodeRuneInString(s[i:])
		kind := "an invisible character"
		if unicode.IsControl(c) {
			kind = "a control character"
		}
		clean := strings.Map(func(c rune) rune {
			if invisible(c) {
				return -1
			}
			return c
		}, s)
		return failFix(fmt.Sprintf("it contains %s (%U)", kind, c), "remove the invisible characters", clean)
	}
	return nil
}

// checkURLParts rejects a scheme, a path, backslashes and user info: what
// people paste when they copy a URL or a certs.d path instead of the host.
func checkURLParts(s string) *problem {
	if i := strings.Index(s, "://"); i >= 0 {
		return failFix(fmt.Sprintf("it has a URL scheme (%s); certs.d folders are named after the host only", s[:i+3]),
			"drop the scheme", s[i+3:])
	}
	if strings.HasPrefix(s, "//") {
		return failFix("it starts with //", "drop the leading //", s[2:])
	}
	if strings.HasPrefix(s, "/") {
		// A certs.d path: offer its last element.
		t := strings.TrimRight(s, "/")
		base := t[strings.LastIndex(t, "/")+1:]
		if base == "" {
			return fail("it is a path, not a registry name", "give the registry host, e.g. reg.example.com:5000")
		}
		return failFix("it is a path, not a registry name", "give only the folder name", base)
	}
	if i := strings.IndexByte(s, '/'); i >= 0 {
		return failFix(fmt.Sprintf("it has a path (%s); certificates are per registry host, not per repository", s[i:]),
			"drop the path", s[:i])
	}
	if strings.Contains(s, `\`) {
		return fail("it contains a backslash", `give only the host[:port], without \`)
	}
	if i := strings.LastIndexByte(s, '@'); i >= 0 {
		return failFix("it has user info ("+s[:i+1]+"); certificates are per host, log in with docker login",
			"drop the user info", s[i+1:])
	}
	return nil
}

// split separates the host from the port. bracketed is set for "[...]";
// a host with a ':' and no brackets is a bare IPv6 address.
func split(s string) (hostPart, portStr string, hasPort, bracketed bool, p *problem) {
	if s[0] == '[' {
		j := strings.IndexByte(s, ']')
		if j < 0 {
			return "", "", false, false, failFix("it has '[' without a closing ']'", "close the bracket", s+"]")
		}
		rest := s[j+1:]
		switch {
		case strings.ContainsAny(s[1:j], "["), strings.ContainsAny(rest, "[]"):
			return "", "", false, false, fail("it has unbalanced brackets", "put [ ] only around an IPv6 address, e.g. [fd00::1]:5000")
		case rest == "":
			return s[1:j], "", false, true, nil
		case rest[0] == ':':
			return s[1:j], rest[1:], true, true, nil
		case allDigits(rest):
			return "", "", false, false, failFix(fmt.Sprintf("%q follows ']' without a ':'", rest), "put a ':' before the port", s[:j+1]+":"+rest)
		default:
			return "", "", false, false, failFix(fmt.Sprintf("%q follows ']'; only :PORT may", rest), "drop the text after ']'", s[:j+1])
		}
	}
	if strings.ContainsAny(s, "[]") {
		if !strings.Contains(s, "[") && strings.Count(s, "]") == 1 && strings.Count(s[:strings.IndexByte(s, ']')], ":") >= 2 {
			return "", "", false, false, failFix("it has ']' without an opening '['", "open the bracket", "["+s)
		}
		return "", "", false, false, fail("it has unbalanced brackets", "put [ ] only around an IPv6 address, e.g. [fd00::1]:5000")
	}
	switch strings.Count(s, ":") {
	case 0:
		return s, "", false, false, nil
	case 1:
		i := strings.IndexByte(s, ':')
		return s[:i], s[i+1:], true, false, nil
	default:
		return s, "", false, false, nil
	}
}

// parseBracketed parses the address inside "[...]".
func parseBracketed(inner, portSuffix string) (Registry, *problem) {
	if i := strings.IndexByte(inner, '%'); i >= 0 {
		return Registry{}, zone(inner[i:], "["+inner[:i]+"]"+portSuffix)
	}
	if !strings.Contains(inner, ":") {
		// "[10.0.0.5]" or "[reg]": the brackets are the only problem, or the
		// first one.
		return Registry{}, failFix("brackets are only for IPv6 addresses", "remove the brackets", inner+portSuffix)
	}
	ip, err := netip.ParseAddr(inner)
	if err != nil || !ip.Is6() {
		return Registry{}, fail(fmt.Sprintf("[%s] is not a valid IPv6 address", inner), "write a valid IPv6 address, e.g. [fd00::1]:5000")
	}
	if p := checkIPv6(inner, ip, portSuffix); p != nil {
		return Registry{}, p
	}
	return Registry{Name: inner, IP: ip}, nil
}

// parseBareIPv6 parses an IPv6 address written without brackets. It has no
// port; it is refused when its last group could be read as one.
func parseBareIPv6(s string) (Registry, *problem) {
	if i := strings.IndexByte(s, '%'); i >= 0 {
		return Registry{}, zone(s[i:], s[:i])
	}
	ip, err := netip.ParseAddr(s)
	if err != nil || !ip.Is6() {
		return Registry{}, fail("it has more than one ':' but is not an IPv6 address",
			"write an IPv6 address in brackets, e.g. [fd00::1]:5000; a name takes one :PORT at most")
	}
	if p := checkIPv6(s, ip, ""); p != nil {
		return Registry{}, p
	}
	i := strings.LastIndexByte(s, ':')
	pre, port := s[:i], s[i+1:]
	if pip, err := netip.ParseAddr(pre); err == nil && pip.Is6() && validPort(port) {
		return Registry{}, fail(fmt.Sprintf("without brackets it is ambiguous: the last group %s could be a port", port),
			fmt.Sprintf("write [%s] for the address, or [%s]:%s if %s is the port", s, pre, port, port))
	}
	return Registry{Name: s, IP: ip}, nil
}

// checkIPv6 applies the rules shared by bracketed and bare IPv6 addresses.
// Image references allow only hex digits and ':' between the brackets
// (distribution's reference grammar), so a dotted IPv4 tail is refused.
func checkIPv6(typed string, ip netip.Addr, portSuffix string) *problem {
	if strings.Contains(typed, ".") {
		reason := "image references allow only hex digits and ':' in an IPv6 address"
		if ip.Is4In6() {
			return failFix(reason, "use the IPv4 address", ip.Unmap().String()+portSuffix)
		}
		return failFix(reason, "write the address in hex", "["+ip.String()+"]"+portSuffix)
	}
	if ip.IsUnspecified() {
		return unspecified(typed)
	}
	return nil
}

func unspecified(addr string) *problem {
	return fail("it is the unspecified address ("+addr+"), which no client can connect to", "give the address clients connect to")
}

func zone(z, cand string) *problem {
	return failFix(fmt.Sprintf("it has an IPv6 zone (%s); a zone names an interface on one machine and cannot appear in an image reference or a certificate", z),
		"drop the zone", cand)
}

// parseName parses a DNS name or an IPv4 address.
func parseName(h, portSuffix string) (Registry, *problem) {
	if h == "" {
		return Registry{}, fail("the host before ':' is empty", "put the registry host before the port, e.g. reg.example.com:5000")
	}
	if !isASCII(h) {
		a, err := idna.Lookup.ToASCII(h)
		if err != nil {
			return Registry{}, fail("it is not a valid internationalized domain name ("+strings.TrimPrefix(err.Error(), "idna: ")+")",
				"check the spelling of the name")
		}
		h = a
	}
	switch {
	case h == "":
		return Registry{}, fail("nothing is left of it after IDNA mapping", "give the registry host, e.g. reg.example.com:5000")
	case h == ".":
		return Registry{}, fail("it is only a dot", "give the registry host, e.g. reg.example.com:5000")
	case strings.HasSuffix(h, "."):
		return Registry{}, failFix("it ends with a dot", "drop the trailing dot", strings.TrimRight(h, ".")+portSuffix)
	case strings.HasPrefix(h, "."):
		return Registry{}, failFix("it starts with a dot", "drop the leading dot", strings.TrimLeft(h, ".")+portSuffix)
	case strings.Contains(h, ".."):
		return Registry{}, failFix("it has an empty label (..)", "drop the extra dots", collapseDots(h)+portSuffix)
	case len(h) > maxName:
		return Registry{}, fail(fmt.Sprintf("the name is %d bytes long; DNS allows %d", len(h), maxName), "use a shorter name")
	}

	if strings.Trim(h, "0123456789.") == "" {
		ip, err := netip.ParseAddr(h)
		if err != nil || !ip.Is4() {
			return Registry{}, fail("the host is made of digits and dots but is not an IPv4 address",
				"write an IPv4 address as four numbers 0-255 without leading zeros, e.g. 10.0.0.5")
		}
		if ip.IsUnspecified() {
			return Registry{}, unspecified(h)
		}
		return Registry{Name: h, IP: ip}, nil
	}

	labels := strings.Split(h, ".")
	for _, l := range labels {
		if p := checkLabel(l); p != nil {
			return Registry{}, p
		}
	}
	if top := labels[len(labels)-1]; allDigits(top) {
		return Registry{}, fail(fmt.Sprintf("the last label %q is all digits; no top-level domain is", top),
			"check the name; an IPv4 address has four numbers")
	}
	return Registry{Name: h}, nil
}

// checkLabel checks one non-empty ASCII label: length, letters, digits and
// hyphens only, no hyphen at either end, and valid punycode after "xn--".
func checkLabel(l string) *problem {
	if len(l) > maxLabel {
		return fail(fmt.Sprintf("label %q is %d bytes long; DNS allows %d", l, len(l), maxLabel), "use labels of at most 63 bytes")
	}
	for i := 0; i < len(l); i++ {
		if c := l[i]; !isLDH(c) {
			return fail(fmt.Sprintf("it contains %q, which is not allowed in a host name", c),
				"use only letters, digits, '-' and '.' in the name")
		}
	}
	if strings.HasPrefix(l, "-") {
		return fail(fmt.Sprintf("label %q starts with a hyphen", l), "start and end each label with a letter or digit")
	}
	if strings.HasSuffix(l, "-") {
		return fail(fmt.Sprintf("label %q ends with a hyphen", l), "start and end each label with a letter or digit")
	}
	if len(l) >= 4 && strings.EqualFold(l[:4], "xn--") {
		u, err := idna.Lookup.ToUnicode(l)
		if err == nil {
			var a string
			a, err = idna.Lookup.ToASCII(u)
			if err == nil && !strings.EqualFold(a, l) {
				err = fmt.Errorf("not in canonical form")
			}
		}
		if err != nil {
			return fail(fmt.Sprintf("label %q is not valid punycode", l), "check the xn-- label, or type the name in Unicode")
		}
	}
	return nil
}

// parsePort parses the decimal port after the ':'.
func parsePort(hostPart, port string, bracketed bool) (int, *problem) {
	host := hostPart
	if bracketed {
		host = "[" + hostPart + "]"
	}
	switch {
	case port == "":
		return 0, failFix("the port after ':' is empty", "drop the ':'", host)
	case !allDigits(port):
		return 0, fail(fmt.Sprintf("port %q is not a decimal number", port), "give the port as decimal digits, e.g. :5000")
	case port[0] == '0' && strings.TrimLeft(port, "0") != "":
		return 0, failFix(fmt.Sprintf("port %q has a leading zero; Docker would look for a folder with that exact name", port),
			"drop the leading zeros", host+":"+strings.TrimLeft(port, "0"))
	case !validPort(port):
		return 0, fail(fmt.Sprintf("port %s is out of range 1-65535", port), "give the port the registry listens on (1-65535)")
	}
	n, _ := strconv.Atoi(port)
	return n, nil
}

// validPort reports whether s is a port in canonical decimal form, 1-65535.
func validPort(s string) bool {
	if s == "" || len(s) > 5 || !allDigits(s) || s[0] == '0' {
		return false
	}
	n, err := strconv.Atoi(s)
	return err == nil && n >= 1 && n <= 65535
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func isLDH(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-'
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// collapseDots replaces every run of dots in s by one.
func collapseDots(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '.' && i > 0 && s[i-1] == '.' {
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
