package awsemu

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/awserr"
	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/cloudtrail"
	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/iam"
	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/query"
	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/s3"
	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/sigv4"
	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/sts"
)

// Health paths: the emulator's own, and LocalStack's so existing wait scripts work.
const (
	HealthPath           = "/_mcpsso/health"
	LocalStackHealthPath = "/_localstack/health"
)

// ServeHTTP authenticates, routes by the SigV4 credential scope's service, and records.
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	requestID := awserr.NewRequestID()
	if r.URL.Path == HealthPath || r.URL.Path == LocalStackHealthPath {
		e.health(w)
		return
	}
	if sigv4.IsSigV2Query(r) {
		e.serveSigV2(w, r, requestID)
		return
	}
	service := "sts" // wording for requests without a scope: the Query services' error shape
	sc, scopeErr := sigv4.ParseScope(r)
	switch {
	case scopeErr == nil:
		service = sc.Service
	case sigv4.IsAnonymous(scopeErr) && !isQueryRequest(r):
		// Unsigned and not a Query API call: an anonymous S3 request, which the bucket policy
		// alone may allow.
		e.serveS3(w, r, iam.NewCall(r, requestID, DefaultRegion, e.now()), nil)
		return
	}
	switch service {
	case "sts", "iam", "cloudtrail", "s3":
	default:
		e.writeError(w, r, "sts", requestID, awserr.New(http.StatusBadRequest, "InvalidAction",
			"the mcpsso emulator does not serve the %q service (it serves sts, iam, s3 and cloudtrail)", service))
		return
	}
	res, err := e.verifier.Verify(r)
	if err == nil && (service == "iam" || service == "s3") {
		// IAM is global and the emulator's S3 has one region: both are scoped to us-east-1.
		err = res.CheckScope(service, DefaultRegion)
	}
	if err != nil {
		var se *sigv4.Error
		if errors.As(err, &se) {
			se = se.ForService(service)
			e.log.Info("aws request rejected", "request_id", requestID, "service", service, "decision", "deny",
				"error_code", se.Code, "reason", se.Message, "source_ip", iam.SourceIP(r))
			if service == "s3" {
				extra := map[string]string{}
				for _, f := range se.Fields {
					extra[f.Name] = f.Value
				}
				s3.WriteSigV4Error(w, r, requestID, se.StatusCode, se.Code, se.Message, extra)
				return
			}
			e.writeError(w, r, service, requestID, &awserr.Error{Code: se.Code, Message: se.Message, Status: se.StatusCode})
			return
		}
		e.writeError(w, r, service, requestID, awserr.As(err))
		return
	}
	caller, err := e.store.Caller(res.AccessKeyID)
	if err != nil {
		e.writeError(w, r, service, requestID, awserr.As(err))
		return
	}
	call := iam.NewCall(r, requestID, res.Region, e.now())
	call.Caller = caller
	switch service {
	case "cloudtrail":
		e.serveCloudTrail(w, r, call)
	case "s3":
		e.serveS3(w, r, call, res)
	default:
		e.serveQuery(w, r, service, call)
	}
}

// isQueryRequest reports whether r is a Query-protocol call (STS, IAM): Action in the query
// string or in a form body. It reads no body: the form content type is enough to tell.
func isQueryRequest(r *http.Request) bool {
	if r.URL.Query().Has("Action") {
		return true
	}
	return r.Method == http.MethodPost && strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded")
}

// serveS3 lets the S3 handler answer, then records the request: data events for object
// operations, management events for bucket operations.
func (e *Emulator) serveS3(w http.ResponseWriter, r *http.Request, call *iam.Call, res *sigv4.Result) {
	out := e.s3.Serve(w, r, call, res)
	call.Decision = out.Decision
	ev := cloudtrail.Event{
		UserIdentity: call.Caller.UserIdentity(), EventTime: call.Time, EventSource: "s3.amazonaws.com",
		EventName: out.Operation, AWSRegion: call.Region, SourceIPAddress: call.SourceIP, UserAgent: call.UserAgent,
		RequestID: call.RequestID, ReadOnly: out.ReadOnly, Resources: out.Resources, RequestParameters: out.RequestParameters,
		ErrorCode: out.ErrorCode, ErrorMessage: out.ErrorMessage, RecipientAccountID: out.BucketOwner,
		EventCategory: cloudtrail.CategoryManagement, ManagementEvent: true,
	}
	if out.Data {
		ev.EventCategory, ev.ManagementEvent = cloudtrail.CategoryData, false
	}
	if ev.RecipientAccountID == "" && call.Caller != nil {
		ev.RecipientAccountID = call.Caller.Account
	}
	if err := e.trail.Add(ev); err != nil {
		e.log.Error("cloudtrail record failed", "request_id", call.RequestID, "error", err.Error())
	}
	var callErr error
	if out.ErrorCode != "" {
		callErr = &awserr.Error{Code: out.ErrorCode, Message: out.ErrorMessage, Status: out.Status}
	}
	e.logDecision("s3", out.Operation, call, callErr)
}

