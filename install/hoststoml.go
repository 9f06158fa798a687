package install

import (
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/pelletier/go-toml/v2"
	"github.com/pelletier/go-toml/v2/unstable"
)

// hosts.toml is read with the same TOML library and the same field rules as
// containerd (core/remotes/docker/config), so that what certkit reports is
// what containerd does.

type tomlHostFields struct {
	Capabilities []string       `toml:"capabilities"`
	CA           any            `toml:"ca"`     // string or list of strings
	Client       any            `toml:"client"` // string, list of strings, or list of [cert, key]
	SkipVerify   *bool          `toml:"skip_verify"`
	Header       map[string]any `toml:"header"`
	OverridePath bool           `toml:"override_path"`
	DialTimeout  string         `toml:"dial_timeout"`
}

type tomlFile struct {
	tomlHostFields
	Server string                    `toml:"server"`
	Host   map[string]tomlHostFields `toml:"host"`
}

// parseHostsTOML reads a hosts.toml of the folder dir. On a syntax or type
// error (containerd then falls back to the loose files) Err is set.
func parseHostsTOML(dir string, data []byte) *HostsTOML {
	h := &HostsTOML{}
	order, err := hostOrder(data)
	if err != nil {
		h.Err = err
		return h
	}
	var f tomlFile
	if err := toml.Unmarshal(data, &f); err != nil {
		h.Err = err
		return h
	}
	h.Server = f.Server
	for _, u := range order {
		e, err := tomlHost(dir, u, f.Host[u])
		if err != nil {
			h.Err = err
			h.Hosts = nil
			return h
		}
		h.Hosts = append(h.Hosts, e)
	}
	root, err := tomlHost(dir, f.Server, f.tomlHostFields)
	if err != nil {
		h.Err = err
		h.Hosts = nil
		return h
	}
	root.Root = true
	h.Hosts = append(h.Hosts, root)
	return h
}

// hostOrder lists the [host."…"] tables in file order.
func hostOrder(data []byte) ([]string, error) {
	var p unstable.Parser
	p.Reset(data)
	var out []string
	last := ""
	for p.NextExpression() {
		e := p.Expression()
		if e.Kind != unstable.Table {
			continue
		}
		var parts []string
		for it := e.Key(); it.Next(); {
			parts = append(parts, string(it.Node().Data))
		}
		if len(parts) < 2 || parts[0] != "host" || parts[1] == last {
			continue
		}
		last = parts[1]
		out = append(out, last)
	}
	return out, p.Error()
}

func tomlHost(dir, server string, f tomlHostFields) (TOMLHost, error) {
	e := TOMLHost{URL: server, Capabilities: f.Capabilities, SkipVerify: f.SkipVerify}
	if server != "" {
		u := server
		if !strings.HasPrefix(u, "http") {
			u = "https://" + u
		}
		if _, err := url.Parse(u); err != nil {
			return e, fmt.Errorf("unable to parse server %v: %w", u, err)
		}
	}
	abs := func(p string) string {
		if filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(dir, p)
	}
	for _, c := range f.Capabilities {
		switch strings.ToLower(c) {
		case "pull", "resolve", "push", "referrers":
		default:
			return e, fmt.Errorf("unknown capability %v", c)
		}
	}
	switch ca := f.CA.(type) {
	case nil:
	case string:
		e.CA = []string{abs(ca)}
	case []any:
		for _, v := range ca {
			s, ok := v.(string)
			if !ok {
				return e, fmt.Errorf("unable to cast %v to string", v)
			}
			e.CA = append(e.CA, abs(s))
		}
	default:
		return e, fmt.Errorf("invalid type %v for \"ca\"", ca)
	}
	switch cl := f.Client.(type) {
	case nil:
	case string:
		e.Client = [][2]string{{abs(cl), ""}}
	case []any:
		for _, v := range cl {
			switch p := v.(type) {
			case string:
				e.Client = append(e.Client, [2]string{abs(p), ""})
			case []any:
				if len(p) != 2 {
					return e, fmt.Errorf("invalid pair %v for \"client\"", p)
				}
				var pair [2]string
				for i, x := range p {
					s, ok := x.(string)
					if !ok {
						return e, fmt.Errorf("unable to cast %v to string", x)
					}
					pair[i] = abs(s)
				}
				e.Client = append(e.Client, pair)
			default:
				return e, fmt.Errorf("invalid type %T for \"client\"", p)
			}
		}
	default:
		return e, fmt.Errorf("invalid type %v for \"client\"", cl)
	}
	for k, v := range f.Header {
		switch hv := v.(type) {
		case string:
		case []any:
			for _, x := range hv {
				if _, ok := x.(string); !ok {
					return e, fmt.Errorf("unable to cast %v to string", x)
				}
			}
		default:
			return e, fmt.Errorf("invalid type %v for header %q", v, k)
		}
	}
	if f.DialTimeout != "" {
		if _, err := time.ParseDuration(f.DialTimeout); err != nil {
			return e, err
		}
	}
	return e, nil
}

