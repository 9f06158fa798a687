// The live checks of client authentication: what the server asks for
// (its CertificateRequest), each pair on a connection of its own, the
// connection with no certificate, and the API version the answers carry.

package verify

import (
	"context"
	"fmt"
	"time"

	"github.com/certkit/certkit/install"
	"github.com/certkit/certkit/internal/prose"
)

// requestCheck reports the server's CertificateRequest and which pair a
// modern Docker/Go client sends: the first, in filename order, whose chain
// has an issuer the server accepts (any, when it names none). It returns
// that pair's index, or -1.
func (p *prober) requestCheck(s *session) int {
	cri := s.hs.cri
	c := Check{ID: "client-cert-request"}
	if cri == nil {
		c.Status = Warning
		c.Kind = "not-requested"
		c.Message = "the registry does not ask for a client certificate"
		c.Fix = p.enforceFix(false)
		if a := s.answer; a != nil && accepted(a.Status) {
			// the one line for an open registry: noCertCheck adds none
			c.Status = p.openStatus()
			c.Message += fmt.Sprintf(" and answers GET /v2/ without one (%s): anyone who can reach it can pull and push", a.StatusText)
			if p.allowOpen {
				c.Message += " (allowed by --allow-open)"
				c.Fix = ""
			}
		}
		p.add(c)
		return -1
	}
	info := p.rep.Server
	info.RequestsClientCert = true
	var accepted []string
	for _, der := range cri.AcceptableCAs {
		if n, ok := rawName(der); ok {
			info.AcceptableCAs = append(info.AcceptableCAs, n.String())
			accepted = append(accepted, nameOf(n))
			p.acceptable = append(p.acceptable, nameOf(n))
		} else {
			info.AcceptableCAs = append(info.AcceptableCAs, fmt.Sprintf("(unparsable name %x)", der))
		}
	}
	asks := "the registry asks for a client certificate and names no CA"
	if len(accepted) > 0 {
		asks = "the registry asks for a client certificate issued by " + prose.AndList(accepted)
	}
	sent := -1
	var skipped []string
	p.unlisted = make([]bool, len(p.t.Pairs))
	for i := range p.t.Pairs {
		pr := &p.t.Pairs[i]
		p.unlisted[i] = len(cri.AcceptableCAs) > 0 && !issuerListed(pr, cri.AcceptableCAs)
		if sent >= 0 {
			continue
		}
		if err := cri.SupportsCertificate(&pr.Cert); err != nil {
			skipped = append(skipped, fmt.Sprintf("%s.cert (issued by %s)", pr.Name, issuerOf(pr)))
			continue
		}
		sent = i
	}
	switch {
	case len(p.t.Pairs) == 0:
		c.Status = Error
		c.Kind = "no-pairs"
		c.Message = asks + ", and the folder has no client pair: Docker sends no certificate"
		c.Fix = fmt.Sprintf("in the certkit home of the registry's CA: %s, then %s", p.issueClient("client"), p.t.installCmd(nil, install.CAFileName))
	case sent < 0:
		c.Status = Error
		c.Kind = "no-acceptable-pair"
		c.Message = fmt.Sprintf("%s, and none of the installed pairs is: %s; Docker sends no certificate", asks, prose.AndList(skipped))
		c.Fix = fmt.Sprintf("install a client certificate from the CA the registry trusts, in the certkit home that holds it (%s, then %s), or add the CA that issued the pairs to the registry's http.tls.clientcas", p.issueClient("client"), p.t.installCmd(pairFiles("client"), install.CAFileName))
	default:
		pr := &p.t.Pairs[sent]
		c.Status = OK
		switch {
		case p.t.Refused != nil:
			// nothing is sent: the runtimes stop at the folder (the
			// "loader" check)
			c.Message = fmt.Sprintf("%s; %s.cert is the pair %s would send once the folder loads", asks, pr.Name, p.sender())
		case p.isLoopback():
			p.rep.WillSend = pr.Name
			c.Message = fmt.Sprintf("%s; podman sends %s.cert, Docker none (loopback)", asks, pr.Name)
		default:
			p.rep.WillSend = pr.Name
			c.Message = fmt.Sprintf("%s; Docker sends %s.cert", asks, pr.Name)
		}
		if len(skipped) > 0 {
			c.Message += fmt.Sprintf(" (it skips %s: not issued by an accepted CA)", prose.AndList(skipped))
		}
	}
	p.add(c)
	return sent
}

func issuerOf(pr *Pair) string {
	if pr.Cert.Leaf == nil {
		return "(unknown)"
	}
	return nameOf(pr.Cert.Leaf.Issuer)
}

