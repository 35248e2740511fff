package ecscreds

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/endpointcreds"
)

const testRole = "arn:aws:iam::111122223333:role/mcp-task-role"

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// countingSource issues a new key pair on every call, valid for an hour from the clock's now.
type countingSource struct {
	clock *fakeClock
	calls atomic.Int32
}

func (s *countingSource) Credentials(context.Context) (Credentials, error) {
	n := s.calls.Add(1)
	return Credentials{
		AccessKeyID:     fmt.Sprintf("ASIATASKROLE%08d", n),
		SecretAccessKey: fmt.Sprintf("task-secret-%d", n),
		SessionToken:    fmt.Sprintf("task-session-token-%d", n),
		Expiration:      s.clock.Now().Add(time.Hour),
		RoleArn:         testRole,
	}, nil
}

// useContainerChain points the SDK's default chain at url/token and nowhere else.
func useContainerChain(t *testing.T, url, token string) {
	t.Helper()
	none := filepath.Join(t.TempDir(), "does-not-exist")
	t.Setenv("AWS_CONFIG_FILE", none)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", none)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	for _, k := range []string{
		"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
		"AWS_DEFAULT_PROFILE", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE",
		"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
		EnvFullURI, EnvAuthorizationToken,
	} {
		t.Setenv(k, "") // registers the restore
		os.Unsetenv(k)
	}
	t.Setenv(EnvFullURI, url)
	if token != "" {
		t.Setenv(EnvAuthorizationToken, token)
	}
}

func loadChain(t *testing.T, opts ...func(*config.LoadOptions) error) aws.Config {
	t.Helper()
	cfg, err := config.LoadDefaultConfig(t.Context(), append([]func(*config.LoadOptions) error{config.WithRegion("us-east-1")}, opts...)...)
	if err != nil {
		t.Fatalf("LoadDefaultConfig: %v", err)
	}
	return cfg
}

