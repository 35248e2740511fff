package gateway

import (
	"errors"
	"fmt"
	"strings"
)

// source is where a mapping or identity-source variable reads its value.
type source int

const (
	srcHeader    source = iota // request header, values joined with commas
	srcQuery                   // query-string parameter, values joined with commas
	srcPath                    // the request path without the stage ($request.path)
	srcPathParam               // a path parameter of the matched route
	srcContext                 // a $context variable
	srcStageVar                // a stage variable
)

// variable is one value a request supplies.
type variable struct {
	src  source
	name string
}

func (v variable) String() string {
	switch v.src {
	case srcHeader:
		return "request.header." + v.name
	case srcQuery:
		return "request.querystring." + v.name
	case srcPath:
		return "request.path"
	case srcPathParam:
		return "request.path." + v.name
	case srcContext:
		return "context." + v.name
	default:
		return "stageVariables." + v.name
	}
}

// part is a literal or a variable; a template is their concatenation.
type part struct {
	lit string
	v   *variable
}

type template []part

// vars looks variables up for one request.
type vars interface {
	lookup(variable) (string, bool)
}

// eval renders the template; a variable with no value renders as "".
func (t template) eval(vs vars) string {
	if len(t) == 1 && t[0].v == nil {
		return t[0].lit
	}
	var b strings.Builder
	for _, p := range t {
		if p.v == nil {
			b.WriteString(p.lit)
			continue
		}
		if s, ok := vs.lookup(*p.v); ok {
			b.WriteString(s)
		}
	}
	return b.String()
}

// single is the template's only variable, if it is exactly one variable.
func (t template) single() (variable, bool) {
	if len(t) == 1 && t[0].v != nil {
		return *t[0].v, true
	}
	return variable{}, false
}