// pairCheck tries pair i on its own connection.
func (p *prober) pairCheck(ctx context.Context, i int, sent bool) {
	pr := &p.t.Pairs[i]
	id := "pair:" + pr.Name
	res := PairResult{Name: pr.Name, Sent: sent && p.t.Refused == nil}
	if leaf := pr.Cert.Leaf; leaf != nil {
		res.Subject, res.Issuer = leaf.Subject.String(), leaf.Issuer.String()
	}
	defer func() { p.rep.Pairs = append(p.rep.Pairs, res) }()
	if ctx.Err() != nil {
		p.add(p.outOfTime(id))
		return
	}
	start := time.Now()
	conn, err := p.dialAddr(ctx, p.addr)
	if err != nil {
		c := Check{ID: id, Status: Error, Elapsed: Millis(time.Since(start))}
		c.Kind, c.Message, c.Fix = p.diagnoseDial(err, p.addr)
		c.Message = pr.Name + ".cert: " + c.Message
		p.add(c)
		return
	}
	s := p.session(ctx, conn, pr)
	c := Check{ID: id, Elapsed: Millis(time.Since(start))}
	who := pr.Name + ".cert"
	switch {
	case !sent:
	case p.t.Refused != nil:
		who += fmt.Sprintf(" (the pair %s would send once the folder loads)", p.sender())
	case p.isLoopback():
		who += " (the pair podman and containerd send; Docker sends none to a loopback registry)"
	default:
		who += " (the pair Docker sends)"
	}
	// A pair Docker never sends cannot break pulls: its rejection is a
	// warning, the sent pair's an error.
	rejected := Warning
	if sent {
		rejected = Error
	}
	err = s.hsErr
	if err == nil {
		err = s.getErr
	}
	switch {
	case err == nil && accepted(s.answer.Status):
		res.Accepted = true
		res.HTTPStatus = s.answer.Status
		p.rep.Accepted = append(p.rep.Accepted, pr.Name)
		p.answers[pr.Name] = s.answer
		c.Status = OK
		c.Message = fmt.Sprintf("%s: accepted (GET /v2/ answered %s)", who, s.answer.StatusText)
		if s.hs.cri == nil {
			c.Message = fmt.Sprintf("%s: not asked for; GET /v2/ answered %s without it", who, s.answer.StatusText)
		}
		p.noteBody(s.answer)
	case err == nil && gateway(s.answer.Status):
		// the proxy took the certificate and found no registry behind it
		res.HTTPStatus = s.answer.Status
		c.Status = Error
		c.Kind = "upstream-down"
		c.Message = fmt.Sprintf("%s: %s answered %s: the registry behind it is down or unreachable", who, p.frontName("the proxy"), s.answer.StatusText)
		c.Fix = p.upstreamFix()
	case err == nil:
		res.HTTPStatus = s.answer.Status
		c.Status = rejected
		c.Kind = "rejected-http"
		c.Message = fmt.Sprintf("%s: rejected by the server: GET /v2/ answered %s%s", who, s.answer.StatusText, s.answer.excerptNote())
		c.Fix = httpRejectionFix(s.answer.Status, pr)
		p.noteBody(s.answer)
	default:
		if code, ok := remoteAlert(err); ok {
			res.Alert = alertName(code)
			c.Status = rejected
			c.Kind = "rejected-tls"
			c.Message = fmt.Sprintf("%s: rejected in the TLS handshake: %s", who, alertName(code))
			c.Fix = p.alertFix(code, pr)
			// Registries built with Go before 1.22 (Debian's
			// docker-registry among them) answer a certificate from a CA
			// they do not trust with "bad certificate", not "unknown
			// certificate authority": the pair's issuer says which it is.
			if !issuerAlert(code) {
				break
			}
			if why, ok := p.foreignIssuer(i); ok {
				c.Message += "; " + why
				c.Fix = p.foreignFix(pr)
			}
			break
		}
		c.Status = Error
		if s.hsErr != nil {
			if s.hs.verifyErr != nil {
				c.Kind, c.Message, c.Fix = p.diagnoseServerCert(s.hs.verifyErr, s.hs.peer)
			} else {
				c.Kind, c.Message, c.Fix = p.diagnoseHandshake(s.hsErr, s.sniff)
			}
		} else {
			c.Kind, c.Message, c.Fix = p.diagnoseHTTP(s.getErr)
		}
		c.Message = who + ": " + c.Message
	}
	p.add(c)
}

// nameWorkingPair tells, under the rejected pair Docker sends, which
// pairs the registry accepts instead.
func (p *prober) nameWorkingPair(sent int) {
	if sent < 0 || len(p.rep.Accepted) == 0 {
		return
	}
	pr := p.t.Pairs[sent]
	for i := range p.rep.Checks {
		c := &p.rep.Checks[i]
		if c.ID != "pair:"+pr.Name || c.Status != Error {
			continue
		}
		var ok []string
		for _, n := range p.rep.Accepted {
			ok = append(ok, n+".cert")
		}
		who := p.sender()
		c.Fix = fmt.Sprintf("the registry accepts %s: remove %s.cert and %s.key from the folder so that %s sends an accepted pair (%s sends the first pair in filename order whose issuer the registry accepts); or: %s",
			prose.AndList(ok), pr.Name, pr.Name, who, who, c.Fix)
	}
}

