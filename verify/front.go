package verify

import (
	"net/http"
	"strings"
)

// The TLS fronts a registry's clients may meet, as frontOf names them.
const (
	frontNginx    = "nginx"
	frontApache   = "apache"
	frontRegistry = "registry" // distribution itself (docker-registry, registry:2)
)

// frontOf names the server that wrote an answer to GET /v2/: nginx and
// Apache say so in their Server header and on their own error pages;
// distribution sends no Server header, and its API version header on
// every answer. "" when the answer does not tell.
func frontOf(a *answer) string {
	server := strings.ToLower(a.header.Get("Server"))
	body := strings.ToLower(a.excerpt)
	switch {
	case strings.HasPrefix(server, "nginx"), strings.Contains(body, "<center>nginx"):
		return frontNginx
	case strings.HasPrefix(server, "apache"), strings.Contains(body, "<address>apache"):
		return frontApache
	case server == "" && a.header.Get("Docker-Distribution-API-Version") != "":
		return frontRegistry
	}
	return ""
}

// frontName is the front for messages: "nginx", "Apache", or other.
func (p *prober) frontName(other string) string {
	switch p.front {
	case frontNginx:
		return "nginx"
	case frontApache:
		return "Apache"
	}
	return other
}

// gateway reports the answers a proxy gives when the server behind it
// is down, unreachable or too slow: 502, 503, 504.
func gateway(status int) bool {
	return status == http.StatusBadGateway || status == http.StatusServiceUnavailable || status == http.StatusGatewayTimeout
}

// openStatus is the status of a finding that the registry serves clients
// without a certificate: an error, unless the user said it is meant to.
func (p *prober) openStatus() Status {
	if p.allowOpen {
		return OK
	}
	return Error
}

// enforceFix says how to make the front require client certificates, in
// the words of the front that answered; asked: it asks for one already
// (nginx's ssl_verify_client optional).
func (p *prober) enforceFix(asked bool) string {
	var fix string
	switch p.front {
	case frontNginx:
		fix = "in nginx's server block: ssl_verify_client on; and ssl_client_certificate the certkit CA's ca.crt (certkit template nginx writes both)"
		if asked {
			fix = "in nginx's server block: ssl_verify_client on; (not optional)"
		}
	case frontApache:
		fix = "in Apache's virtual host: SSLVerifyClient require and SSLCACertificateFile the certkit CA's ca.crt (certkit template apache writes both)"
	case frontRegistry:
		fix = "set http.tls.clientcas in the registry's config.yml to the certkit CA's ca.crt (certkit template registry writes one)"
	default:
		fix = "require client certificates from the certkit CA: http.tls.clientcas (docker-registry), ssl_verify_client on; (nginx), SSLVerifyClient require (Apache)"
	}
	return fix + "; or, if it is meant to serve anyone, verify with --allow-open"
}

// upstreamFix is the fix for a proxy whose registry is down.
func (p *prober) upstreamFix() string {
	switch p.front {
	case frontNginx:
		return "start the registry, or correct nginx's proxy_pass to the address it listens on"
	case frontApache:
		return "start the registry, or correct Apache's ProxyPass to the address it listens on"
	}
	return "start the registry behind the proxy, or correct the proxy's upstream address"
}
