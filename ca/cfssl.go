package ca

import (
	"encoding/json"
	"errors"

	cferr "github.com/cloudflare/cfssl/errors"
)

// cfsslMessage turns cfssl's JSON error strings ({"code":…,"message":…})
// into their plain message, so that no JSON reaches a user.
func cfsslMessage(err error) string {
	var ce *cferr.Error
	if errors.As(err, &ce) {
		return ce.Message
	}
	var m struct {
		Message string `json:"message"`
	}
	if json.Unmarshal([]byte(err.Error()), &m) == nil && m.Message != "" {
		return m.Message
	}
	return err.Error()
}

// CfsslMessage is cfsslMessage for package issue.
func CfsslMessage(err error) string { return cfsslMessage(err) }
