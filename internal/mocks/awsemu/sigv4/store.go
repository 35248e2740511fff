package sigv4

import (
	"context"
	"errors"
	"time"
)

// ErrUnknownAccessKey is what a CredentialStore returns (or wraps) when it
// does not know an access key. Any other error is treated as the store
// failing, never as "unknown key", so a broken store cannot be mistaken for
// a bad request (and never for a good one).
var ErrUnknownAccessKey = errors.New("sigv4: unknown access key")

// Credential is what the caller's store knows about one access key.
type Credential struct {
	SecretAccessKey string
	// SessionToken is set for temporary (ASIA…) keys. The request must carry
	// exactly this token; a request signed with a long-term key (empty
	// SessionToken) must carry none.
	SessionToken string
	// Expires is when a temporary key stops working; zero means never.
	Expires time.Time
	// AnySecret accepts a signature made with any secret, as LocalStack does for its
	// account-ID access keys: everything else (format, date, scope, payload) is still checked.
	AnySecret bool
	// Principal is opaque to this package: the caller attaches whatever it
	// needs to authorize the request (user, role session, account, tags).
	Principal any
}

// CredentialStore looks up the secret behind an access key ID. It returns
// ErrUnknownAccessKey (possibly wrapped) for keys it does not know.
type CredentialStore interface {
	LookupAccessKey(ctx context.Context, accessKeyID string) (Credential, error)
}

// CredentialStoreFunc adapts a function to CredentialStore.
type CredentialStoreFunc func(ctx context.Context, accessKeyID string) (Credential, error)

// LookupAccessKey calls f.
func (f CredentialStoreFunc) LookupAccessKey(ctx context.Context, accessKeyID string) (Credential, error) {
	return f(ctx, accessKeyID)
}

// StaticCredentials is a fixed map from access key ID to Credential, for
// tests and small fixtures. It must not be mutated while in use.
type StaticCredentials map[string]Credential

// LookupAccessKey returns the entry for accessKeyID or ErrUnknownAccessKey.
func (s StaticCredentials) LookupAccessKey(_ context.Context, accessKeyID string) (Credential, error) {
	c, ok := s[accessKeyID]
	if !ok {
		return Credential{}, ErrUnknownAccessKey
	}
	return c, nil
}
