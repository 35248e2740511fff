package mcpserver

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
)

// JSON-RPC error codes the server answers itself, before mcp-go sees the message.
const codeInvalidRequest = -32600

// checkJSONRPC reads the POST body (at most maxBody bytes) and refuses what mcp-go would let
// through: an id that is an object, an array or a boolean (JSON-RPC 2.0 allows a string, a
// number or null; mcp-go echoes anything back), and a batch (MCP removed JSON-RPC batching in
// 2025-06-18). A body over the limit gets 413. Anything else — invalid JSON included, which
// mcp-go answers with a parse error — goes on, the body restored. false means it answered.
func (h *Handler) checkJSONRPC(w http.ResponseWriter, r *http.Request, rid string) bool {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.maxBody))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		h.invalidRequest(w, rid, http.StatusRequestEntityTooLarge, "body_too_large",
			fmt.Sprintf("the request body is over %d bytes (a put_object's content, base64 included, is at most %d bytes)", tooLarge.Limit, h.cfg.maxObjectBytes))
		return false
	case err != nil:
		h.invalidRequest(w, rid, http.StatusBadRequest, "body_unreadable", "the request body could not be read: "+err.Error())
		return false
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) > 0 && trimmed[0] == '[' {
		h.invalidRequest(w, rid, http.StatusBadRequest, "invalid_jsonrpc_request",
			"Invalid Request: a JSON-RPC batch (array) is not accepted; MCP removed batching in protocol 2025-06-18: send one message per request")
		return false
	}
	// encoding/json, as mcp-go decodes the message: the same "id" member (the last one, names
	// matched case-insensitively) is the one judged here.
	var msg struct {
		ID json.RawMessage `json:"id"`
	}
	if json.Unmarshal(body, &msg) != nil || len(msg.ID) == 0 {
		return true
	}
	kind := ""
	switch msg.ID[0] {
	case '{':
		kind = "an object"
	case '[':
		kind = "an array"
	case 't', 'f':
		kind = "a boolean"
	}
	if kind != "" {
		h.invalidRequest(w, rid, http.StatusBadRequest, "invalid_jsonrpc_request",
			fmt.Sprintf("Invalid Request: the id is %s; JSON-RPC 2.0 allows a string, a number or null (MCP: a string or an integer)", kind))
		return false
	}
	return true
}

// invalidRequest answers with a JSON-RPC error (id null: the request's own could not be used),
// counted and logged like every refusal.
func (h *Handler) invalidRequest(w http.ResponseWriter, rid string, status int, reason, message string) {
	h.metrics.refused.WithLabelValues(reason).Inc()
	h.log.Warn("request refused", "request_id", rid, "status", status, "reason", reason, "error", message)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"jsonrpc": "2.0", "id": nil,
		"error": map[string]any{"code": codeInvalidRequest, "message": message},
	})
}