func accepted(status int) bool { return status == 200 || status == 401 }

// noteBody keeps the first answer whose body was cut short.
func (p *prober) noteBody(a *answer) {
	if a == nil || a.bodyProblem == "" || p.bodyNote != nil {
		return
	}
	c := Check{ID: "http-body", Status: Warning, Kind: a.bodyProblem}
	switch a.bodyProblem {
	case "body-too-large":
		c.Message = fmt.Sprintf("the answer to GET /v2/ has a body larger than %d KiB (a registry answers {} or a short JSON error); certkit stopped reading it", MaxBodyBytes>>10)
	default:
		c.Message = fmt.Sprintf("the server did not finish the body of its answer to GET /v2/ within %s", p.step)
	}
	c.Fix = "check that this address is the registry itself and not another server"
	p.bodyNote = &c
}

// noCertCheck reports how the registry treats a client without a
// certificate: the first connection's GET /v2/. When the registry asks for
// no certificate, that is exactly what Docker gets, so a failure is an
// error; otherwise a refusal is what is wanted.
func (p *prober) noCertCheck(s *session) {
	c := Check{ID: "no-client-cert", Elapsed: Millis(s.elapsed)}
	asked := s.hs.cri != nil
	err := s.hsErr
	if err == nil {
		err = s.getErr
	}
	switch {
	case err == nil && accepted(s.answer.Status) && !asked:
		// requestCheck said it: an open registry is one problem, one line
		p.noteBody(s.answer)
		return
	case err == nil && (accepted(s.answer.Status) || gateway(s.answer.Status)):
		// A front that requires certificates answers a client without one
		// itself (nginx: 400); one that passes it on to the registry
		// behind does not require them, even when that registry is down.
		c.Status = p.openStatus()
		c.Kind = "not-enforced"
		c.Message = fmt.Sprintf("without a client certificate the registry answers %s: it asks for one but does not require it", s.answer.StatusText)
		if gateway(s.answer.Status) {
			c.Message = fmt.Sprintf("without a client certificate the request is passed on to the registry behind the proxy (%s): it does not require client certificates", s.answer.StatusText)
		}
		c.Fix = p.enforceFix(true)
		if p.allowOpen {
			c.Message += " (allowed by --allow-open)"
			c.Fix = ""
		}
	case err == nil && asked:
		p.refusesNoCert = true
		c.Status = OK
		c.Message = fmt.Sprintf("without a client certificate the registry answers %s", s.answer.StatusText)
	case err == nil:
		c.Status = Error
		c.Kind = "rejected-http"
		c.Message = fmt.Sprintf("without a client certificate, which is what Docker sends to a server that asks for none, GET /v2/ answered %s%s", s.answer.StatusText, s.answer.excerptNote())
		c.Fix = httpRejectionFix(s.answer.Status, nil)
	default:
		if code, ok := remoteAlert(err); ok {
			p.refusesNoCert = true
			c.Status = OK
			c.Message = "without a client certificate the registry refuses the connection (TLS alert: " + alertName(code) + ")"
			break
		}
		c.Status = Warning
		if !asked {
			c.Status = Error
		}
		c.Kind, c.Message, c.Fix = p.diagnoseHTTP(err)
		c.Message = "without a client certificate: " + c.Message
	}
	p.noteBody(s.answer)
	p.add(c)
}

// apiVersionCheck looks for Docker-Distribution-API-Version: registry/2.0
// on an answer of the registry itself (200 or 401).
func (p *prober) apiVersionCheck(first *session) {
	var a *answer
	for _, res := range p.rep.Pairs {
		if res.Accepted {
			a = p.answers[res.Name]
			break
		}
	}
	if a == nil && first.answer != nil && accepted(first.answer.Status) {
		a = first.answer
	}
	if a == nil {
		return
	}
	c := Check{ID: "api-version"}
	switch v := a.header.Get("Docker-Distribution-API-Version"); v {
	case "registry/2.0":
		c.Status = OK
		c.Message = "the registry speaks the v2 API (Docker-Distribution-API-Version: registry/2.0)"
	case "":
		c.Status = Warning
		c.Kind = "no-api-version"
		c.Message = "the answer to GET /v2/ lacks the header Docker-Distribution-API-Version: registry/2.0: this may not be a registry, or a proxy drops the header"
		c.Fix = "if a proxy stands in front of the registry, let the header through (nginx: add_header Docker-Distribution-Api-Version registry/2.0 always)"
	default:
		c.Status = Warning
		c.Kind = "no-api-version"
		c.Message = fmt.Sprintf("the registry answers Docker-Distribution-API-Version: %q, not registry/2.0", v)
	}
	p.add(c)
}
