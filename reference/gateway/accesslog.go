package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
)

// defaultAccessLogFormat is used when the config sets no accessLogSettings: the JSON format the
// API Gateway console proposes, with the authorizer, integration and error variables added.
const defaultAccessLogFormat = `{"requestId":"$context.requestId","ip":"$context.identity.sourceIp",` +
	`"requestTime":"$context.requestTime","httpMethod":"$context.httpMethod","routeKey":"$context.routeKey",` +
	`"path":"$context.path","status":$context.status,"protocol":"$context.protocol",` +
	`"responseLength":$context.responseLength,"responseLatency":$context.responseLatency,` +
	`"authorizerStatus":"$context.authorizer.status","authorizerLatency":"$context.authorizer.latency",` +
	`"authorizerError":"$context.authorizer.error","principalId":"$context.authorizer.principalId",` +
	`"integrationStatus":"$context.integrationStatus","integrationLatency":"$context.integrationLatency",` +
	`"integrationError":"$context.integrationErrorMessage","errorMessage":"$context.error.message",` +
	`"errorResponseType":"$context.error.responseType"}`

// logField is one key of the access-log format and the template of its value.
type logField struct {
	key    string
	value  template
	number bool // written without quotes in the format: logged as a number when it is one
}

// bareMark flags a value that was an unquoted variable in the format.
const bareMark = "\x01"

// parseAccessLogFormat parses an access-log format: a JSON object whose values are strings
// holding $context variables, or bare $context variables (logged as numbers when numeric).
func parseAccessLogFormat(format string) ([]logField, error) {
	quoted, err := quoteBareVariables(format)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(strings.NewReader(quoted))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, errors.New("must be a JSON object such as {\"requestId\":\"$context.requestId\"}")
	}
	var fields []logField
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("not a JSON object: %v", err)
		}
		key := tok.(string)
		var raw string
		if err := dec.Decode(&raw); err != nil {
			return nil, fmt.Errorf("%q: each value must be a string or a $context variable", key)
		}
		f := logField{key: key}
		if rest, ok := strings.CutPrefix(raw, bareMark); ok {
			raw, f.number = rest, true
		}
		t, _, err := parseHTTPTemplate(raw)
		if err != nil {
			return nil, fmt.Errorf("%q: %v", key, err)
		}
		for _, p := range t {
			if p.v != nil && p.v.src != srcContext {
				return nil, fmt.Errorf("%q: only $context variables can be logged, not $%s", key, p.v)
			}
		}
		f.value = t
		fields = append(fields, f)
	}
	if _, err := dec.Token(); err != nil {
		return nil, fmt.Errorf("not a JSON object: %v", err)
	}
	if dec.More() {
		return nil, errors.New("must be one JSON object")
	}
	return fields, nil
}

// quoteBareVariables turns unquoted $context.NAME tokens into marked JSON strings.
func quoteBareVariables(s string) (string, error) {
	var b bytes.Buffer
	inString, escaped := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case inString:
			b.WriteByte(c)
			if escaped {
				escaped = false
			} else if c == '\\' {
				escaped = true
			} else if c == '"' {
				inString = false
			}
		case c == '"':
			inString = true
			b.WriteByte(c)
		case c == '$':
			j := i + 1
			if j < len(s) && s[j] == '{' {
				end := strings.IndexByte(s[j:], '}')
				if end < 0 {
					return "", errors.New("${ without a closing }")
				}
				j += end + 1
			} else {
				for j < len(s) && isContextNameByte(s[j]) {
					j++
				}
			}
			q, _ := json.Marshal(bareMark + s[i:j])
			b.Write(q)
			i = j - 1
		default:
			b.WriteByte(c)
		}
	}
	if inString {
		return "", errors.New("a string is not closed")
	}
	return b.String(), nil
}

// logAccess writes the access-log record of one exchange.
func (x *exchange) logAccess(ctx context.Context) {
	log := x.g.log
	if !log.Enabled(ctx, slog.LevelInfo) {
		return
	}
	attrs := make([]slog.Attr, 0, len(x.g.api.accessLog))
	for _, f := range x.g.api.accessLog {
		v := f.value.eval(x)
		if f.number {
			if n, err := strconv.ParseInt(v, 10, 64); err == nil {
				attrs = append(attrs, slog.Int64(f.key, n))
				continue
			}
		}
		if v == "" {
			v = "-" // as API Gateway writes an empty variable
		}
		attrs = append(attrs, slog.String(f.key, v))
	}
	log.LogAttrs(ctx, slog.LevelInfo, "access", attrs...)
}
