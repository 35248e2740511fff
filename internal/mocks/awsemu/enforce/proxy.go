package enforce

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/awserr"
	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/cloudtrail"
	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/iam"
	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/iampolicy"
	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/query"
	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/s3"
	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/sigv4"
	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/sts"
)

var adminPolicy = iampolicy.MustParse(iampolicy.IdentityPolicy, "AdministratorAccess",
	`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`)

// ServeHTTP verifies the signature, resolves the caller, authorizes, relays and records.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	requestID := awserr.NewRequestID()
	sc, err := sigv4.ParseScope(r)
	if err != nil {
		// Anonymous requests (and unparsable scopes) are not relayed: fail closed.
		p.writeError(w, r, "sts", requestID, awserr.New(http.StatusForbidden, "AccessDenied",
			"the enforcing proxy relays only SigV4-signed requests: %v", err))
		return
	}
	service := sc.Service
	if _, err := url.ParseQuery(r.URL.RawQuery); err != nil {
		// Go drops a malformed pair ("acl=%zz"), so it is neither signed nor classified here,
		// yet a Python upstream keeps it (?acl): what the proxy cannot read whole it does not
		// relay.
		code := "MalformedQueryString"
		if service == "s3" {
			code = "InvalidArgument"
		}
		p.writeError(w, r, service, requestID, awserr.New(http.StatusBadRequest, code, "the query string is malformed: %v", err))
		return
	}
	res, err := p.verifier.Verify(r)
	if err != nil {
		var se *sigv4.Error
		if errors.As(err, &se) {
			se = se.ForService(service)
			p.log.Info("aws request rejected", "request_id", requestID, "service", service, "decision", "deny", "error_code", se.Code, "reason", se.Message)
			p.writeError(w, r, service, requestID, &awserr.Error{Code: se.Code, Message: se.Message, Status: se.StatusCode})
			return
		}
		p.writeError(w, r, service, requestID, awserr.As(err))
		return
	}
	call := iam.NewCall(r, requestID, res.Region, p.now())
	if call.Caller, err = p.caller(r.Context(), res.AccessKeyID); err != nil {
		p.writeError(w, r, service, requestID, awserr.As(err))
		return
	}
	switch service {
	case "s3":
		p.serveS3(w, r, call)
	case "sts", "iam":
		p.serveQuery(w, r, service, call)
	case "cloudtrail":
		p.serveCloudTrail(w, r, call)
	default:
		p.serveOther(w, r, service, call)
	}
}

// caller resolves a verified access key: the admin, or a learned session with its role as
// the upstream has it now (nil when deleted: no permissions, as in IAM).
func (p *Proxy) caller(ctx context.Context, id string) (*iam.Caller, error) {
	if id == p.cfg.adminKey {
		a := p.cfg.account
		return &iam.Caller{Kind: iam.CallerUser, AccessKeyID: id, Account: a, ARN: p.cfg.adminARN, UserID: id,
			User: &iam.User{Account: a, Name: "admin", ARN: p.cfg.adminARN, ID: id, Inline: map[string]*iampolicy.Policy{"AdministratorAccess": adminPolicy}}}, nil
	}
	p.mu.Lock()
	sp, ok := p.sessions[id]
	var sess iam.Session
	if ok {
		sess = *sp
	}
	p.mu.Unlock()
	if !ok {
		return nil, awserr.New(http.StatusForbidden, "InvalidClientTokenId", "The security token included in the request is invalid.")
	}
	role, err := p.roleByARN(ctx, sess.RoleARN)
	if err != nil {
		return nil, err
	}
	return &iam.Caller{Kind: iam.CallerSession, AccessKeyID: id, Account: sess.Account, ARN: sess.ARN(), UserID: sess.UserID(), Session: &sess, Role: role}, nil
}

