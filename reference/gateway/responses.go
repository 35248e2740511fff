package gateway

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// Gateway response types of REST APIs (supported-gateway-response-types).
const (
	ResponseUnauthorized          = "UNAUTHORIZED"
	ResponseAccessDenied          = "ACCESS_DENIED"
	ResponseAuthorizerFailure     = "AUTHORIZER_FAILURE"
	ResponseAuthorizerConfigError = "AUTHORIZER_CONFIGURATION_ERROR"
	ResponseMissingAuthToken      = "MISSING_AUTHENTICATION_TOKEN"
	ResponseIntegrationFailure    = "INTEGRATION_FAILURE"
	ResponseIntegrationTimeout    = "INTEGRATION_TIMEOUT"
	ResponseRequestTooLarge       = "REQUEST_TOO_LARGE"
	ResponseDefault4XX            = "DEFAULT_4XX"
	ResponseDefault5XX            = "DEFAULT_5XX"
)

// failure is one way a request ends at the gateway, with how each API type answers it.
type failure struct {
	responseType string // the REST gateway response type
	restStatus   int
	restMessage  string // "" renders as null
	errorType    string // REST x-amzn-ErrorType
	httpStatus   int    // HTTP APIs: fixed status and message, no customization
	httpMessage  string
}

var (
	failNoIdentity   = failure{ResponseUnauthorized, 401, "Unauthorized", "UnauthorizedException", 401, "Unauthorized"}
	failUnauthorized = failNoIdentity
	failDenyExplicit = failure{ResponseAccessDenied, 403, "User is not authorized to access this resource with an explicit deny", "AccessDeniedException", 403, "Forbidden"}
	failDenyImplicit = failure{ResponseAccessDenied, 403, "User is not authorized to access this resource", "AccessDeniedException", 403, "Forbidden"}
	failAuthorizer   = failure{ResponseAuthorizerConfigError, 500, "", "AuthorizerConfigurationException", 500, "Internal Server Error"}
	failMalformed    = failure{ResponseAuthorizerFailure, 500, "", "AuthorizerFailureException", 500, "Internal Server Error"}
	failNoRoute      = failure{ResponseMissingAuthToken, 403, "Missing Authentication Token", "MissingAuthenticationTokenException", 404, "Not Found"}
	failIntegration  = failure{ResponseIntegrationFailure, 504, "Internal server error", "InternalServerErrorException", 500, "Internal Server Error"}
	failTimeout      = failure{ResponseIntegrationTimeout, 504, "Endpoint request timed out", "IntegrationTimeoutException", 503, "Service Unavailable"}
	failTooLarge     = failure{ResponseRequestTooLarge, 413, "Request Too Long", "RequestTooLargeException", 413, "Request Entity Too Large"}
)

var responseTypes = map[string]bool{ResponseUnauthorized: true, ResponseAccessDenied: true, ResponseAuthorizerFailure: true,
	ResponseAuthorizerConfigError: true, ResponseMissingAuthToken: true, ResponseIntegrationFailure: true,
	ResponseIntegrationTimeout: true, ResponseRequestTooLarge: true, ResponseDefault4XX: true, ResponseDefault5XX: true}

const defaultResponseTemplate = `{"message":$context.error.messageString}`

