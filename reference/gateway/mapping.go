package gateway

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

type mapTarget int

const (
	targetHeader mapTarget = iota
	targetQuery
	targetPath      // overwrite:path (HTTP APIs)
	targetPathParam // integration.request.path.NAME (REST APIs)
)

type mapAction int

const (
	actRemove mapAction = iota // applied first
	actOverwrite
	actAppend
)

// mapping is one integration request parameter.
type mapping struct {
	action mapAction
	target mapTarget
	name   string
	value  template
}

// reservedHeader reports whether API Gateway refuses to map the header (http-api-parameter-mapping,
// "Reserved headers").
func reservedHeader(name string) bool {
	n := strings.ToLower(name)
	for _, prefix := range []string{"access-control-", "apigw-", "x-amz-", "x-amzn-"} {
		if strings.HasPrefix(n, prefix) {
			return true
		}
	}
	switch n {
	case "authorization", "connection", "content-encoding", "content-length", "content-location", "forwarded",
		"keep-alive", "origin", "proxy-authenticate", "proxy-authorization", "te", "trailer", "trailers",
		"transfer-encoding", "upgrade", "x-forwarded-for", "x-forwarded-host", "x-forwarded-proto", "via":
		return true
	}
	return false
}

func validHeaderName(n string) bool {
	if n == "" {
		return false
	}
	for i := 0; i < len(n); i++ {
		if !isRequestNameByte(n[i]) || n[i] == '.' {
			return false
		}
	}
	return true
}

// parseMapping parses one requestParameters entry of an integration.
func parseMapping(apiType, key, value string) (m mapping, warnings []string, err error) {
	if apiType == RESTAPI {
		return parseRESTMapping(key, value)
	}
	action, target, ok := strings.Cut(key, ":")
	if !ok {
		return m, nil, errors.New("want overwrite|append|remove:header.NAME, overwrite|append|remove:querystring.NAME or overwrite:path")
	}
	switch action {
	case "overwrite":
		m.action = actOverwrite
	case "append":
		m.action = actAppend
	case "remove":
		m.action = actRemove
	default:
		return m, nil, fmt.Errorf("%q: the action must be overwrite, append or remove", action)
	}
	switch {
	case strings.HasPrefix(target, "header."):
		m.target, m.name = targetHeader, strings.TrimPrefix(target, "header.")
		if !validHeaderName(m.name) {
			return m, nil, fmt.Errorf("%q is not a header name", m.name)
		}
		if reservedHeader(m.name) {
			return m, nil, fmt.Errorf("%s is a reserved header: API Gateway does not let you map it", m.name)
		}
	case strings.HasPrefix(target, "querystring."):
		m.target, m.name = targetQuery, strings.TrimPrefix(target, "querystring.")
		if m.name == "" {
			return m, nil, errors.New("querystring. needs a name")
		}
	case target == "path":
		if m.action != actOverwrite {
			return m, nil, errors.New("the path can only be overwritten (overwrite:path)")
		}
		m.target = targetPath
	default:
		return m, nil, fmt.Errorf("%q: want header.NAME, querystring.NAME or path", target)
	}
	if m.action == actRemove {
		if value != "" && value != "''" {
			return m, nil, fmt.Errorf("a remove mapping takes no value (write '' or leave it empty), not %q", value)
		}
		return m, nil, nil
	}
	m.value, warnings, err = parseHTTPTemplate(value)
	if err != nil {
		return m, nil, err
	}
	if m.target == targetPath && !strings.HasPrefix(value, "/") && !strings.HasPrefix(value, "$") {
		return m, nil, fmt.Errorf("%q: a path must start with / or a variable", value)
	}
	return m, warnings, nil
}

func parseRESTMapping(key, value string) (m mapping, warnings []string, err error) {
	m.action = actOverwrite
	switch {
	case strings.HasPrefix(key, "integration.request.header."):
		m.target, m.name = targetHeader, strings.TrimPrefix(key, "integration.request.header.")
		if !validHeaderName(m.name) {
			return m, nil, fmt.Errorf("%q is not a header name", m.name)
		}
		if reservedHeader(m.name) {
			return m, nil, fmt.Errorf("%s is a reserved header: API Gateway does not let you map it", m.name)
		}
	case strings.HasPrefix(key, "integration.request.querystring."):
		m.target, m.name = targetQuery, strings.TrimPrefix(key, "integration.request.querystring.")
	case strings.HasPrefix(key, "integration.request.path."):
		m.target, m.name = targetPathParam, strings.TrimPrefix(key, "integration.request.path.")
	default:
		return m, nil, errors.New("want integration.request.header.NAME, integration.request.querystring.NAME or integration.request.path.NAME")
	}
	if m.name == "" {
		return m, nil, errors.New("the parameter needs a name")
	}
	m.value, err = parseRESTValue(value)
	return m, nil, err
}

// applyMappings rewrites the outgoing header, query and path. Every value is computed from the
// incoming request first; then removals, overwrites and appends apply, in that order. An
// overwrite whose value is empty (a context key the authorizer did not return) deletes the
// parameter, so a client-sent value never survives a mapping meant to replace it.
func applyMappings(ms []mapping, vs vars, h http.Header, q url.Values, path *string, pathParams map[string]string) {
	values := make([]string, len(ms))
	for i, m := range ms {
		if m.action != actRemove {
			values[i] = m.value.eval(vs)
		}
	}
	for _, action := range []mapAction{actRemove, actOverwrite, actAppend} {
		for i, m := range ms {
			if m.action != action {
				continue
			}
			v := values[i]
			switch m.target {
			case targetHeader:
				switch {
				case action == actRemove || action == actOverwrite && v == "":
					h.Del(m.name)
				case action == actOverwrite:
					h.Set(m.name, v)
				case v != "":
					h.Add(m.name, v)
				}
			case targetQuery:
				switch {
				case action == actRemove || action == actOverwrite && v == "":
					q.Del(m.name)
				case action == actOverwrite:
					q.Set(m.name, v)
				case v != "":
					q.Add(m.name, v)
				}
			case targetPath:
				*path = v
			case targetPathParam:
				pathParams[m.name] = v
			}
		}
	}
}