func startServer(t *testing.T, src Source, opts ...Option) *Server {
	t.Helper()
	s, err := Start(t.Context(), src, opts...)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestDefaultChainGetsTaskRoleCredentials(t *testing.T) {
	clock := &fakeClock{now: time.Now()}
	src := &countingSource{clock: clock}
	s := startServer(t, src, WithClock(clock.Now))
	useContainerChain(t, s.URL(), s.AuthorizationToken())

	got, err := loadChain(t).Credentials.Retrieve(t.Context())
	if err != nil {
		t.Fatalf("Retrieve: %v", err)
	}
	if got.AccessKeyID != "ASIATASKROLE00000001" || got.SecretAccessKey != "task-secret-1" || got.SessionToken != "task-session-token-1" {
		t.Errorf("Retrieve = %+v, want the source's first credentials", got)
	}
	if got.Source != endpointcreds.ProviderName {
		t.Errorf("credentials came from %q, want the container provider %q", got.Source, endpointcreds.ProviderName)
	}
	// The SDK's cache moves expiry 5 minutes earlier; the served value is what it started from.
	wantExpiry := clock.Now().Add(time.Hour).Truncate(time.Second).Add(-5 * time.Minute)
	if !got.CanExpire || !got.Expires.Equal(wantExpiry) {
		t.Errorf("Expires = %v (CanExpire %v), want %v", got.Expires, got.CanExpire, wantExpiry)
	}
}

func TestDefaultChainRotatesCredentials(t *testing.T) {
	// The endpoint's clock starts 56 minutes behind the SDK's: the first credentials are fresh
	// to the endpoint but, to the SDK, within its 5-minute expiry window, so it fetches again
	// on every Retrieve. Advancing the endpoint's clock then makes the endpoint rotate.
	clock := &fakeClock{now: time.Now().Add(-56 * time.Minute)}
	src := &countingSource{clock: clock}
	s := startServer(t, src, WithClock(clock.Now))
	useContainerChain(t, s.URL(), s.AuthorizationToken())
	creds := loadChain(t).Credentials

	retrieve := func(step string, wantKey string, wantCalls int32) {
		t.Helper()
		got, err := creds.Retrieve(t.Context())
		if err != nil {
			t.Fatalf("%s: Retrieve: %v", step, err)
		}
		if got.AccessKeyID != wantKey || src.calls.Load() != wantCalls {
			t.Fatalf("%s: got key %s after %d source calls, want %s after %d", step, got.AccessKeyID, src.calls.Load(), wantKey, wantCalls)
		}
	}
	retrieve("first fetch", "ASIATASKROLE00000001", 1)
	retrieve("SDK refetch while the endpoint's copy is fresh", "ASIATASKROLE00000001", 1)
	clock.Advance(56 * time.Minute) // now 4 minutes before expiry: inside the refresh window
	retrieve("SDK refetch once the endpoint rotated", "ASIATASKROLE00000002", 2)
	retrieve("SDK cache hit on the fresh credentials", "ASIATASKROLE00000002", 2)
}

func TestDefaultChainFailsClosed(t *testing.T) {
	fixed := Credentials{AccessKeyID: "ASIAFIXED", SecretAccessKey: "s", SessionToken: "t", RoleArn: testRole}
	tests := []struct {
		name     string
		source   SourceFunc
		token    func(real string) string
		wantCode string
	}{
		{
			name: "a wrong authorization token is refused",
			source: func(context.Context) (Credentials, error) {
				c := fixed
				c.Expiration = time.Now().Add(time.Hour)
				return c, nil
			},
			token:    func(string) string { return "not-the-token" },
			wantCode: "AccessDenied",
		},
		{
			name: "a missing authorization token is refused",
			source: func(context.Context) (Credentials, error) {
				c := fixed
				c.Expiration = time.Now().Add(time.Hour)
				return c, nil
			},
			token:    func(string) string { return "" },
			wantCode: "Unauthorized",
		},
		{
			name:     "a source error is a server error",
			source:   func(context.Context) (Credentials, error) { return Credentials{}, errors.New("sts: AccessDenied") },
			token:    func(real string) string { return real },
			wantCode: "InternalServerError",
		},
		{
			name: "expired credentials from the source are never served",
			source: func(context.Context) (Credentials, error) {
				c := fixed
				c.Expiration = time.Now().Add(-time.Second)
				return c, nil
			},
			token:    func(real string) string { return real },
			wantCode: "InternalServerError",
		},
		{
			name:     "credentials without an expiration are never served",
			source:   func(context.Context) (Credentials, error) { return fixed, nil },
			token:    func(real string) string { return real },
			wantCode: "InternalServerError",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := startServer(t, tc.source)
			useContainerChain(t, s.URL(), tc.token(s.AuthorizationToken()))
			// One attempt: the SDK retries 5xx with back-off, which only slows the test down.
			got, err := loadChain(t, config.WithRetryMaxAttempts(1)).Credentials.Retrieve(t.Context())
			if err == nil {
				t.Fatalf("Retrieve succeeded with %s, want an error", got.AccessKeyID)
			}
			if got.HasKeys() {
				t.Errorf("Retrieve returned keys %s alongside the error", got.AccessKeyID)
			}
			if !strings.Contains(err.Error(), tc.wantCode) {
				t.Errorf("Retrieve error = %v, want it to carry code %s", err, tc.wantCode)
			}
		})
	}
}