// Characters allowed in variable names. Context and stage-variable names allow only letters,
// digits, '.' and '_' (http-api-parameter-mapping: "only the special characters . and _ are
// supported"); request header, query and path names also allow the other token characters.
func isContextNameByte(c byte) bool {
	return c == '.' || c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func isRequestNameByte(c byte) bool {
	return isContextNameByte(c) || strings.IndexByte("-!#%&'*+^`|~", c) >= 0
}

// parseHTTPTemplate parses an HTTP API mapping value or selection expression: static text with
// $request.header.NAME, $request.querystring.NAME, $request.path, $request.path.NAME,
// $context.NAME and $stageVariables.NAME, each also as ${...}. warnings report text that
// parses but probably does not mean what its author meant (a hyphen ending a context name).
func parseHTTPTemplate(s string) (t template, warnings []string, err error) {
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			t = append(t, part{lit: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); {
		if s[i] != '$' {
			lit.WriteByte(s[i])
			i++
			continue
		}
		rest := s[i+1:]
		if strings.HasPrefix(rest, "{") {
			end := strings.IndexByte(rest, '}')
			if end < 0 {
				return nil, nil, fmt.Errorf("%q at byte %d: ${ without a closing }", s, i)
			}
			v, err := parseVariable(rest[1:end], true)
			if err != nil {
				return nil, nil, fmt.Errorf("%q: %w", s, err)
			}
			flush()
			t = append(t, part{v: &v})
			i += 1 + end + 1
			continue
		}
		prefix, isVar := variablePrefix(rest)
		if !isVar {
			lit.WriteByte('$')
			i++
			continue
		}
		// An unbraced name runs as far as the name characters do; what follows is static text.
		allowed := isRequestNameByte
		if prefix == "context." || prefix == "stageVariables." {
			allowed = isContextNameByte
		}
		j := len(prefix)
		if prefix == "request.path" {
			if strings.HasPrefix(rest[j:], ".") && len(rest) > j+1 && allowed(rest[j+1]) {
				j++
			}
		}
		for j < len(rest) && allowed(rest[j]) {
			j++
		}
		for j > len(prefix) && rest[j-1] == '.' { // a trailing dot is punctuation
			j--
		}
		v, err := parseVariable(rest[:j], false)
		if err != nil {
			return nil, nil, fmt.Errorf("%q: %w", s, err)
		}
		if v.src == srcContext && j < len(rest) && isRequestNameByte(rest[j]) {
			warnings = append(warnings, fmt.Sprintf("%q reads the context variable %q followed by the static text %q: context variable "+
				"names may contain only letters, digits, '.' and '_' (API Gateway http-api-parameter-mapping), so use camelCase context keys",
				s, v.name, strings.SplitN(rest[j:], "$", 2)[0]))
		}
		flush()
		t = append(t, part{v: &v})
		i += 1 + j
	}
	flush()
	if len(t) == 0 {
		t = template{{lit: ""}}
	}
	return t, warnings, nil
}

// variablePrefix reports whether s (after a '$') starts a variable, and its prefix.
func variablePrefix(s string) (string, bool) {
	for _, p := range []string{"request.header.", "request.querystring.", "request.body", "context.", "stageVariables.", "request.path"} {
		if strings.HasPrefix(s, p) {
			return p, true
		}
	}
	return "", false
}

// knownContext are the $context variables the emulator supplies besides authorizer.*.
var knownContext = map[string]bool{
	"accountId": true, "apiId": true, "domainName": true, "domainPrefix": true, "httpMethod": true,
	"identity.sourceIp": true, "identity.userAgent": true, "path": true, "protocol": true,
	"requestId": true, "extendedRequestId": true, "requestTime": true, "requestTimeEpoch": true,
	"resourcePath": true, "routeKey": true, "stage": true, "status": true, "responseLength": true,
	"responseLatency": true, "integrationLatency": true, "integrationStatus": true,
	"integrationErrorMessage": true, "authorizer.error": true, "authorizer.status": true,
	"authorizer.latency": true, "authorizer.principalId": true, "error.message": true,
	"error.messageString": true, "error.responseType": true,
}

// parseVariable parses "request.header.NAME" and the like (without the '$').
func parseVariable(s string, braced bool) (variable, error) {
	name := func(prefix string, allowed func(byte) bool) (string, error) {
		n := strings.TrimPrefix(s, prefix)
		if n == "" {
			return "", fmt.Errorf("%s needs a name", strings.TrimSuffix(prefix, "."))
		}
		for i := 0; i < len(n); i++ {
			if !allowed(n[i]) {
				return "", fmt.Errorf("%q: %q is not allowed in a name (context and stage-variable names allow letters, digits, '.' and '_')", s, n[i])
			}
		}
		return n, nil
	}
	switch {
	case strings.HasPrefix(s, "request.header."):
		n, err := name("request.header.", isRequestNameByte)
		return variable{srcHeader, n}, err
	case strings.HasPrefix(s, "request.querystring."):
		n, err := name("request.querystring.", isRequestNameByte)
		return variable{srcQuery, n}, err
	case s == "request.path":
		return variable{src: srcPath}, nil
	case strings.HasPrefix(s, "request.path."):
		n, err := name("request.path.", isRequestNameByte)
		return variable{srcPathParam, n}, err
	case strings.HasPrefix(s, "request.body"):
		return variable{}, errors.New("$request.body is not supported by the emulator (it does not buffer request bodies)")
	case strings.HasPrefix(s, "context."):
		n, err := name("context.", isContextNameByte)
		if err != nil {
			return variable{}, err
		}
		if !knownContext[n] && !strings.HasPrefix(n, "authorizer.") {
			return variable{}, fmt.Errorf("$context.%s is not a context variable the emulator supplies", n)
		}
		if n == "authorizer." {
			return variable{}, errors.New("$context.authorizer. needs a key")
		}
		return variable{srcContext, n}, nil
	case strings.HasPrefix(s, "stageVariables."):
		n, err := name("stageVariables.", isContextNameByte)
		return variable{srcStageVar, n}, err
	}
	if braced {
		return variable{}, fmt.Errorf("${%s}: not a request, context or stage variable", s)
	}
	return variable{}, fmt.Errorf("%q: not a request, context or stage variable", s)
}

// parseRESTValue parses a REST API mapping value: method.request.header|querystring|path.NAME,
// context.NAME, stageVariables.NAME, or a 'single-quoted static value'.
func parseRESTValue(s string) (template, error) {
	if len(s) >= 2 && s[0] == '\'' && s[len(s)-1] == '\'' {
		return template{{lit: s[1 : len(s)-1]}}, nil
	}
	var v variable
	var err error
	switch {
	case strings.HasPrefix(s, "method.request.header."):
		v, err = parseVariable("request.header."+strings.TrimPrefix(s, "method.request.header."), false)
	case strings.HasPrefix(s, "method.request.querystring."):
		v, err = parseVariable("request.querystring."+strings.TrimPrefix(s, "method.request.querystring."), false)
	case strings.HasPrefix(s, "method.request.path."):
		v, err = parseVariable("request.path."+strings.TrimPrefix(s, "method.request.path."), false)
	case strings.HasPrefix(s, "context."), strings.HasPrefix(s, "stageVariables."):
		v, err = parseVariable(s, false)
	default:
		return nil, fmt.Errorf("%q: want method.request.header|querystring|path.NAME, context.NAME, stageVariables.NAME or a 'quoted static value'", s)
	}
	if err != nil {
		return nil, err
	}
	return template{{v: &v}}, nil
}

// parseIdentitySource parses one identity-source expression of the given API type into the
// variable it reads.
func parseIdentitySource(apiType, s string) (variable, error) {
	var v variable
	if apiType == RESTAPI {
		t, err := parseRESTValue(s)
		if err != nil {
			return v, err
		}
		var ok bool
		if v, ok = t.single(); !ok {
			return v, fmt.Errorf("%q: an identity source is a request, context or stage variable, not a static value", s)
		}
	} else {
		if !strings.HasPrefix(s, "$") {
			return v, fmt.Errorf("%q: want $request.header.NAME, $request.querystring.NAME, $context.NAME or $stageVariables.NAME", s)
		}
		t, _, err := parseHTTPTemplate(s)
		if err != nil {
			return v, err
		}
		var ok bool
		if v, ok = t.single(); !ok {
			return v, fmt.Errorf("%q: an identity source is exactly one variable", s)
		}
	}
	if v.src == srcPath || v.src == srcPathParam {
		return v, fmt.Errorf("%q: a path cannot be an identity source", s)
	}
	return v, nil
}
