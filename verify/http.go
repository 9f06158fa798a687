package verify

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"unicode"
)

const userAgent = "certkit-verify"

// answer is what the server said to GET /v2/.
type answer struct {
	Status     int
	StatusText string // "200 OK", cleaned for messages
	header     http.Header
	excerpt    string // the start of the body, for rejections
	// bodyProblem is "body-too-large" or "body-timeout" when the body was
	// cut short.
	bodyProblem string
}

func (a *answer) excerptNote() string {
	if a.excerpt == "" {
		return ""
	}
	return fmt.Sprintf(" (%q)", a.excerpt)
}

// get sends GET /v2/ on an established TLS connection and reads the answer
// with bounded headers and body. The caller put the step's deadline on the
// connection. With TLS 1.3 a server that rejects the client certificate
// says so here, on the first read after the handshake.
func (p *prober) get(ctx context.Context, tc *tls.Conn) (*answer, error) {
	u := url.URL{Scheme: "https", Host: p.t.Registry.String(), Path: "/v2/"}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", userAgent)
	req.Close = true
	if err := req.Write(tc); err != nil {
		return nil, err
	}
	// The headers may use at most MaxHeaderBytes; then the limit is moved
	// on for the body, which io.LimitReader bounds as well.
	lr := &io.LimitedReader{R: tc, N: MaxHeaderBytes}
	resp, err := http.ReadResponse(bufio.NewReader(lr), req)
	if err != nil {
		if lr.N <= 0 {
			return nil, &errHeadersTooLarge{limit: MaxHeaderBytes}
		}
		return nil, err
	}
	defer resp.Body.Close()
	lr.N = MaxBodyBytes + 1
	a := &answer{Status: resp.StatusCode, StatusText: clean(resp.Status, 80), header: resp.Header}
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxBodyBytes+1))
	switch {
	case len(body) > MaxBodyBytes:
		a.bodyProblem = "body-too-large"
	case err != nil && isTimeout(err):
		a.bodyProblem = "body-timeout"
	}
	a.excerpt = clean(string(body), 160)
	return a, nil
}

// clean makes server-sent text safe and short for a one-line message.
func clean(s string, max int) string {
	s = strings.ToValidUTF8(s, "?")
	s = strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return ' '
		}
		if !unicode.IsPrint(r) {
			return '?'
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > max {
		s = string(r[:max]) + "…"
	}
	return s
}