func (e *Emulator) serveQuery(w http.ResponseWriter, r *http.Request, service string, call *iam.Call) {
	params, err := query.Parse(r)
	if err != nil {
		e.writeError(w, r, service, call.RequestID, awserr.As(err))
		return
	}
	call.Params = params
	var result any
	xmlns := sts.XMLNS
	switch service {
	case "sts":
		result, err = e.sts.Serve(call)
	case "iam":
		xmlns = iam.XMLNS
		result, err = e.iam.Serve(call)
	}
	e.record(service, params.Action, call, err)
	if err != nil {
		query.WriteError(w, xmlns, call.RequestID, awserr.As(err))
		return
	}
	query.WriteResult(w, params.Action, xmlns, call.RequestID, result)
}

// serveCloudTrail authorizes cloudtrail:LookupEvents, then lets the CloudTrail handler answer.
// Lookups are not themselves recorded, so reading the trail does not change it.
func (e *Emulator) serveCloudTrail(w http.ResponseWriter, r *http.Request, call *iam.Call) {
	op, ok := cloudtrail.OperationOf(r.Header.Get("X-Amz-Target"))
	if !ok {
		e.writeError(w, r, "cloudtrail", call.RequestID, awserr.New(http.StatusBadRequest, "UnknownOperationException", "unknown X-Amz-Target %q", r.Header.Get("X-Amz-Target")))
		return
	}
	if err := call.Authorize(e.store, call.Request("cloudtrail:"+op, "*"), nil, ""); err != nil {
		e.logDecision("cloudtrail", op, call, err)
		e.writeError(w, r, "cloudtrail", call.RequestID, awserr.As(err))
		return
	}
	e.lookup.ServeHTTP(w, r)
}

// writeError renders an error in the service's protocol: Query XML, JSON 1.1 or S3 XML.
func (e *Emulator) writeError(w http.ResponseWriter, r *http.Request, service, requestID string, ae *awserr.Error) {
	switch service {
	case "s3":
		s3.WriteSigV4Error(w, r, requestID, ae.Status, ae.Code, ae.Message, nil)
		return
	case "cloudtrail":
		cloudtrail.WriteJSONError(w, requestID, ae.Status, ae.Code, ae.Message)
		return
	}
	xmlns := sts.XMLNS
	if service == "iam" {
		xmlns = iam.XMLNS
	}
	query.WriteError(w, xmlns, requestID, ae)
}

// record writes the CloudTrail event and the decision log line of one service call.
func (e *Emulator) record(service, action string, call *iam.Call, callErr error) {
	ev := cloudtrail.Event{
		UserIdentity: call.Caller.UserIdentity(), EventTime: call.Time, EventSource: service + ".amazonaws.com",
		EventName: action, AWSRegion: call.Region, SourceIPAddress: call.SourceIP, UserAgent: call.UserAgent,
		RequestID: call.RequestID, ReadOnly: call.Trail.ReadOnly, Resources: call.Trail.Resources,
		RequestParameters: call.Trail.RequestParameters, RecipientAccountID: call.Caller.Account,
		EventCategory: cloudtrail.CategoryManagement, ManagementEvent: true,
	}
	if callErr != nil {
		ae := awserr.As(callErr)
		ev.ErrorCode, ev.ErrorMessage = ae.Code, ae.Message
	} else {
		ev.ResponseElements = call.Trail.ResponseElements
	}
	// The event and what it holds were made for this request: the trail takes them as they are.
	if err := e.trail.AddOwned(ev); err != nil {
		e.log.Error("cloudtrail record failed", "request_id", call.RequestID, "error", err.Error())
	}
	e.logDecision(service, action, call, callErr)
}

// logDecision writes the decision log line of one service call. Every request passes here, so
// the line is built only when the level is on, from attributes in a stack array, and the
// record is made here rather than by LogAttrs, with its call site taken once.
func (e *Emulator) logDecision(service, action string, call *iam.Call, callErr error) {
	ctx := context.Background()
	if !e.log.Enabled(ctx, slog.LevelInfo) {
		return
	}
	caller, account := "anonymous", ""
	if call.Caller != nil {
		caller, account = call.Caller.ARN, call.Caller.Account
	}
	var buf [11]slog.Attr
	attrs := append(buf[:0], slog.String("request_id", call.RequestID), slog.String("service", service), slog.String("action", action),
		slog.String("caller", caller), slog.String("account", account), slog.String("source_ip", call.SourceIP))
	if call.Caller != nil && call.Caller.Session != nil && call.Caller.Session.SourceIdentity != "" {
		attrs = append(attrs, slog.String("source_identity", call.Caller.Session.SourceIdentity))
	}
	if callErr != nil {
		ae := awserr.As(callErr)
		attrs = append(attrs, slog.String("decision", "deny"), slog.String("error_code", ae.Code))
	} else {
		attrs = append(attrs, slog.String("decision", "allow"))
	}
	if d := call.Decision; d != nil {
		attrs = append(attrs, slog.String("policy_decision", string(d.Decision)), slog.String("reason", d.Reason))
	}
	r := slog.NewRecord(time.Now(), slog.LevelInfo, "aws request", decisionSite.get())
	r.AddAttrs(attrs...)
	_ = e.log.Handler().Handle(ctx, r) // as LogAttrs does
}

var decisionSite logSite

func (e *Emulator) health(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"status":   "running",
		"edition":  "mcpsso",
		"services": map[string]string{"sts": "running", "iam": "running", "s3": "running", "cloudtrail": "running"},
		"accounts": e.store.Accounts(),
	})
}