func newTestHandler(t *testing.T, src Source, opts ...Option) *Handler {
	t.Helper()
	h, err := New(src, append([]Option{WithAuthorizationToken("tok-123"), WithPath("/creds")}, opts...)...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return h
}

func TestHandlerRequests(t *testing.T) {
	clock := &fakeClock{now: time.Date(2026, 11, 26, 2, 4, 5, 999, time.UTC)}
	h := newTestHandler(t, &countingSource{clock: clock}, WithClock(clock.Now))
	tests := []struct {
		name       string
		method     string
		path       string
		headers    []string
		wantStatus int
		wantCode   string
	}{
		{"the right token on GET gets the credentials", "GET", "/creds", []string{"tok-123"}, 200, ""},
		{"another path is not found", "GET", "/v2/credentials/other", []string{"tok-123"}, 404, "NotFound"},
		{"a POST is not allowed", "POST", "/creds", []string{"tok-123"}, 405, "MethodNotAllowed"},
		{"a HEAD is not allowed", "HEAD", "/creds", []string{"tok-123"}, 405, ""},
		{"no Authorization header is unauthorized", "GET", "/creds", nil, 401, "Unauthorized"},
		{"an empty Authorization header is unauthorized", "GET", "/creds", []string{""}, 401, "Unauthorized"},
		{"a wrong token is forbidden", "GET", "/creds", []string{"tok-124"}, 403, "AccessDenied"},
		{"a prefix of the token is forbidden", "GET", "/creds", []string{"tok-12"}, 403, "AccessDenied"},
		{"a Bearer-prefixed token is forbidden", "GET", "/creds", []string{"Bearer tok-123"}, 403, "AccessDenied"},
		{"two Authorization headers are forbidden", "GET", "/creds", []string{"tok-123", "tok-123"}, 403, "AccessDenied"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(tc.method, tc.path, nil)
			for _, v := range tc.headers {
				req.Header.Add("Authorization", v)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tc.wantStatus {
				t.Fatalf("status = %d, want %d (body %s)", rec.Code, tc.wantStatus, rec.Body)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q, want exactly application/json (the SDK parses errors only then)", ct)
			}
			var body map[string]any
			if tc.method != "HEAD" {
				if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
					t.Fatalf("body is not JSON: %v: %s", err, rec.Body)
				}
			}
			if tc.wantStatus == 200 {
				want := map[string]any{
					"AccessKeyId":     "ASIATASKROLE00000001",
					"SecretAccessKey": "task-secret-1",
					"Token":           "task-session-token-1",
					"Expiration":      "2026-11-26T03:04:05Z",
					"RoleArn":         testRole,
				}
				if fmt.Sprint(body) != fmt.Sprint(want) {
					t.Errorf("body = %v, want exactly %v", body, want)
				}
				return
			}
			if tc.wantCode != "" && (body["code"] != tc.wantCode || body["message"] == "") {
				t.Errorf("error body = %v, want code %s and a message", body, tc.wantCode)
			}
		})
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("PUT", "/creds", nil))
	if rec.Header().Get("Allow") != "GET" {
		t.Errorf("405 response Allow = %q, want GET", rec.Header().Get("Allow"))
	}
}

func get(t *testing.T, h http.Handler) map[string]string {
	t.Helper()
	req := httptest.NewRequest("GET", "/creds", nil)
	req.Header.Set("Authorization", "tok-123")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var body map[string]string
	_ = json.Unmarshal(rec.Body.Bytes(), &body)
	if rec.Code != 200 {
		t.Fatalf("GET status %d: %s", rec.Code, rec.Body)
	}
	return body
}

