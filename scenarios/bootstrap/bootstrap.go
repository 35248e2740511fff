// Package bootstrap is the suite of the 401 bootstrap: what an MCP client without a valid token
// gets, and whether it can discover from it where to log in (MCP authorization, RFC 9728).
package bootstrap

import (
	"net/http"
	"strings"

	. "github.com/onsi/gomega"

	fw "github.com/mcpsso/mcpsso/scenarios/framework"
)

var _ = fw.Describe("The 401 bootstrap", fw.Bootstrap, func() {
	fw.ConformanceIt("answers a request without a token with 401 and a WWW-Authenticate challenge naming the resource metadata", func() {
		resp, err := http.Post(fw.Current().MCPURL(), "application/json", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`))
		Expect(err).NotTo(HaveOccurred())
		defer resp.Body.Close()
		Expect(resp.StatusCode).To(Equal(http.StatusUnauthorized))
		Expect(resp.Header.Get("WWW-Authenticate")).To(ContainSubstring("resource_metadata="),
			"an MCP client can only discover the authorization server from the challenge or the well-known URL")
	})
})
