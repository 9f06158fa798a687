package install

import (
	"fmt"
	"net/url"
	"path/filepath"
	"strconv"
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

// renderHostsTOML writes the hosts.toml certkit installs: the registry as
// server, and the CA files (certkit's first) and every client pair, relative to the folder (so the
// folder can be moved into place whole). They are named twice: in the
// [host] entry, which containerd tries first, and at the root, which
// applies to the server entry containerd appends last. That second entry
// has every capability (referrers included, which containerd 1.x does not
// know, so the [host] entry cannot list it) and is also where containerd
// falls through to after an error; without the root fields it would reach
// the registry with no CA and no client certificate.
func renderHostsTOML(registry string, caFiles []string, pairs []string) []byte {
	u := "https://" + registry
	var b strings.Builder
	fmt.Fprintf(&b, "# Written by certkit for %s; certkit uninstall removes it.\n", registry)
	b.WriteString("# containerd reads only the files named here, not the loose ones beside it.\n")
	var client strings.Builder
	client.WriteString("[")
	for i, name := range pairs {
		if i > 0 {
			client.WriteString(", ")
		}
		fmt.Fprintf(&client, "[%s, %s]", strconv.Quote(name+CertExt), strconv.Quote(name+KeyExt))
	}
	client.WriteString("]")
	ca := strconv.Quote(caFiles[0])
	if len(caFiles) > 1 {
		var q []string
		for _, c := range caFiles {
			q = append(q, strconv.Quote(c))
		}
		ca = "[" + strings.Join(q, ", ") + "]"
	}
	fmt.Fprintf(&b, "server = %s\n", strconv.Quote(u))
	fmt.Fprintf(&b, "ca = %s\n", ca)
	fmt.Fprintf(&b, "client = %s\n\n", client.String())
	fmt.Fprintf(&b, "[host.%s]\n", strconv.Quote(u))
	b.WriteString("  capabilities = [\"pull\", \"resolve\", \"push\"]\n")
	fmt.Fprintf(&b, "  ca = %s\n", ca)
	fmt.Fprintf(&b, "  client = %s\n", client.String())
	return []byte(b.String())
}