func TestHandlerCachesUntilTheRefreshWindow(t *testing.T) {
	clock := &fakeClock{now: time.Now()}
	src := &countingSource{clock: clock}
	h := newTestHandler(t, src, WithClock(clock.Now), WithRefreshWindow(10*time.Minute))

	steps := []struct {
		name      string
		advance   time.Duration
		wantKey   string
		wantCalls int32
	}{
		{"the first request asks the source", 0, "ASIATASKROLE00000001", 1},
		{"a second request is served from the cache", time.Second, "ASIATASKROLE00000001", 1},
		{"just outside the refresh window the cache still serves", 49*time.Minute + 58*time.Second, "ASIATASKROLE00000001", 1},
		{"inside the refresh window the source is asked again", 2 * time.Second, "ASIATASKROLE00000002", 2},
		{"the rotated credentials are cached in turn", time.Minute, "ASIATASKROLE00000002", 2},
	}
	for _, st := range steps {
		clock.Advance(st.advance)
		if got := get(t, h); got["AccessKeyId"] != st.wantKey || src.calls.Load() != st.wantCalls {
			t.Errorf("%s: got %s after %d calls, want %s after %d", st.name, got["AccessKeyId"], src.calls.Load(), st.wantKey, st.wantCalls)
		}
	}

	h.Invalidate()
	if got := get(t, h); got["AccessKeyId"] != "ASIATASKROLE00000003" {
		t.Errorf("after Invalidate got %s, want freshly issued ASIATASKROLE00000003", got["AccessKeyId"])
	}
}

func TestConcurrentRequestsShareOneSourceCall(t *testing.T) {
	clock := &fakeClock{now: time.Now()}
	src := &countingSource{clock: clock}
	h := newTestHandler(t, src, WithClock(clock.Now))
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() { get(t, h) })
	}
	wg.Wait()
	if n := src.calls.Load(); n != 1 {
		t.Errorf("source called %d times for 32 concurrent requests, want 1", n)
	}
}

func TestSourceErrorIsNotMaskedByCachedCredentials(t *testing.T) {
	clock := &fakeClock{now: time.Now()}
	var fail atomic.Bool
	inner := &countingSource{clock: clock}
	src := SourceFunc(func(ctx context.Context) (Credentials, error) {
		if fail.Load() {
			return Credentials{}, errors.New("sts unavailable")
		}
		return inner.Credentials(ctx)
	})
	h := newTestHandler(t, src, WithClock(clock.Now))
	get(t, h)
	fail.Store(true)
	clock.Advance(56 * time.Minute)

	req := httptest.NewRequest("GET", "/creds", nil)
	req.Header.Set("Authorization", "tok-123")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 500 || !strings.Contains(rec.Body.String(), "sts unavailable") || strings.Contains(rec.Body.String(), "ASIA") {
		t.Errorf("refresh failure: status %d body %s, want 500 naming the source error and no credentials", rec.Code, rec.Body)
	}
}

func TestLogsRecordDecisionsWithoutSecrets(t *testing.T) {
	var buf bytes.Buffer
	clock := &fakeClock{now: time.Now()}
	h := newTestHandler(t, &countingSource{clock: clock}, WithClock(clock.Now),
		WithLogger(slog.New(slog.NewJSONHandler(&buf, nil))))
	get(t, h)
	req := httptest.NewRequest("GET", "/creds", nil)
	req.Header.Set("Authorization", "tok-999")
	h.ServeHTTP(httptest.NewRecorder(), req)

	var lines []map[string]any
	for _, l := range bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n")) {
		var m map[string]any
		if err := json.Unmarshal(l, &m); err != nil {
			t.Fatalf("log line is not JSON: %s", l)
		}
		lines = append(lines, m)
	}
	if len(lines) != 2 {
		t.Fatalf("got %d log lines, want 2: %s", len(lines), buf.String())
	}
	if lines[0]["decision"] != "allow" || lines[0]["role_arn"] != testRole {
		t.Errorf("allow log = %v, want decision allow and role_arn %s", lines[0], testRole)
	}
	if lines[1]["decision"] != "deny" || lines[1]["reason"] != "wrong authorization token" {
		t.Errorf("deny log = %v, want decision deny with reason wrong authorization token", lines[1])
	}
	for _, secret := range []string{"task-secret-1", "task-session-token-1", "tok-123", "tok-999"} {
		if strings.Contains(buf.String(), secret) {
			t.Errorf("logs contain the secret %q: %s", secret, buf.String())
		}
	}
}

