// Package awserr is the error value every part of the AWS emulator returns: an AWS error code,
// a message worded as AWS words it, and the HTTP status AWS answers with. Protocol packages
// render it (Query XML, JSON 1.1, S3 REST XML); services only choose the code.
package awserr

import (
	"errors"
	"fmt"
	"net/http"
)

// Error is an AWS API error.
type Error struct {
	Code    string // e.g. "AccessDenied", "NoSuchEntity"
	Message string
	Status  int  // HTTP status
	Server  bool // a fault on AWS's side (Type Receiver) rather than the caller's (Sender)
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// New builds an error with a formatted message.
func New(status int, code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Status: status}
}

// As returns err as an *Error; any other error becomes a 500 InternalFailure, so that nothing
// internal leaks as a success or as an unshaped response.
func As(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Code: "InternalFailure", Message: "The request processing has failed because of an unknown error, exception or failure.", Status: http.StatusInternalServerError, Server: true}
}

// Common errors, shared by services that word them alike.

// Validation is a 400 ValidationError.
func Validation(format string, args ...any) *Error {
	return New(http.StatusBadRequest, "ValidationError", format, args...)
}
