package mcpserver

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/smithy-go"
)

// awsCallError is a failed AWS call, with the IAM action and resource it was for, so that the
// tool error a user sees names exactly what was denied or what failed.
type awsCallError struct {
	action    string // e.g. "s3:GetObject"
	resource  string // e.g. "arn:aws:s3:::quilt-tenant-acme/data.csv"
	err       error
	requestID string // the MCP request's id, set by the tool wrapper: the log line with the cause has it
}

func (e *awsCallError) Unwrap() error { return e.err }

func (e *awsCallError) Error() string {
	var ae smithy.APIError
	switch {
	case isAccessDenied(e.err):
		errors.As(e.err, &ae)
		return fmt.Sprintf("AccessDenied: %s on %s was denied: %s", e.action, e.resource, apiMessage(ae))
	case errors.Is(e.err, context.DeadlineExceeded):
		return fmt.Sprintf("%s on %s did not finish before the request deadline (request id %s); no other credentials are tried", e.action, e.resource, e.requestID)
	case errors.Is(e.err, context.Canceled):
		return fmt.Sprintf("%s on %s was cancelled (the client went away)", e.action, e.resource)
	case errors.As(e.err, &ae):
		switch ae.ErrorCode() {
		case "NoSuchKey":
			return fmt.Sprintf("NoSuchKey: %s found no object %s", e.action, e.resource)
		case "NoSuchBucket":
			return fmt.Sprintf("NoSuchBucket: %s found no bucket for %s", e.action, e.resource)
		}
		return fmt.Sprintf("%s: %s on %s failed: %s", ae.ErrorCode(), e.action, e.resource, apiMessage(ae))
	}
	var untrusted *untrustedAnswerError
	if errors.As(e.err, &untrusted) {
		return fmt.Sprintf("%s on %s: %s", e.action, e.resource, untrusted.msg)
	}
	// A transport failure: its text names internal addresses (dial tcp 10.0.3.7:443 …), which
	// belong in the log, not in the answer to the MCP client.
	return fmt.Sprintf("%s on %s failed: AWS unavailable (request id %s; the server's log has the cause)", e.action, e.resource, e.requestID)
}

// untrustedAnswerError is an AWS answer the server refused to use (credentials of another
// principal, incomplete): its text is the server's own and safe to show.
type untrustedAnswerError struct{ msg string }

func (e *untrustedAnswerError) Error() string { return e.msg }

func untrustedAnswer(format string, args ...any) error {
	return &untrustedAnswerError{msg: fmt.Sprintf(format, args...)}
}

// denied reports whether AWS denied the call (rather than failing it).
func (e *awsCallError) denied() bool { return isAccessDenied(e.err) }

func isAccessDenied(err error) bool {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return false
	}
	switch ae.ErrorCode() {
	case "AccessDenied", "AccessDeniedException", "Forbidden":
		return true
	}
	return false
}

func apiMessage(ae smithy.APIError) string {
	if ae == nil || ae.ErrorMessage() == "" {
		return "(AWS gave no message)"
	}
	return ae.ErrorMessage()
}

// toolInputError is a tool argument that breaks a rule; the message names the argument.
type toolInputError struct{ msg string }

func (e *toolInputError) Error() string { return e.msg }

func inputErrorf(format string, args ...any) error {
	return &toolInputError{msg: fmt.Sprintf(format, args...)}
}