func TestOptionsAreValidated(t *testing.T) {
	src := SourceFunc(func(context.Context) (Credentials, error) { return Credentials{}, nil })
	tests := []struct {
		name string
		src  Source
		opt  Option
	}{
		{"a nil source is rejected", nil, nil},
		{"an empty token is rejected", src, WithAuthorizationToken("")},
		{"a token with a newline is rejected", src, WithAuthorizationToken("a\nb")},
		{"a token with a space is rejected", src, WithAuthorizationToken("a b")},
		{"a relative path is rejected", src, WithPath("creds")},
		{"a path with a query is rejected", src, WithPath("/creds?id=1")},
		{"a negative refresh window is rejected", src, WithRefreshWindow(-time.Second)},
		{"a nil logger is rejected", src, WithLogger(nil)},
		{"a nil clock is rejected", src, WithClock(nil)},
		{"an empty address is rejected", src, WithAddr("")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := New(tc.src, tc.opt); err == nil {
				t.Error("New succeeded, want an error")
			} else if !strings.HasPrefix(err.Error(), "ecscreds: ") {
				t.Errorf("error %q does not name the package", err)
			}
		})
	}
}

func TestDefaultsAreRandomAndDistinct(t *testing.T) {
	src := SourceFunc(func(context.Context) (Credentials, error) { return Credentials{}, nil })
	a, _ := New(src)
	b, _ := New(src)
	if len(a.AuthorizationToken()) < 32 || a.AuthorizationToken() == b.AuthorizationToken() {
		t.Errorf("default tokens %q and %q, want long random distinct tokens", a.AuthorizationToken(), b.AuthorizationToken())
	}
	if !strings.HasPrefix(a.Path(), "/v2/credentials/") || a.Path() == b.Path() {
		t.Errorf("default paths %q and %q, want distinct /v2/credentials/<id>", a.Path(), b.Path())
	}
}

// TestEnvPointsASubprocessAtTheEndpoint runs this test binary again with only Server.Env to
// find credentials, as a program started by the harness would.
func TestEnvPointsASubprocessAtTheEndpoint(t *testing.T) {
	if os.Getenv("ECSCREDS_HELPER") == "1" {
		cfg, err := config.LoadDefaultConfig(context.Background(), config.WithRegion("us-east-1"))
		if err == nil {
			var c aws.Credentials
			if c, err = cfg.Credentials.Retrieve(context.Background()); err == nil {
				fmt.Println("KEY=" + c.AccessKeyID)
				return
			}
		}
		fmt.Println("ERR=" + err.Error())
		return
	}
	clock := &fakeClock{now: time.Now()}
	s := startServer(t, &countingSource{clock: clock}, WithClock(clock.Now))
	none := filepath.Join(t.TempDir(), "none")
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestEnvPointsASubprocessAtTheEndpoint$")
	cmd.Env = append([]string{
		"ECSCREDS_HELPER=1", "AWS_CONFIG_FILE=" + none, "AWS_SHARED_CREDENTIALS_FILE=" + none,
		"AWS_EC2_METADATA_DISABLED=true", "HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH"),
	}, s.Env()...)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("subprocess: %v: %s", err, out)
	}
	if !strings.Contains(string(out), "KEY=ASIATASKROLE00000001") {
		t.Errorf("subprocess output %q, want it to have retrieved ASIATASKROLE00000001", out)
	}
}

func TestStartOnAWildcardAddressAdvertisesLoopback(t *testing.T) {
	clock := &fakeClock{now: time.Now()}
	s := startServer(t, &countingSource{clock: clock}, WithAddr("0.0.0.0:0"))
	if !strings.HasPrefix(s.URL(), "http://127.0.0.1:") {
		t.Errorf("URL = %s, want a 127.0.0.1 URL", s.URL())
	}
	req, _ := http.NewRequestWithContext(t.Context(), "GET", s.URL(), nil)
	req.Header.Set("Authorization", s.AuthorizationToken())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("GET %s = %d, want 200", s.URL(), resp.StatusCode)
	}
}
