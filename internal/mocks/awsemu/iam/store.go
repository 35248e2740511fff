// Package iam is the identity side of the AWS emulator: accounts, users, roles, managed and
// inline policies, access keys and the STS sessions issued from them (Store), plus the IAM
// Query API over them (Handler). Every caller is resolved here into the policies that govern
// it, so STS, S3 and IAM itself authorize through one place (Store.Authorize).
//
// Entities are validated as IAM validates them (names, paths, quotas, policy grammar through
// iampolicy) and errors carry IAM's codes: NoSuchEntity, EntityAlreadyExists,
// MalformedPolicyDocument, LimitExceeded, DeleteConflict, ValidationError.
package iam

import (
	"errors"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/awserr"
	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/iampolicy"
)

// IAM quotas (IAM User Guide, reference_iam-quotas) the store enforces.
const (
	MaxTrustPolicyChars     = 2048  // ACLSizePerRole default
	MaxRoleInlineChars      = 10240 // aggregate inline policy size per role
	MaxUserInlineChars      = 2048  // aggregate inline policy size per user
	MaxManagedPolicyChars   = 6144
	MaxAttachedPerRole      = 10
	MaxAttachedPerUser      = 10
	MaxTagsPerEntity        = 50
	DefaultMaxSessionSecond = 3600
)

// Tag is an IAM tag.
type Tag struct {
	Key   string
	Value string
}

// Role is a snapshot of an IAM role.
type Role struct {
	Account            string
	Name               string
	Path               string
	ARN                string
	ID                 string // AROA…
	Created            time.Time
	Description        string
	MaxSessionDuration int // seconds
	TrustPolicy        *iampolicy.Policy
	Tags               []Tag
	BoundaryARN        string
	Inline             map[string]*iampolicy.Policy
	Attached           []string // managed policy ARNs
	// LastUsed and LastUsedRegion are when and where the role was last assumed (zero: never),
	// GetRole's RoleLastUsed.
	LastUsed       time.Time
	LastUsedRegion string
}

// User is a snapshot of an IAM user.
type User struct {
	Account  string
	Name     string
	Path     string
	ARN      string
	ID       string // AIDA…
	Created  time.Time
	Tags     []Tag
	Inline   map[string]*iampolicy.Policy
	Attached []string
}

// ManagedPolicy is a customer-managed policy (one version, v1, as the emulator keeps no history).
type ManagedPolicy struct {
	Account     string
	Name        string
	Path        string
	ARN         string
	ID          string // ANPA…
	Created     time.Time
	Description string
	Document    *iampolicy.Policy
	Attachments int
	Tags        []Tag
}

type account struct {
	id       string
	roles    map[string]*Role // by lower-cased name: IAM names are case-insensitive for uniqueness
	users    map[string]*User
	policies map[string]*ManagedPolicy // by ARN
}

// Store holds every account's identities. It is safe for concurrent use; getters return copies.
type Store struct {
	mu       sync.RWMutex
	accounts map[string]*account
	keys     map[string]AccessKey // long-term keys by ID
	// sessions are the STS sessions issued, by access key ID (sessions.go).
	sessions *sessionTable
	now      func() time.Time
	// sessionFile, when set, keeps issued sessions across restarts (WithSessionFile).
	sessionFile string
	// loadErr is why the session file could not be loaded.
	loadErr error
	// accountKeySecret, when set, makes an unknown 12-digit access key ID create that account
	// on first use, as LocalStack does (WithAccountKeys).
	accountKeySecret string
}

// StoreOption configures a Store.
type StoreOption func(*Store)

// WithClock sets the clock used for creation dates and session expiry.
func WithClock(now func() time.Time) StoreOption { return func(s *Store) { s.now = now } }

// WithAccountKeys follows LocalStack's convention for access key IDs of 12 digits: such a key
// is the admin key of the account with that ID, and an unknown one creates the account (with
// its admin user and this key, secret as given) on first use, so multi-account tests need no
// declaration. Like LocalStack, the emulator then checks the request's signature format, date
// and scope but not the secret it was signed with (sigv4.Credential.AnySecret).
func WithAccountKeys(secret string) StoreOption {
	return func(s *Store) { s.accountKeySecret = secret }
}

// NewStore returns an empty store.
func NewStore(opts ...StoreOption) *Store {
	s := &Store{accounts: map[string]*account{}, keys: map[string]AccessKey{}, sessions: newSessionTable(), now: time.Now}
	for _, o := range opts {
		o(s)
	}
	if s.sessionFile != "" {
		s.loadErr = s.loadSessions()
	}
	return s
}

// LoadError is why NewStore could not load the session file (WithSessionFile), or nil.
func (s *Store) LoadError() error { return s.loadErr }

// Now is the store's clock.
func (s *Store) Now() time.Time { return s.now() }

