package mcpserver

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/mcpsso/mcpsso/reference/contextproof"
)

// HeaderContextProof carries the authorizer's proof of the decided headers (package
// contextproof has the format). The reference gateway config maps it from the authorizer's
// context key contextProof, like the other decided headers.
const HeaderContextProof = contextproof.Header

// checkProof verifies the request's context proof before any decided header is believed: the
// signature over the method, path and decided headers as received, the time window, and that
// the proof was not used before. It returns the proof's nonce, or the refusal.
func (h *Handler) checkProof(r *http.Request) (string, int, *refusal) {
	c := contextproof.Context{Method: r.Method, Path: r.URL.Path}
	for _, f := range []struct {
		name string
		dst  *string
	}{
		{HeaderDecidedRole, &c.DecidedRole}, {HeaderSourceIdentity, &c.SourceIdentity},
		{HeaderSessionTags, &c.SessionTags}, {HeaderLimits, &c.Limits},
	} {
		// A repeated header could be read one way by the signer and another by us.
		if vs := r.Header.Values(f.name); len(vs) > 1 {
			_, err := single(r.Header, f.name, "")
			return "", http.StatusForbidden, &refusal{Error: "malformed_header", Header: strings.ToLower(f.name), Message: err.Error()}
		} else if len(vs) == 1 {
			*f.dst = vs[0]
		}
	}
	values := r.Header.Values(HeaderContextProof)
	if len(values) > 1 {
		return "", http.StatusForbidden, &refusal{Error: string(contextproof.ReasonMalformed), Header: strings.ToLower(HeaderContextProof),
			Message: fmt.Sprintf("header %s appears %d times; the gateway sends exactly one proof", strings.ToLower(HeaderContextProof), len(values))}
	}
	value := ""
	if len(values) == 1 {
		value = values[0]
	}
	now := h.cfg.clock()
	p, err := h.cfg.proofKey.Verify(value, c, now, h.cfg.proofWindow)
	if err == nil {
		err = h.replay.Admit(p, h.cfg.proofWindow, now)
	}
	var pe *contextproof.Error
	if errors.As(err, &pe) {
		status := http.StatusForbidden
		if pe.Reason == contextproof.ReasonFull {
			status = http.StatusServiceUnavailable
		}
		return "", status, &refusal{Error: string(pe.Reason), Header: strings.ToLower(HeaderContextProof),
			Message: "the decided headers are not proven: " + pe.Detail}
	}
	if err != nil { // Verify and Admit return only *contextproof.Error; fail closed all the same
		return "", http.StatusForbidden, &refusal{Error: string(contextproof.ReasonInvalid), Header: strings.ToLower(HeaderContextProof), Message: err.Error()}
	}
	return p.Nonce, 0, nil
}
