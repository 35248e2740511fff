package gateway

import (
	"hash/fnv"
	"maps"
	"strconv"
	"strings"

	"github.com/aws/aws-lambda-go/events"
)

// authorizerEvent builds the event the authorizer receives, as API Gateway builds it.
func (x *exchange) authorizerEvent(spec *authorizerSpec, identity []string) any {
	switch spec.kind {
	case kindHTTPSimple, kindHTTPPolicy:
		return x.httpAPIEvent(identity)
	case kindRESTToken:
		return events.APIGatewayCustomAuthorizerRequest{Type: "TOKEN", AuthorizationToken: identity[0], MethodArn: x.arn()}
	default:
		return x.restRequestEvent()
	}
}

// httpAPIEvent is the payload 2.0 event: header names lower-cased, repeated headers and query
// parameters joined with commas, cookies in their own list.
func (x *exchange) httpAPIEvent(identity []string) events.APIGatewayV2CustomAuthorizerV2Request {
	r := x.r
	headers := map[string]string{}
	var cookies []string
	for k, vs := range r.Header {
		name := strings.ToLower(k)
		if name == "cookie" {
			for _, v := range vs {
				for _, c := range strings.Split(v, ";") {
					if c = strings.TrimSpace(c); c != "" {
						cookies = append(cookies, c)
					}
				}
			}
			continue
		}
		headers[name] = strings.Join(vs, ",")
	}
	if r.Host != "" {
		headers["host"] = r.Host
	}
	var query map[string]string
	if q := r.URL.Query(); len(q) > 0 {
		query = make(map[string]string, len(q))
		for k, vs := range q {
			query[k] = strings.Join(vs, ",")
		}
	}
	var params map[string]string
	if len(x.pathParams) > 0 {
		params = maps.Clone(x.pathParams)
	}
	return events.APIGatewayV2CustomAuthorizerV2Request{
		Version:               "2.0",
		Type:                  "REQUEST",
		RouteArn:              x.arn(),
		IdentitySource:        identity,
		RouteKey:              x.route.key,
		RawPath:               r.URL.EscapedPath(),
		RawQueryString:        r.URL.RawQuery,
		Cookies:               cookies,
		Headers:               headers,
		QueryStringParameters: query,
		PathParameters:        params,
		StageVariables:        x.stageVariables(),
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RouteKey:     x.route.key,
			AccountID:    x.g.account,
			Stage:        x.g.api.stage,
			RequestID:    x.requestID,
			APIID:        x.g.apiID,
			DomainName:   r.Host,
			DomainPrefix: strings.SplitN(r.Host, ".", 2)[0],
			Time:         x.start.UTC().Format("02/Jan/2006:15:04:05 -0700"),
			TimeEpoch:    x.start.UnixMilli(),
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
				Method:    r.Method,
				Path:      r.URL.Path,
				Protocol:  r.Proto,
				SourceIP:  sourceIP(r),
				UserAgent: r.UserAgent(),
			},
		},
	}
}

// restRequestEvent is the REST API REQUEST authorizer event: headers and query parameters with
// their last value, and all values in the multi-value maps. Header names are as Go's server
// canonicalizes them (API Gateway passes the client's spelling).
func (x *exchange) restRequestEvent() events.APIGatewayCustomAuthorizerRequestTypeRequest {
	r := x.r
	headers, multi := make(map[string]string, len(r.Header)+1), make(map[string][]string, len(r.Header)+1) // +1: Host
	for k, vs := range r.Header {
		headers[k] = vs[len(vs)-1]
		multi[k] = vs
	}
	if r.Host != "" {
		headers["Host"], multi["Host"] = r.Host, []string{r.Host}
	}
	query, multiQuery := map[string]string{}, map[string][]string{}
	for k, vs := range r.URL.Query() {
		query[k] = vs[len(vs)-1]
		multiQuery[k] = vs
	}
	params := maps.Clone(x.pathParams)
	if params == nil {
		params = map[string]string{}
	}
	resource := x.route.resourcePath()
	return events.APIGatewayCustomAuthorizerRequestTypeRequest{
		Type:                            "REQUEST",
		MethodArn:                       x.arn(),
		Resource:                        resource,
		Path:                            x.path,
		HTTPMethod:                      r.Method,
		Headers:                         headers,
		MultiValueHeaders:               multi,
		QueryStringParameters:           query,
		MultiValueQueryStringParameters: multiQuery,
		PathParameters:                  params,
		StageVariables:                  x.stageVariables(),
		RequestContext: events.APIGatewayCustomAuthorizerRequestTypeRequestContext{
			Path:         r.URL.Path,
			AccountID:    x.g.account,
			ResourceID:   resourceID(resource),
			Stage:        x.g.api.stage,
			RequestID:    x.requestID,
			Identity:     events.APIGatewayCustomAuthorizerRequestTypeRequestIdentity{SourceIP: sourceIP(r)},
			ResourcePath: resource,
			HTTPMethod:   r.Method,
			APIID:        x.g.apiID,
		},
	}
}

func (x *exchange) stageVariables() map[string]string {
	if len(x.g.api.cfg.StageVariables) == 0 {
		return nil
	}
	return maps.Clone(x.g.api.cfg.StageVariables)
}

// resourceID is a stable six-character id for a resource path, like API Gateway's.
func resourceID(path string) string {
	h := fnv.New32a()
	_, _ = h.Write([]byte(path))
	s := strconv.FormatUint(uint64(h.Sum32()), 36)
	for len(s) < 6 {
		s = "0" + s
	}
	return s[len(s)-6:]
}
