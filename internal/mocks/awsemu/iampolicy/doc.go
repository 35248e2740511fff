// Package iampolicy parses, validates and evaluates AWS IAM policy documents the way the IAM
// User Guide's evaluation-logic, condition-operator, multi-value and policy-variable pages
// describe, and explains every decision.
//
// A document is parsed once into a compiled *Policy (Parse), which is immutable and safe for
// concurrent use. Policy.Evaluate matches one policy against a Request without allocating;
// Decide combines the identity, resource (or trust), session and permissions-boundary policies
// of one request into an Allow, ExplicitDeny or ImplicitDeny decision with the statements that
// decided it and a one-line reason. Simulate serves the JSON contract of `mcpsso policy
// simulate`.
//
// It follows the documented special cases too: in the same account a resource-based grant that
// names the caller's exact ARN, or names "*" and matches the caller by an aws:PrincipalArn
// condition, is not capped by session policies or the permissions boundary; and a Deny with
// NotPrincipal denies every principal that has a permissions boundary, listed or not.
//
// Where AWS's behaviour is not documented plainly the package takes the stricter reading and
// says so next to the code: each action sees only the condition keys the Service Authorization
// Reference lists for it plus the global aws: keys, a NotPrincipal covers a principal only when
// both its own ARN and its account are listed, a condition whose policy variable has no value
// is false, Parse rejects NotPrincipal with Allow ("not supported") and actions or condition
// keys without a service prefix.
package iampolicy