func compileResponses(a *api, p *problems, c *Config) {
	if len(c.GatewayResponses) > 0 && c.Type == HTTPAPI {
		p.addf("gatewayResponses", "HTTP APIs have no gateway responses: their 401/403/500 bodies and headers cannot be changed (use rest-api)")
		return
	}
	for i, gr := range c.GatewayResponses {
		path := fmt.Sprintf("gatewayResponses[%d]", i)
		if !responseTypes[gr.ResponseType] {
			p.addf(path+".responseType", "%q: must be one of %s", gr.ResponseType, names(responseTypes))
			continue
		}
		if _, dup := a.responses[gr.ResponseType]; dup {
			p.addf(path+".responseType", "%s is declared twice", gr.ResponseType)
		}
		if gr.StatusCode != 0 && (gr.StatusCode < 100 || gr.StatusCode > 599) {
			p.addf(path+".statusCode", "%d: must be an HTTP status code", gr.StatusCode)
		}
		for _, k := range sortedKeys(gr.ResponseParameters) {
			kp := fmt.Sprintf("%s.responseParameters[%q]", path, k)
			name, ok := strings.CutPrefix(k, "gatewayresponse.header.")
			if !ok || !validHeaderName(name) {
				p.addf(kp, "want gatewayresponse.header.NAME")
				continue
			}
			if _, err := parseRESTValue(gr.ResponseParameters[k]); err != nil {
				p.addf(kp, "%v", err)
			}
		}
		for ct := range gr.ResponseTemplates {
			if !strings.Contains(ct, "/") {
				p.addf(fmt.Sprintf("%s.responseTemplates[%q]", path, ct), "want a content type such as application/json")
			}
		}
		a.responses[gr.ResponseType] = gr
	}
}

// writeFailure answers a request that ends at the gateway.
func (x *exchange) writeFailure(w http.ResponseWriter, f failure) {
	x.errorType, x.errorMessage = f.responseType, f.restMessage
	h := w.Header()
	h.Set("Content-Type", "application/json")
	if x.g.api.typ == HTTPAPI {
		x.errorMessage = f.httpMessage
		body, _ := json.Marshal(map[string]string{"message": f.httpMessage})
		x.status = f.httpStatus
		w.WriteHeader(f.httpStatus)
		n, _ := w.Write(body)
		x.responseLength = int64(n)
		return
	}
	h.Set("X-Amzn-Errortype", f.errorType)
	status := f.restStatus
	class := ResponseDefault4XX
	if status >= 500 {
		class = ResponseDefault5XX
	}
	specific, hasSpecific := x.g.api.responses[f.responseType]
	fallback, hasFallback := x.g.api.responses[class]
	tmpl, contentType := defaultResponseTemplate, "application/json"
	for _, gr := range []struct {
		c  GatewayResponseConfig
		ok bool
	}{{fallback, hasFallback}, {specific, hasSpecific}} {
		if !gr.ok {
			continue
		}
		if gr.c.StatusCode != 0 {
			status = gr.c.StatusCode
		}
		for _, k := range sortedKeys(gr.c.ResponseParameters) {
			t, _ := parseRESTValue(x.g.subst.expand(gr.c.ResponseParameters[k]))
			// A value mapped from what the request lacks (method.request.header.Origin of a
			// request without Origin) sends no header.
			if v := t.eval(x); v != "" {
				h.Set(strings.TrimPrefix(k, "gatewayresponse.header."), v)
			}
		}
		if t, ok := gr.c.ResponseTemplates["application/json"]; ok {
			tmpl, contentType = t, "application/json"
		} else if len(gr.c.ResponseTemplates) > 0 {
			ct := sortedKeys(gr.c.ResponseTemplates)[0]
			tmpl, contentType = gr.c.ResponseTemplates[ct], ct
		}
	}
	h.Set("Content-Type", contentType)
	body := x.renderErrorTemplate(x.g.subst.expand(tmpl), f)
	x.status = status
	w.WriteHeader(status)
	n, _ := w.Write([]byte(body))
	x.responseLength = int64(n)
}

// renderErrorTemplate fills a gateway response template's $context variables.
func (x *exchange) renderErrorTemplate(tmpl string, f failure) string {
	messageString := "null"
	if f.restMessage != "" {
		messageString = strconv.Quote(f.restMessage)
		if b, err := json.Marshal(f.restMessage); err == nil {
			messageString = string(b)
		}
	}
	r := strings.NewReplacer(
		"$context.error.messageString", messageString,
		"$context.error.message", f.restMessage,
		"$context.error.responseType", f.responseType,
		"$context.requestId", x.requestID,
		"$context.stage", x.g.api.stage,
		"$context.apiId", x.g.apiID,
	)
	return r.Replace(tmpl)
}