// serveQuery handles STS and IAM (Query protocol). AssumeRole and GetCallerIdentity are
// handled as STS does; every other action needs "<service>:<Action>" on "*" in the caller's
// identity policies (conservative: a grant on a narrower resource does not count).
func (p *Proxy) serveQuery(w http.ResponseWriter, r *http.Request, service string, call *iam.Call) {
	body, err := io.ReadAll(io.LimitReader(r.Body, query.MaxBody+1))
	if err != nil {
		p.writeError(w, r, service, call.RequestID, awserr.New(http.StatusBadRequest, "MalformedQueryString", "could not read the request body: %v", err))
		return
	}
	if err := checkQueryShape(r, body); err != nil {
		p.writeError(w, r, service, call.RequestID, err)
		return
	}
	pr := r.Clone(r.Context())
	pr.Body = io.NopCloser(bytes.NewReader(body))
	params, err := query.Parse(pr)
	if err != nil {
		p.writeError(w, r, service, call.RequestID, awserr.As(err))
		return
	}
	call.Params = params
	switch {
	case service == "sts" && params.Action == "AssumeRole":
		p.assumeRole(w, r, body, call)
		return
	case service == "sts" && params.Action == "GetCallerIdentity":
		call.Trail.ReadOnly = true // needs no permission, as on AWS
	case service == "sts" && strings.EqualFold(params.Action, "GetCallerIdentity"):
		// Query action names are case-sensitive: AWS answers another spelling InvalidAction.
		// The policy engine matches action names as policies do, ignoring case, so this
		// spelling would pass as the one action that needs no permission and reach an upstream
		// that may run it as something else.
		p.writeError(w, r, service, call.RequestID, awserr.New(http.StatusBadRequest, "InvalidAction",
			"Could not find operation %s for version %s", params.Action, sts.APIVersion))
		return
	case service == "iam" && params.Action == "SimulatePrincipalPolicy":
		// Authorized by the IAM handler it runs, like every simulation in the emulator.
		if p.simulatePrincipalPolicy(w, r, call) {
			return
		}
		if err := call.Authorize(p.store, call.Request("iam:SimulatePrincipalPolicy", "*"), nil, ""); err != nil {
			p.deny(w, r, service, params.Action, call, err)
			return
		}
	default:
		call.Trail.ReadOnly = strings.HasPrefix(params.Action, "Get") || strings.HasPrefix(params.Action, "List")
		if err := call.Authorize(p.store, call.Request(service+":"+params.Action, "*"), nil, ""); err != nil {
			p.deny(w, r, service, params.Action, call, err)
			return
		}
	}
	status, _, errCode, errMsg := p.relay(w, r, body, true)
	if service == "iam" && status < 300 && !call.Trail.ReadOnly {
		p.invalidateRoles()
	}
	p.record(service, params.Action, call, errCode, errMsg, nil)
}

// checkQueryShape refuses a Query request that the upstream could read otherwise than the
// proxy, which authorizes what query.Parse reads: the form body of a POST together with the
// URL's parameters, or the URL's parameters of a GET. moto_server reads the body as a form
// whenever the Content-Type says form (whatever the method), else the URL's parameters, else
// the body; and it takes the action from X-Amz-Target when those hold no Action. A request
// shaped unlike the SDKs' could so be authorized as one action
// (GetRole) and run as another (PutRolePolicy, AssumeRole). The SDKs send a form POST with no
// URL parameters but presigning's, or a GET without a body, and no X-Amz-Target.
func checkQueryShape(r *http.Request, body []byte) *awserr.Error {
	refuse := func(why string) *awserr.Error {
		return awserr.New(http.StatusBadRequest, "InvalidRequest", "the enforcing proxy relays only Query requests shaped as the AWS SDKs send them: %s", why)
	}
	if r.Header.Get("X-Amz-Target") != "" {
		return refuse("X-Amz-Target names a JSON-protocol operation")
	}
	switch r.Method {
	case http.MethodPost:
		if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/x-www-form-urlencoded" {
			return refuse("a POST must have Content-Type application/x-www-form-urlencoded")
		}
		for k := range r.URL.Query() {
			if !strings.HasPrefix(k, "X-Amz-") {
				return refuse("a POST carries its parameters in the body, not in the URL (" + k + ")")
			}
		}
	case http.MethodGet:
		if len(body) > 0 {
			return refuse("a GET carries its parameters in the URL, not in a body")
		}
	}
	return nil
}

