// Package gateway emulates Amazon API Gateway in front of an MCP server: an HTTP API (faithful
// to AWS, including what it cannot do) or a REST API, each with a Lambda authorizer, an
// authorizer result cache, integration request parameter mapping and a streaming reverse proxy
// to the integration (the NLB), configured in YAML that mirrors the AWS resources.
//
// The authorizer is either Go code in the same process (HTTPAPIAuthorizer, RESTAuthorizer, ...,
// plain functions over the aws-lambda-go event types, so callers plug in an authorizer without
// this package importing it) or any Lambda function reached through the Lambda Invoke API
// (LambdaInvoke), as the Lambda Runtime Interface Emulator serves it for container images.
//
// What each API type answers, from the AWS documentation (see the README's "API Gateway
// emulator" section for the sources):
//
//	                                 http-api                         rest-api
//	identity source missing          401 {"message":"Unauthorized"}   401 UNAUTHORIZED
//	                                 (authorizer not invoked)         (authorizer not invoked)
//	authorizer denies                403 {"message":"Forbidden"}      403 ACCESS_DENIED
//	authorizer fails "Unauthorized"  500                              401 UNAUTHORIZED
//	authorizer error/timeout/garbage 500                              500 AUTHORIZER_*
//	custom headers (WWW-Authenticate) impossible                      gateway responses
//
// Browser-based clients: a MOCK integration with a CORSPreflight answers CORS preflights on a
// route without an authorizer, as a REST API's "Enable CORS" OPTIONS method does (HTTP APIs'
// own CORS configuration is not emulated); the reference config has one.
//
// A Gateway is an http.Handler; Start serves one on a loopback port.
package gateway
