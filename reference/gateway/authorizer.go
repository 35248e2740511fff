package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// HTTPAPIAuthorizer is a Lambda authorizer of an HTTP API with simple responses (payload 2.0,
// EnableSimpleResponses). Any error is a 500.
type HTTPAPIAuthorizer func(context.Context, events.APIGatewayV2CustomAuthorizerV2Request) (events.APIGatewayV2CustomAuthorizerSimpleResponse, error)

// HTTPAPIPolicyAuthorizer is a Lambda authorizer of an HTTP API returning an IAM policy
// (payload 2.0 without simple responses). Any error is a 500.
type HTTPAPIPolicyAuthorizer func(context.Context, events.APIGatewayV2CustomAuthorizerV2Request) (events.APIGatewayV2CustomAuthorizerIAMPolicyResponse, error)

// RESTAuthorizer is a REQUEST Lambda authorizer of a REST API. An error whose message is
// exactly "Unauthorized" is a 401 (the UNAUTHORIZED gateway response); any other is a 500.
type RESTAuthorizer func(context.Context, events.APIGatewayCustomAuthorizerRequestTypeRequest) (events.APIGatewayCustomAuthorizerResponse, error)

// TokenAuthorizer is a TOKEN Lambda authorizer of a REST API; errors as for RESTAuthorizer.
type TokenAuthorizer func(context.Context, events.APIGatewayCustomAuthorizerRequest) (events.APIGatewayCustomAuthorizerResponse, error)

// Authorizer is the code behind a configured Lambda authorizer: an HTTPAPIAuthorizer,
// HTTPAPIPolicyAuthorizer, RESTAuthorizer or TokenAuthorizer called in-process, or a
// *LambdaInvoker calling a function over the Lambda Invoke API.
type Authorizer interface {
	serves(authorizerKind) bool
}

type authorizerKind int

const (
	kindHTTPSimple authorizerKind = iota + 1
	kindHTTPPolicy
	kindRESTRequest
	kindRESTToken
)

func (k authorizerKind) String() string {
	switch k {
	case kindHTTPSimple:
		return "an HTTP API REQUEST authorizer with simple responses (HTTPAPIAuthorizer)"
	case kindHTTPPolicy:
		return "an HTTP API REQUEST authorizer returning IAM policies (HTTPAPIPolicyAuthorizer)"
	case kindRESTRequest:
		return "a REST API REQUEST authorizer (RESTAuthorizer)"
	default:
		return "a REST API TOKEN authorizer (TokenAuthorizer)"
	}
}

func (HTTPAPIAuthorizer) serves(k authorizerKind) bool       { return k == kindHTTPSimple }
func (HTTPAPIPolicyAuthorizer) serves(k authorizerKind) bool { return k == kindHTTPPolicy }
func (RESTAuthorizer) serves(k authorizerKind) bool          { return k == kindRESTRequest }
func (TokenAuthorizer) serves(k authorizerKind) bool         { return k == kindRESTToken }

// verdict is an authorizer's answer, cached as is: a simple yes/no, or a policy evaluated
// against each request's ARN, with the context.
type verdict struct {
	simple      bool
	allowed     bool
	policy      []statement
	principalID string
	context     map[string]string
	raw         map[string]any
}

type statement struct {
	allow     bool
	actions   []string
	resources []string
}

// decision is a verdict applied to one request's ARN.
type decision int

const (
	allow decision = iota
	denyImplicit
	denyExplicit
)

func (v *verdict) decide(arn string) decision {
	if v.simple {
		if v.allowed {
			return allow
		}
		return denyImplicit
	}
	allowed := false
	for _, s := range v.policy {
		if !s.matches(arn) {
			continue
		}
		if !s.allow {
			return denyExplicit
		}
		allowed = true
	}
	if allowed {
		return allow
	}
	return denyImplicit
}

func (s statement) matches(arn string) bool {
	action := false
	for _, a := range s.actions {
		if wildcardMatch(strings.ToLower(a), "execute-api:invoke") {
			action = true
			break
		}
	}
	if !action {
		return false
	}
	for _, r := range s.resources {
		if wildcardMatch(r, arn) {
			return true
		}
	}
	return false
}