// serveOther relays services the proxy does not model (JSON protocol: X-Amz-Target names
// the action) when the caller's identity policies allow "<service>:<action>" on "*".
func (p *Proxy) serveOther(w http.ResponseWriter, r *http.Request, service string, call *iam.Call) {
	action := r.Header.Get("X-Amz-Target")
	if i := strings.LastIndexByte(action, '.'); i >= 0 {
		action = action[i+1:]
	}
	if action == "" {
		action = "*" // unknown: only an allow-all identity passes
	}
	if err := call.Authorize(p.store, call.Request(service+":"+action, "*"), nil, ""); err != nil {
		p.deny(w, r, service, action, call, err)
		return
	}
	_, _, code, msg := p.relay(w, r, nil, false)
	p.record(service, action, call, code, msg, nil)
}

// serveCloudTrail answers LookupEvents from the proxy's records once cloudtrail:LookupEvents is
// authorized; other CloudTrail operations are relayed like any other service. Lookups are not
// recorded, so reading the trail does not change it (as in the emulator).
func (p *Proxy) serveCloudTrail(w http.ResponseWriter, r *http.Request, call *iam.Call) {
	op, ok := cloudtrail.OperationOf(r.Header.Get("X-Amz-Target"))
	if !ok || op != "LookupEvents" {
		p.serveOther(w, r, "cloudtrail", call)
		return
	}
	if err := call.Authorize(p.store, call.Request("cloudtrail:"+op, "*"), nil, ""); err != nil {
		p.deny(w, r, "cloudtrail", op, call, err)
		return
	}
	p.lookup.ServeHTTP(w, r)
}

func (p *Proxy) deny(w http.ResponseWriter, r *http.Request, service, action string, call *iam.Call, err error) {
	ae := awserr.As(err)
	p.record(service, action, call, ae.Code, ae.Message, nil)
	p.writeError(w, r, service, call.RequestID, ae)
}

var hopByHop = []string{"Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization", "Proxy-Connection",
	"Te", "Trailer", "Transfer-Encoding", "Upgrade"}

var codeRe = regexp.MustCompile(`<Code>([^<]*)</Code>(?s:.*?)(?:<Message>([^<]*)</Message>)?`)

// relay sends r as it is (upstreams that enforce nothing ignore the signature) with body (nil:
// r.Body, streamed) and writes the upstream's answer to w. With capture it returns the
// response body too; error bodies are always read to name the error in the record.
func (p *Proxy) relay(w http.ResponseWriter, r *http.Request, body []byte, capture bool) (status int, resp []byte, errCode, errMsg string) {
	return p.relayRewriting(w, r, body, capture, nil)
}

// relayRewriting is relay, with a successful captured answer passed through rewrite before it
// is written (the proxy corrects what the upstream gets wrong).
func (p *Proxy) relayRewriting(w http.ResponseWriter, r *http.Request, body []byte, capture bool, rewrite func([]byte) []byte) (status int, resp []byte, errCode, errMsg string) {
	u := *p.upstream
	u.Path = p.upstream.Path + r.URL.Path
	u.RawPath = ""
	if r.URL.RawPath != "" {
		u.RawPath = p.upstream.Path + r.URL.RawPath
	}
	u.RawQuery = r.URL.RawQuery
	var rd io.Reader = r.Body
	n := r.ContentLength
	if body != nil {
		rd, n = bytes.NewReader(body), int64(len(body))
	}
	out, err := http.NewRequestWithContext(r.Context(), r.Method, u.String(), rd)
	if err != nil {
		return p.relayFailed(w, r, err)
	}
	out.Header = r.Header.Clone()
	for _, h := range hopByHop {
		out.Header.Del(h)
	}
	out.ContentLength = n
	if n == 0 {
		out.Body = http.NoBody
	}
	res, err := p.cfg.client.Do(out)
	if err != nil {
		return p.relayFailed(w, r, err)
	}
	defer res.Body.Close()
	for k, vs := range res.Header {
		w.Header()[k] = vs
	}
	for _, h := range hopByHop {
		w.Header().Del(h)
	}
	if capture || res.StatusCode >= 300 {
		resp, _ = io.ReadAll(io.LimitReader(res.Body, 8<<20))
		if rewrite != nil && res.StatusCode < 300 {
			resp = rewrite(resp)
		}
		w.Header().Set("Content-Length", fmt.Sprint(len(resp)))
		w.WriteHeader(res.StatusCode)
		_, _ = w.Write(resp)
		if res.StatusCode >= 300 {
			if m := codeRe.FindSubmatch(resp); m != nil {
				errCode, errMsg = string(m[1]), string(m[2])
			} else if res.StatusCode >= 400 {
				errCode = http.StatusText(res.StatusCode)
			}
		}
		return res.StatusCode, resp, errCode, errMsg
	}
	w.WriteHeader(res.StatusCode)
	_, _ = io.Copy(w, res.Body)
	return res.StatusCode, nil, "", ""
}

