package iam

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	iamsdk "github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/smithy-go"

	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/awserr"
	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/query"
	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/sigv4"
)

const testAccount = "111122223333"

// testEnv is an IAM endpoint in front of a Handler, with the small router the emulator's own
// router stands for: SigV4, caller resolution, Query parsing, Serve, result or error.
type testEnv struct {
	t     *testing.T
	store *Store
	srv   *httptest.Server
	admin AccessKey
	logs  *syncBuffer

	mu    sync.Mutex
	calls []*Call
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newEnv(t *testing.T) *testEnv {
	t.Helper()
	store := NewStore()
	admin, err := store.AddAccount(testAccount)
	if err != nil {
		t.Fatal(err)
	}
	env := &testEnv{t: t, store: store, admin: admin, logs: &syncBuffer{}}
	h := NewHandler(store).WithLogger(slog.New(slog.NewTextHandler(env.logs, nil)))
	verifier, err := sigv4.NewVerifier(store)
	if err != nil {
		t.Fatal(err)
	}
	env.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		const requestID = "c0ffee00-0000-4000-8000-000000000000"
		res, err := verifier.Verify(r)
		if err != nil {
			var se *sigv4.Error
			if errors.As(err, &se) {
				se = se.ForService("iam")
				query.WriteError(w, XMLNS, requestID, &awserr.Error{Code: se.Code, Message: se.Message, Status: se.StatusCode})
				return
			}
			query.WriteError(w, XMLNS, requestID, awserr.As(err))
			return
		}
		caller, err := store.Caller(res.AccessKeyID)
		if err != nil {
			query.WriteError(w, XMLNS, requestID, awserr.As(err))
			return
		}
		params, err := query.Parse(r)
		if err != nil {
			query.WriteError(w, XMLNS, requestID, awserr.As(err))
			return
		}
		call := &Call{Caller: caller, Params: params, RequestID: requestID, SourceIP: "127.0.0.1",
			UserAgent: r.UserAgent(), Region: res.Region, Time: time.Now()}
		result, err := h.Serve(call)
		env.mu.Lock()
		env.calls = append(env.calls, call)
		env.mu.Unlock()
		if err != nil {
			query.WriteError(w, XMLNS, requestID, awserr.As(err))
			return
		}
		query.WriteResult(w, params.Action, XMLNS, requestID, result)
	}))
	t.Cleanup(env.srv.Close)
	return env
}

// client is the real SDK client signing with key; retries off so each answer is seen once.
func (e *testEnv) client(key AccessKey) *iamsdk.Client {
	return iamsdk.New(iamsdk.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(e.srv.URL),
		Credentials:      credentials.NewStaticCredentialsProvider(key.ID, key.Secret, ""),
		RetryMaxAttempts: 1,
	})
}

func (e *testEnv) adminClient() *iamsdk.Client { return e.client(e.admin) }

// lastCall is the call the handler served most recently.
func (e *testEnv) lastCall() *Call {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.calls) == 0 {
		e.t.Fatal("no call was served")
	}
	return e.calls[len(e.calls)-1]
}

// raw sends a signed Query request with exactly the given form and returns status and body.
func (e *testEnv) raw(form url.Values) (int, string) {
	e.t.Helper()
	body := form.Encode()
	req, err := http.NewRequest(http.MethodPost, e.srv.URL+"/", strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	sum := sha256.Sum256([]byte(body))
	creds := aws.Credentials{AccessKeyID: e.admin.ID, SecretAccessKey: e.admin.Secret}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), "iam", "us-east-1", time.Now()); err != nil {
		e.t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// errCode is the AWS error code of err ("" for nil).
func errCode(err error) string {
	if err == nil {
		return ""
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return "not an API error: " + err.Error()
}

func errMessage(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorMessage()
	}
	return ""
}

// wantErr fails unless err has the code and its message contains every fragment.
func wantErr(t *testing.T, err error, code string, fragments ...string) {
	t.Helper()
	if got := errCode(err); got != code {
		t.Fatalf("error code = %q, want %q (message: %s)", got, code, errMessage(err))
	}
	for _, f := range fragments {
		if !strings.Contains(errMessage(err), f) {
			t.Errorf("error message %q does not mention %q", errMessage(err), f)
		}
	}
}

func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return v
	}
}

func unescape(t *testing.T, s *string) string {
	t.Helper()
	if s == nil {
		t.Fatal("document is missing")
	}
	d, err := url.QueryUnescape(*s)
	if err != nil {
		t.Fatalf("document %q is not URL-encoded: %v", *s, err)
	}
	return d
}

const trustECS = `{"Version":"2012-10-17","Statement":[{"Sid":"TaskRole","Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}`

func createRole(t *testing.T, c *iamsdk.Client, name string, opts ...func(*iamsdk.CreateRoleInput)) *iamtypes.Role {
	t.Helper()
	in := &iamsdk.CreateRoleInput{RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(trustECS)}
	for _, o := range opts {
		o(in)
	}
	out, err := c.CreateRole(t.Context(), in)
	if err != nil {
		t.Fatalf("CreateRole %s: %v", name, err)
	}
	return out.Role
}
