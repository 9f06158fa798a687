package issue

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/certkit/certkit/host"
)

// SAN is one subject alternative name of a server certificate: a DNS name
// (possibly a "*." wildcard) or an IP address.
type SAN struct {
	DNS string     // lowercase ASCII, when not an IP
	IP  netip.Addr // valid for an IP address
}

func (s SAN) String() string {
	if s.IP.IsValid() {
		return s.IP.String()
	}
	return s.DNS
}

// SANError reports a --san value that is neither a DNS name nor an IP.
type SANError struct {
	Input  string
	Reason string
	Fix    string
}

func (e *SANError) Error() string {
	return fmt.Sprintf("--san %q is not a DNS name or IP address: %s", e.Input, e.Reason)
}

// Hint says what to type instead.
func (e *SANError) Hint() string { return e.Fix }

// InputError marks e as bad input (exit 2).
func (e *SANError) InputError() bool { return true }

// ParseSAN reads a --san value: an IPv4 or IPv6 address (brackets allowed),
// or a DNS name checked by the same rules as registry names (host.Parse),
// optionally with a leading "*." wildcard label. Ports, schemes and paths
// are refused: a certificate names hosts, not services.
func ParseSAN(s string) (SAN, error) {
	bad := func(reason, fix string) (SAN, error) { return SAN{}, &SANError{Input: s, Reason: reason, Fix: fix} }
	if ip, err := netip.ParseAddr(s); err == nil {
		if ip.Zone() != "" {
			return bad("an IPv6 zone names an interface on one machine", "drop the zone: --san "+ip.WithZone("").String())
		}
		if ip.IsUnspecified() {
			return bad("it is the unspecified address, which no client connects to", "give the address clients connect to")
		}
		return SAN{IP: ip.Unmap()}, nil
	}
	wild := false
	name := s
	if rest, ok := strings.CutPrefix(s, "*."); ok {
		wild, name = true, rest
	}
	r, err := host.Parse(name)
	if err != nil {
		var pe *host.ParseError
		if errors.As(err, &pe) {
			return bad(pe.Reason, sanFix(pe.Fix, wild))
		}
		return bad(err.Error(), "")
	}
	switch {
	case r.Port != 0:
		return bad("a certificate names hosts, not ports", "drop the port: --san "+wildPrefix(wild)+r.Hostname())
	case r.IP.IsValid() && wild:
		return bad("a wildcard cannot stand before an IP address", "drop the *.")
	case r.IP.IsValid():
		return SAN{IP: r.IP.Unmap()}, nil
	case wild && !strings.Contains(r.Hostname(), "."):
		return bad("a wildcard needs at least two labels after *.", "use a name like *.example.com")
	}
	return SAN{DNS: wildPrefix(wild) + r.Hostname()}, nil
}

func wildPrefix(wild bool) string {
	if wild {
		return "*."
	}
	return ""
}

// sanFix rewords host.Parse's fix, which ends in a corrected registry name,
// for --san: the corrected value without a port.
func sanFix(fix string, wild bool) string {
	i := strings.LastIndex(fix, ": ")
	if i < 0 {
		return fix
	}
	r, err := host.Parse(fix[i+2:])
	if err != nil {
		return fix
	}
	how := fix[:i]
	if r.Port != 0 {
		how += ", then drop the port"
	}
	return how + ": --san " + wildPrefix(wild) + r.Hostname()
}

// ServerSANs returns the names a server certificate for reg carries: those
// host.Registry.ServerSANs derives from the registry (its DNS name or IP;
// 127.0.0.1 and ::1 as well for localhost), then extra, without duplicates,
// in that order.
func ServerSANs(reg host.Registry, extra []SAN) []SAN {
	dns, ips := reg.ServerSANs()
	var out []SAN
	seen := map[string]bool{}
	add := func(s SAN) {
		if k := s.String(); !seen[k] {
			seen[k] = true
			out = append(out, s)
		}
	}
	for _, d := range dns {
		add(SAN{DNS: strings.ToLower(d)})
	}
	for _, ip := range ips {
		add(SAN{IP: ip.Unmap()})
	}
	for _, s := range extra {
		add(s)
	}
	return out
}