func (p *Proxy) relayFailed(w http.ResponseWriter, r *http.Request, err error) (int, []byte, string, string) {
	p.log.Error("upstream unreachable", "error", err.Error())
	svc := "sts"
	if sc, e := sigv4.ParseScope(r); e == nil {
		svc = sc.Service
	}
	ae := awserr.New(http.StatusBadGateway, "ServiceUnavailable", "the upstream did not answer: %v", err)
	p.writeError(w, r, svc, "", ae)
	return ae.Status, nil, ae.Code, ae.Message
}

// writeError renders an error as the service does: S3's REST XML or the Query XML.
func (p *Proxy) writeError(w http.ResponseWriter, r *http.Request, service, requestID string, ae *awserr.Error) {
	if requestID == "" {
		requestID = awserr.NewRequestID()
	}
	switch {
	case service == "s3":
		s3.WriteError(w, r, requestID, ae.Status, ae.Code, ae.Message)
	case r.Header.Get("X-Amz-Target") != "": // a JSON 1.1 service: CloudTrail and the others
		cloudtrail.WriteJSONError(w, requestID, ae.Status, ae.Code, ae.Message)
	case service == "iam":
		query.WriteError(w, iam.XMLNS, requestID, ae)
	default:
		query.WriteError(w, sts.XMLNS, requestID, ae)
	}
}

// record writes the CloudTrail record and the decision log line of one request.
func (p *Proxy) record(service, action string, call *iam.Call, errCode, errMsg string, s3op *s3.Operation) {
	ev := cloudtrail.Event{
		UserIdentity: call.Caller.UserIdentity(), EventTime: call.Time, EventSource: service + ".amazonaws.com",
		EventName: action, AWSRegion: call.Region, SourceIPAddress: call.SourceIP, UserAgent: call.UserAgent,
		RequestID: call.RequestID, ReadOnly: call.Trail.ReadOnly, Resources: call.Trail.Resources,
		RequestParameters: call.Trail.RequestParameters, RecipientAccountID: p.cfg.account,
		EventCategory: cloudtrail.CategoryManagement, ManagementEvent: true, ErrorCode: errCode, ErrorMessage: errMsg,
	}
	if errCode == "" {
		ev.ResponseElements = call.Trail.ResponseElements
	}
	if s3op != nil && s3op.Data {
		ev.EventCategory, ev.ManagementEvent = cloudtrail.CategoryData, false
	}
	if err := p.trail.Add(ev); err != nil {
		p.log.Error("cloudtrail record failed", "request_id", call.RequestID, "error", err.Error())
	}
	attrs := []any{"request_id", call.RequestID, "service", service, "action", action, "caller", call.Caller.ARN, "source_ip", call.SourceIP}
	if s := call.Caller.Session; s != nil && s.SourceIdentity != "" {
		attrs = append(attrs, "source_identity", s.SourceIdentity)
	}
	if errCode != "" {
		attrs = append(attrs, "decision", "deny", "error_code", errCode)
	} else {
		attrs = append(attrs, "decision", "allow")
	}
	if d := call.Decision; d != nil {
		attrs = append(attrs, "policy_decision", string(d.Decision), "reason", d.Reason)
	}
	p.log.Info("aws request", attrs...)
}