// wildcardMatch matches s against an IAM pattern with * (any run) and ? (any one character).
func wildcardMatch(pattern, s string) bool {
	p, i := 0, 0
	star, mark := -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && (pattern[p] == '?' || pattern[p] == s[i]):
			p++
			i++
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case star >= 0:
			p = star + 1
			mark++
			i = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

// errMalformed marks an authorizer response API Gateway could not use (a 500).
var errMalformed = errors.New("malformed authorizer response")

func simpleVerdict(r events.APIGatewayV2CustomAuthorizerSimpleResponse) (*verdict, error) {
	ctx, err := renderContext(r.Context, false)
	if err != nil {
		return nil, err
	}
	return &verdict{simple: true, allowed: r.IsAuthorized, context: ctx, raw: r.Context}, nil
}

func policyVerdict(principalID string, doc events.APIGatewayCustomAuthorizerPolicy, c map[string]any, primitivesOnly bool) (*verdict, error) {
	if principalID == "" {
		return nil, fmt.Errorf("%w: principalId is missing", errMalformed)
	}
	if len(doc.Statement) == 0 {
		return nil, fmt.Errorf("%w: policyDocument has no Statement", errMalformed)
	}
	v := &verdict{principalID: principalID, raw: c}
	for i, s := range doc.Statement {
		if s.Effect != "Allow" && s.Effect != "Deny" {
			return nil, fmt.Errorf("%w: Statement[%d].Effect %q is neither Allow nor Deny", errMalformed, i, s.Effect)
		}
		if len(s.Action) == 0 || len(s.Resource) == 0 {
			return nil, fmt.Errorf("%w: Statement[%d] needs Action and Resource", errMalformed, i)
		}
		v.policy = append(v.policy, statement{allow: s.Effect == "Allow", actions: s.Action, resources: s.Resource})
	}
	ctx, err := renderContext(c, primitivesOnly)
	if err != nil {
		return nil, err
	}
	v.context = ctx
	v.context["principalId"] = principalID
	return v, nil
}

// renderContext turns context values into the text $context.authorizer.KEY maps. REST APIs
// accept only strings, numbers and booleans; an object or array there is a malformed response.
func renderContext(c map[string]any, primitivesOnly bool) (map[string]string, error) {
	out := make(map[string]string, len(c))
	for k, v := range c {
		switch x := v.(type) {
		case string:
			out[k] = x
		case bool:
			out[k] = strconv.FormatBool(x)
		case nil:
			out[k] = ""
		case float64, float32, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, json.Number:
			out[k] = fmt.Sprint(x)
		default:
			if primitivesOnly {
				return nil, fmt.Errorf("%w: context value %q is a %T; REST API authorizer context values must be strings, numbers or booleans (encode lists as JSON strings)", errMalformed, k, v)
			}
			b, err := json.Marshal(v)
			if err != nil {
				return nil, fmt.Errorf("%w: context value %q: %v", errMalformed, k, err)
			}
			out[k] = string(b)
		}
	}
	return out, nil
}

// callAuthorizer runs impl for one request within the authorizer timeout, returning its
// verdict. A function that ignores its context cannot hold the request: the gateway stops
// waiting at the timeout, and g.calls keeps count of the call until it returns.
func (g *Gateway) callAuthorizer(ctx context.Context, kind authorizerKind, impl Authorizer, ev any) (*verdict, error) {
	ctx, cancel := context.WithTimeout(ctx, g.authorizerTimeout)
	defer cancel()
	type answer struct {
		v   *verdict
		err error
	}
	ch := make(chan answer, 1)
	g.calls.add()
	go func() {
		defer g.calls.done()
		defer func() {
			if r := recover(); r != nil {
				ch <- answer{err: fmt.Errorf("authorizer panicked: %v", r)}
			}
		}()
		v, err := invokeKind(ctx, kind, impl, ev)
		ch <- answer{v, err}
	}()
	select {
	case a := <-ch:
		return a.v, a.err
	case <-ctx.Done():
		return nil, fmt.Errorf("authorizer did not answer within %s: %w", g.authorizerTimeout, ctx.Err())
	}
}

// callCounter counts the authorizer calls still running, so that Close can wait for them.
type callCounter struct {
	mu   sync.Mutex
	n    int
	idle chan struct{} // made by wait, closed when n comes down to zero
}

func (c *callCounter) add() {
	c.mu.Lock()
	c.n++
	c.mu.Unlock()
}

func (c *callCounter) done() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n--; c.n == 0 && c.idle != nil {
		close(c.idle)
		c.idle = nil
	}
}

// wait waits up to d for every call to return, and returns how many are still running.
func (c *callCounter) wait(d time.Duration) int {
	c.mu.Lock()
	if c.n == 0 {
		c.mu.Unlock()
		return 0
	}
	if c.idle == nil {
		c.idle = make(chan struct{})
	}
	idle := c.idle
	c.mu.Unlock()
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-idle:
		return 0
	case <-timer.C:
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

func invokeKind(ctx context.Context, kind authorizerKind, impl Authorizer, ev any) (*verdict, error) {
	if l, ok := impl.(*LambdaInvoker); ok {
		switch kind {
		case kindHTTPSimple:
			impl = HTTPAPIAuthorizer(l.HTTPAPI)
		case kindHTTPPolicy:
			impl = HTTPAPIPolicyAuthorizer(l.HTTPAPIPolicy)
		case kindRESTRequest:
			impl = RESTAuthorizer(l.REST)
		default:
			impl = TokenAuthorizer(l.Token)
		}
	}
	switch f := impl.(type) {
	case HTTPAPIAuthorizer:
		r, err := f(ctx, ev.(events.APIGatewayV2CustomAuthorizerV2Request))
		if err != nil {
			return nil, err
		}
		return simpleVerdict(r)
	case HTTPAPIPolicyAuthorizer:
		r, err := f(ctx, ev.(events.APIGatewayV2CustomAuthorizerV2Request))
		if err != nil {
			return nil, err
		}
		return policyVerdict(r.PrincipalID, r.PolicyDocument, r.Context, false)
	case RESTAuthorizer:
		r, err := f(ctx, ev.(events.APIGatewayCustomAuthorizerRequestTypeRequest))
		if err != nil {
			return nil, err
		}
		return policyVerdict(r.PrincipalID, r.PolicyDocument, r.Context, true)
	case TokenAuthorizer:
		r, err := f(ctx, ev.(events.APIGatewayCustomAuthorizerRequest))
		if err != nil {
			return nil, err
		}
		return policyVerdict(r.PrincipalID, r.PolicyDocument, r.Context, true)
	}
	return nil, fmt.Errorf("no authorizer implementation for %s", kind)
}

// isUnauthorized reports whether a REST authorizer failed with exactly "Unauthorized", which API
// Gateway answers with 401 rather than 500.
func isUnauthorized(err error) bool {
	return err != nil && err.Error() == "Unauthorized"
}
