package mockidp_test

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"golang.org/x/oauth2"

	"github.com/mcpsso/mcpsso/internal/mocks/mockidp"
)

// browser starts headless Chromium for a test. Without Chromium the test is skipped with the
// reason, unless MCPSSO_REQUIRE_CHROMIUM=1 (CI) makes that a failure.
func browser(t *testing.T) context.Context {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: no browser")
	}
	var path string
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		if os.Getenv("MCPSSO_REQUIRE_CHROMIUM") == "1" {
			t.Fatal("no Chromium on PATH (chromium, chromium-browser, google-chrome) and MCPSSO_REQUIRE_CHROMIUM=1: install Debian's chromium")
		}
		t.Skip("no Chromium on PATH (chromium, chromium-browser, google-chrome): install Debian's chromium to run the browser check (set MCPSSO_REQUIRE_CHROMIUM=1 to fail instead)")
	}
	// This machine's network is closed: every background connection Chromium tries is cut off
	// by these flags, and a fresh profile keeps runs independent.
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	browserCtx, cancelBrowser := chromedp.NewContext(allocCtx)
	// The first action starts the browser, which lives as long as that action's context: it
	// must not carry the timeout.
	if err := chromedp.Do(browserCtx); err != nil {
		cancelBrowser()
		cancelAlloc()
		t.Fatalf("starting %s: %v", path, err)
	}
	ctx, cancelTimeout := context.WithTimeout(browserCtx, 60*time.Second)
	t.Cleanup(func() { cancelTimeout(); cancelBrowser(); cancelAlloc() })
	return ctx
}

// clientApp is a minimal web app that logs in through the IdP with auth code + PKCE and
// shows who logged in.
func clientApp(t *testing.T, p *mockidp.Server) *httptest.Server {
	t.Helper()
	var mu sync.Mutex
	verifiers := map[string]string{} // state -> PKCE verifier
	app := httptest.NewUnstartedServer(nil)
	conf, err := p.OAuth2Config(mockidp.PublicClientID, "http://"+app.Listener.Addr().String()+"/callback", "openid", "profile")
	if err != nil {
		t.Fatal(err)
	}
	verifier := apiVerifier(t, p, nil)
	mux := http.NewServeMux()
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		state, v := oauth2.GenerateVerifier(), oauth2.GenerateVerifier()
		mu.Lock()
		verifiers[state] = v
		mu.Unlock()
		http.Redirect(w, r, conf.AuthCodeURL(state, oauth2.S256ChallengeOption(v)), http.StatusFound)
	})
	mux.HandleFunc("/callback", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		v, ok := verifiers[r.URL.Query().Get("state")]
		mu.Unlock()
		if !ok {
			http.Error(w, "unknown state", http.StatusBadRequest)
			return
		}
		tok, err := conf.Exchange(r.Context(), r.URL.Query().Get("code"), oauth2.VerifierOption(v))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		idt, err := verifier.Verify(r.Context(), tok.AccessToken)
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		fmt.Fprintf(w, `<!doctype html><p id="result">signed in as %s</p>`, html.EscapeString(idt.Subject))
	})
	app.Config.Handler = mux
	app.Start()
	t.Cleanup(app.Close)
	return app
}

// TestBrowserLogsInByClickingAUser is the real browser check of both pages: Chromium logs in
// to a web app by clicking alice on the login page, and approves a device code as bob on the
// verification page after typing the code.
func TestBrowserLogsInByClickingAUser(t *testing.T) {
	ctx := browser(t)
	p := startIdP(t)
	app := clientApp(t, p)
	alice, _ := p.User("alice")
	bob, _ := p.User("bob")

	t.Run("the login page logs alice in to a web app", func(t *testing.T) {
		err := chromedp.Do(ctx,
			chromedp.Navigate(app.URL+"/login"),
			chromedp.WaitVisible(chromedp.CSS(`button[data-user="alice"]`)),
			chromedp.Click(chromedp.CSS(`button[data-user="alice"]`)),
			chromedp.WaitVisible(chromedp.CSS(`#result`)),
		)
		if err != nil {
			t.Fatal(err)
		}
		result, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#result`)))
		if err != nil {
			t.Fatal(err)
		}
		if result != "signed in as "+alice.Subject {
			t.Fatalf("the app says %q", result)
		}
	})

	t.Run("the device page approves a typed code as bob", func(t *testing.T) {
		conf, _ := p.OAuth2Config(mockidp.PublicClientID, "", "openid")
		da, err := conf.DeviceAuth(ctx)
		if err != nil {
			t.Fatal(err)
		}
		err = chromedp.Do(ctx,
			chromedp.Navigate(da.VerificationURI),
			chromedp.WaitVisible(chromedp.CSS(`input[name="user_code"]`)),
			chromedp.SendKeys(chromedp.CSS(`input[name="user_code"]`), strings.ToLower(da.UserCode)),
			chromedp.Submit(chromedp.CSS(`input[name="user_code"]`)),
			chromedp.WaitVisible(chromedp.CSS(`button[data-user="bob"]`)),
			chromedp.Click(chromedp.CSS(`button[data-user="bob"]`)),
			chromedp.WaitVisible(chromedp.CSS(`#message`)),
		)
		if err != nil {
			t.Fatal(err)
		}
		message, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#message`)))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(message, "approved") {
			t.Fatalf("the page says %q", message)
		}
		tok, err := conf.DeviceAccessToken(ctx, da)
		if err != nil {
			t.Fatal(err)
		}
		if sub := claimsOf(t, tok.AccessToken)["sub"]; sub != bob.Subject {
			t.Fatalf("the device got a token for %v, want bob", sub)
		}
	})
}
