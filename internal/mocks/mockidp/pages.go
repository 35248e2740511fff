package mockidp

import (
	"html/template"
	"net/http"
	"net/url"
	"slices"
)

// The two pages people see: the login page of the authorization endpoint and the device
// verification page. Both list the test users with one button each, and say plainly that
// this is a test IdP without passwords.

var pages = template.Must(template.New("layout").Parse(`{{define "top"}}<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>{{.Title}} · mcpsso test IdP</title>
<style>
body{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;color:#222}
.banner{background:#fff3cd;border:1px solid #e0c46c;padding:.6rem .8rem;border-radius:6px}
button{display:block;width:100%;text-align:left;margin:.4rem 0;padding:.6rem .8rem;font-size:1rem;cursor:pointer;border:1px solid #888;border-radius:6px;background:#f6f8fa}
button.deny{background:#fff;color:#a00;border-color:#a00}
.error{color:#a00;font-weight:bold}
code{background:#eee;padding:0 .2rem}
small{color:#555}
</style></head><body>
<p class="banner" role="note"><strong>mcpsso test IdP</strong> — a mock identity provider for tests.
There are no passwords: anyone can sign in as any test user. Never use it to protect real data.</p>
<h1>{{.Title}}</h1>
{{if .Error}}<p class="error" role="alert">{{.Error}}</p>{{end}}
{{end}}
{{define "users"}}{{range .Users}}<button type="submit" name="login_as" value="{{.Username}}" data-user="{{.Username}}">Sign in as <strong>{{.Username}}</strong>
<small>{{if .Name}}{{.Name}} · {{end}}{{if .Email}}{{.Email}} · {{end}}{{if .Tenant}}tenant {{.Tenant}}{{else}}no tenant{{end}}</small></button>
{{end}}<button type="submit" name="deny" value="1" class="deny" data-action="deny">Deny</button>{{end}}
{{define "authorize"}}{{template "top" .}}
<p>Client <strong>{{.ClientName}}</strong> (<code>{{.ClientID}}</code>) asks to sign you in{{if .Scopes}} with scopes <code>{{.Scopes}}</code>{{end}}{{if .Audience}} for <code>{{.Audience}}</code>{{end}}.</p>
<form method="post" action="{{.Action}}">
{{range .Hidden}}<input type="hidden" name="{{.Name}}" value="{{.Value}}">
{{end}}{{template "users" .}}
</form></body></html>{{end}}
{{define "device"}}{{template "top" .}}
{{if .UserCode}}<p>Approve the device showing the code <code id="user-code">{{.UserCode}}</code> for client <strong>{{.ClientName}}</strong> (<code>{{.ClientID}}</code>){{if .Scopes}} with scopes <code>{{.Scopes}}</code>{{end}}?</p>
<form method="post" action="{{.Action}}"><input type="hidden" name="user_code" value="{{.UserCode}}">
{{template "users" .}}
</form>{{else}}<form method="get" action="{{.Action}}"><label>Code shown on your device:
<input name="user_code" autocomplete="off" autofocus required></label> <button type="submit">Continue</button></form>{{end}}
</body></html>{{end}}
{{define "message"}}{{template "top" .}}{{if .Message}}<p id="message">{{.Message}}</p>{{end}}</body></html>{{end}}
`))

type hiddenField struct{ Name, Value string }

type pageData struct {
	Title      string
	Error      string
	Message    string
	Users      []User
	ClientID   string
	ClientName string
	Scopes     string
	Audience   string
	Action     string
	Hidden     []hiddenField
	UserCode   string
}

// hiddenFields carries the authorization request's parameters through the login form.
func hiddenFields(params url.Values) []hiddenField {
	var out []hiddenField
	keys := make([]string, 0, len(params))
	for k := range params {
		if k != "login_as" && k != "deny" {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		for _, v := range params[k] {
			out = append(out, hiddenField{k, v})
		}
	}
	return out
}

// renderPage writes an HTML page with headers that keep it out of frames and caches. The
// form-action directive is left out on purpose: Chromium applies it to the redirect that
// follows the form post, which goes to the client's redirect URI.
func renderPage(w http.ResponseWriter, status int, name string, data pageData) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(status)
	_ = pages.ExecuteTemplate(w, name, data)
}

func renderMessage(w http.ResponseWriter, status int, title, message string) {
	data := pageData{Title: title, Message: message}
	if status >= 400 {
		data.Error, data.Message = message, ""
	}
	renderPage(w, status, "message", data)
}
