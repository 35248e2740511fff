package gateway

import (
	"fmt"
	"strings"
)

// route is a parsed route key with what it leads to.
type route struct {
	key         string // as AWS reports it: "ANY /{proxy+}", "$default"
	method      string // "ANY" or an HTTP method; "" for $default
	segments    []segment
	greedy      bool // the last segment is {name+}
	authorizer  *authorizerSpec
	integration *integration
}

type segment struct {
	literal string
	param   string // set for {param} and {param+}
}

var routeMethods = map[string]bool{"ANY": true, "GET": true, "POST": true, "PUT": true, "DELETE": true,
	"PATCH": true, "HEAD": true, "OPTIONS": true}

// parseRouteKey parses "METHOD /path" (segments may be {name}; the last may be {name+}) or
// "$default" (HTTP APIs).
func parseRouteKey(apiType, key string) (*route, error) {
	if key == "$default" {
		if apiType == RESTAPI {
			return nil, fmt.Errorf("%q: REST APIs have no $default route; use ANY /{proxy+}", key)
		}
		return &route{key: key}, nil
	}
	method, path, ok := strings.Cut(key, " ")
	if !ok || !routeMethods[method] {
		return nil, fmt.Errorf("%q: want \"METHOD /path\" with METHOD one of ANY, GET, POST, PUT, DELETE, PATCH, HEAD, OPTIONS, or $default", key)
	}
	if !strings.HasPrefix(path, "/") || strings.Contains(path, "//") || strings.ContainsAny(path, " ?#") {
		return nil, fmt.Errorf("%q: the path must start with / and hold no empty segment, space, ? or #", key)
	}
	r := &route{key: key, method: method}
	if path == "/" {
		return r, nil
	}
	parts := strings.Split(strings.TrimPrefix(path, "/"), "/")
	seen := map[string]bool{}
	for i, s := range parts {
		if s == "" {
			return nil, fmt.Errorf("%q: the path must not end with /", key)
		}
		if !strings.HasPrefix(s, "{") {
			if strings.ContainsAny(s, "{}") {
				return nil, fmt.Errorf("%q: segment %q mixes text and a {parameter}", key, s)
			}
			r.segments = append(r.segments, segment{literal: s})
			continue
		}
		if !strings.HasSuffix(s, "}") {
			return nil, fmt.Errorf("%q: segment %q has no closing }", key, s)
		}
		name := s[1 : len(s)-1]
		if strings.HasSuffix(name, "+") {
			if i != len(parts)-1 {
				return nil, fmt.Errorf("%q: a greedy {%s} must be the last segment", key, name)
			}
			name = strings.TrimSuffix(name, "+")
			r.greedy = true
		}
		if name == "" || strings.ContainsAny(name, "{}+") {
			return nil, fmt.Errorf("%q: segment %q is not a {parameter}", key, s)
		}
		if seen[name] {
			return nil, fmt.Errorf("%q: parameter %q appears twice", key, name)
		}
		seen[name] = true
		r.segments = append(r.segments, segment{param: name})
	}
	return r, nil
}

// match reports whether the route serves method and path (the path below the stage), with the
// path parameters, and a score: higher is more specific.
func (r *route) match(method, path string) (params map[string]string, score int, ok bool) {
	if r.method == "" {
		return map[string]string{}, 0, true
	}
	if r.method != "ANY" && r.method != method {
		return nil, 0, false
	}
	var parts []string
	if trimmed := strings.TrimPrefix(path, "/"); trimmed != "" {
		parts = strings.Split(trimmed, "/")
	}
	params = map[string]string{}
	fixed := len(r.segments)
	if r.greedy {
		fixed--
		if len(parts) <= fixed { // a greedy parameter matches one segment or more
			return nil, 0, false
		}
	} else if len(parts) != len(r.segments) {
		return nil, 0, false
	}
	literals := 0
	for i := 0; i < fixed; i++ {
		s := r.segments[i]
		switch {
		case s.param != "":
			if parts[i] == "" {
				return nil, 0, false
			}
			params[s.param] = parts[i]
		case s.literal != parts[i]:
			return nil, 0, false
		default:
			literals++
		}
	}
	if r.greedy {
		params[r.segments[fixed].param] = strings.Join(parts[fixed:], "/")
	}
	// Most specific first: no greedy parameter, then more literal segments, then more segments,
	// then a named method over ANY.
	score = 1
	if !r.greedy {
		score += 1 << 20
	}
	score += literals<<10 + len(r.segments)<<2
	if r.method != "ANY" {
		score++
	}
	return params, score, true
}

// resourcePath is the route's path as REST APIs report it ("/{proxy+}").
func (r *route) resourcePath() string {
	if _, p, ok := strings.Cut(r.key, " "); ok {
		return p
	}
	return "/"
}

// findRoute picks the most specific route for method and path.
func (a *api) findRoute(method, path string) (*route, map[string]string) {
	var best *route
	var bestParams map[string]string
	bestScore := -1
	for _, r := range a.routes {
		if params, score, ok := r.match(method, path); ok && score > bestScore {
			best, bestParams, bestScore = r, params, score
		}
	}
	return best, bestParams
}