// serverHost returns the host[:port] of a hosts.toml server value, read the
// way containerd reads it (https:// assumed when no scheme is given).
func serverHost(server string) string {
	if !strings.HasPrefix(server, "http") {
		server = "https://" + server
	}
	u, err := url.Parse(server)
	if err != nil {
		return server
	}
	return u.Host
}

// renderHostsTOML writes the hosts.toml certkit installs: a comment that
// says whose it is, then RenderHostsTOML's body with the CA files
// (certkit's first) and every client pair relative to the folder, so that
// the folder can be moved into place whole.
func renderHostsTOML(registry string, caFiles []string, pairs []string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "# Written by certkit for %s; certkit uninstall removes it.\n", registry)
	b.WriteString("# containerd reads only the files named here, not the loose ones beside it.\n")
	files := make([][2]string, len(pairs))
	for i, name := range pairs {
		files[i] = [2]string{name + CertExt, name + KeyExt}
	}
	b.Write(RenderHostsTOML(registry, caFiles, files))
	return []byte(b.String())
}

// RenderHostsTOML writes the body of a hosts.toml for registry
// (host[:port], as in image references), without comments: the registry
// as server, the CA files cas and the client pairs (certificate, key),
// each path as given (relative to the folder, or absolute). They are
// named twice: in the [host] entry, which containerd tries first, and at
// the root, which applies to the server entry containerd appends last.
// That second entry has every capability (referrers included, which
// containerd 1.x does not know, so the [host] entry cannot list it) and is
// also where containerd falls through to after an error; without the root
// fields it would reach the registry with no CA and no client
// certificate. One CA is written as a string, several as a list; with no
// pair the client lines are left out. certkit install and certkit template
// containerd both write hosts.toml through it, so the two agree. Every
// string must be valid UTF-8, as TOML is.
func RenderHostsTOML(registry string, cas []string, pairs [][2]string) []byte {
	u := tomlQuote("https://" + registry)
	var ca string
	switch len(cas) {
	case 0:
	case 1:
		ca = tomlQuote(cas[0])
	default:
		q := make([]string, len(cas))
		for i, c := range cas {
			q[i] = tomlQuote(c)
		}
		ca = "[" + strings.Join(q, ", ") + "]"
	}
	var client string
	if len(pairs) > 0 {
		q := make([]string, len(pairs))
		for i, p := range pairs {
			q[i] = "[" + tomlQuote(p[0]) + ", " + tomlQuote(p[1]) + "]"
		}
		client = "[" + strings.Join(q, ", ") + "]"
	}
	var b strings.Builder
	fields := func(indent string) {
		if ca != "" {
			fmt.Fprintf(&b, "%sca = %s\n", indent, ca)
		}
		if client != "" {
			fmt.Fprintf(&b, "%sclient = %s\n", indent, client)
		}
	}
	fmt.Fprintf(&b, "server = %s\n", u)
	fields("")
	fmt.Fprintf(&b, "\n[host.%s]\n", u)
	b.WriteString("  capabilities = [\"pull\", \"resolve\", \"push\"]\n")
	fields("  ")
	return []byte(b.String())
}

// tomlQuote writes s as a TOML basic string: '"', '\\' and control
// characters escaped, everything else as it is.
func tomlQuote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\u%04X`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