var (
	accountRe  = regexp.MustCompile(`^\d{12}$`)
	nameRe     = regexp.MustCompile(`^[\w+=,.@-]+$`)
	pathRe     = regexp.MustCompile(`^/([\x21-\x7E]*/)?$`)
	tagCharsRe = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$`)
)

func noSuchEntity(format string, args ...any) error {
	return awserr.New(http.StatusNotFound, "NoSuchEntity", format, args...)
}

func alreadyExists(format string, args ...any) error {
	return awserr.New(http.StatusConflict, "EntityAlreadyExists", format, args...)
}

func limitExceeded(format string, args ...any) error {
	return awserr.New(http.StatusConflict, "LimitExceeded", format, args...)
}

// malformed words a policy that does not parse as MalformedPolicyDocument. Where IAM has a reason
// of its own for the problem, the message is that reason word for word (AWS's answers: "This
// policy contains invalid Json", "Policy document should not specify a principal.", …), so that
// code matching on it behaves as against AWS; other problems keep the emulator's message, which
// names the statement and element.
func malformed(err error) error {
	detail := strings.TrimPrefix(err.Error(), "MalformedPolicyDocument: ")
	var mp *iampolicy.MalformedPolicyError
	if errors.As(err, &mp) {
		if reason := awsReason(mp); reason != "" {
			return &policyProblem{ae: awserr.New(http.StatusBadRequest, "MalformedPolicyDocument", "%s", reason), detail: detail}
		}
	}
	return awserr.New(http.StatusBadRequest, "MalformedPolicyDocument", "%s", detail)
}

// policyProblem is a MalformedPolicyDocument worded as IAM words it, carrying what the emulator
// found (statement, element, rule), which AWS's reason leaves out: the handler logs it.
type policyProblem struct {
	ae     *awserr.Error
	detail string
}

func (p *policyProblem) Error() string { return p.ae.Error() }
func (p *policyProblem) Unwrap() error { return p.ae }

// awsReason is IAM's own wording for a policy problem the emulator found, or "" when the
// emulator does not know how IAM words it.
func awsReason(mp *iampolicy.MalformedPolicyError) string {
	switch {
	case mp.Statement < 0 && (strings.HasPrefix(mp.Problem, "not a JSON object") || strings.HasPrefix(mp.Problem, "trailing data")):
		return "This policy contains invalid Json"
	case (mp.Field == "Principal" || mp.Field == "NotPrincipal") && strings.HasSuffix(mp.Problem, "should not specify a principal"):
		return "Policy document should not specify a principal."
	case (mp.Field == "Action" || mp.Field == "NotAction") && strings.Contains(mp.Problem, "an action is \"*\" or"):
		return "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."
	case mp.Field == "Action" && strings.HasPrefix(mp.Problem, "missing required field"):
		return "Policy statement must contain actions."
	case mp.Field == "Sid" && strings.HasPrefix(mp.Problem, "duplicate of"):
		return "Statement IDs (SID) in a single policy must be unique."
	case (mp.Field == "Resource" || mp.Field == "NotResource") && strings.HasPrefix(mp.Problem, "has prohibited field"):
		return "Has prohibited field " + mp.Field + "."
	}
	return ""
}

// AddAccount creates an account with its administrator: IAM user "admin" with an
// AdministratorAccess-like inline policy and an access key. It returns that key.
func (s *Store) AddAccount(id string) (AccessKey, error) {
	if !accountRe.MatchString(id) {
		return AccessKey{}, awserr.Validation("account ID %q must be 12 digits", id)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.accounts[id]; ok {
		return AccessKey{}, alreadyExists("account %s already exists", id)
	}
	acct := &account{id: id, roles: map[string]*Role{}, users: map[string]*User{}, policies: map[string]*ManagedPolicy{}}
	s.accounts[id] = acct
	admin := &User{Account: id, Name: "admin", Path: "/", ARN: "arn:aws:iam::" + id + ":user/admin", ID: newID("AIDA"), Created: s.now().UTC(),
		Inline: map[string]*iampolicy.Policy{"AdministratorAccess": adminPolicy}}
	acct.users["admin"] = admin
	return s.addKeyLocked(id, "admin", newID("AKIA"), randomSecret())
}

var adminPolicy = iampolicy.MustParse(iampolicy.IdentityPolicy, "AdministratorAccess",
	`{"Version":"2012-10-17","Statement":[{"Sid":"AdministratorAccess","Effect":"Allow","Action":"*","Resource":"*"}]}`)

// HasAccount reports whether the account exists.
func (s *Store) HasAccount(id string) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	_, ok := s.accounts[id]
	return ok
}

// Accounts lists the account IDs, sorted.
func (s *Store) Accounts() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]string, 0, len(s.accounts))
	for id := range s.accounts {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

func (s *Store) accountLocked(id string) (*account, error) {
	a, ok := s.accounts[id]
	if !ok {
		return nil, noSuchEntity("account %s does not exist in this emulator", id)
	}
	return a, nil
}

func (r *Role) clone() *Role {
	c := *r
	c.Tags = append([]Tag(nil), r.Tags...)
	c.Attached = append([]string(nil), r.Attached...)
	c.Inline = make(map[string]*iampolicy.Policy, len(r.Inline))
	for k, v := range r.Inline {
		c.Inline[k] = v
	}
	return &c
}

func (u *User) clone() *User {
	c := *u
	c.Tags = append([]Tag(nil), u.Tags...)
	c.Attached = append([]string(nil), u.Attached...)
	c.Inline = make(map[string]*iampolicy.Policy, len(u.Inline))
	for k, v := range u.Inline {
		c.Inline[k] = v
	}
	return &c
}

func checkName(field, name string, max int) error {
	if len(name) < 1 || len(name) > max {
		return awserr.Validation("1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: Member must have length between 1 and %d", name, field, max)
	}
	if !nameRe.MatchString(name) {
		return awserr.Validation("1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+", name, field)
	}
	return nil
}

func checkPath(path string) error {
	if len(path) > 512 || !pathRe.MatchString(path) {
		return awserr.Validation("1 validation error detected: Value '%s' at 'path' failed to satisfy constraint: Member must satisfy regular expression pattern: (\\u002F)|(\\u002F[\\u0021-\\u007E]+\\u002F)", path)
	}
	return nil
}

const idChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
