package gateway_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/aws/aws-lambda-go/events"

	"github.com/mcpsso/mcpsso/reference/gateway"
)

// The shipped reference REST API in front of an MCP server, with an in-process authorizer that
// fails invalid tokens with "Unauthorized" and allows one user.
func ExampleStart() {
	mcpServer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello from the MCP server, role %s", r.Header.Get("X-Decided-Role"))
	}))
	defer mcpServer.Close()

	authorizer := gateway.RESTAuthorizer(func(_ context.Context, ev events.APIGatewayCustomAuthorizerRequestTypeRequest) (events.APIGatewayCustomAuthorizerResponse, error) {
		if ev.Headers["Authorization"] != "Bearer alice" {
			return events.APIGatewayCustomAuthorizerResponse{}, errors.New("Unauthorized")
		}
		return events.APIGatewayCustomAuthorizerResponse{PrincipalID: "usr-alice",
			PolicyDocument: events.APIGatewayCustomAuthorizerPolicy{Version: "2012-10-17", Statement: []events.IAMPolicyStatement{
				{Action: []string{"execute-api:Invoke"}, Effect: "Allow", Resource: []string{ev.MethodArn}}}},
			Context: map[string]any{"decidedRole": "arn:aws:iam::111122223333:role/quilt-mcp-target-acme"}}, nil
	})
	config, err := gateway.ShippedConfig("reference")
	if err != nil {
		panic(err)
	}
	gw, err := gateway.Start(context.Background(), gateway.WithConfig(config), gateway.WithAuthorizer("", authorizer),
		gateway.WithIntegrationURL(mcpServer.URL), gateway.WithIssuerURL("https://issuer.example"))
	if err != nil {
		panic(err)
	}
	defer gw.Close()

	resp, _ := http.Post(gw.MCPURL(), "application/json", nil)
	resp.Body.Close()
	fmt.Println(resp.StatusCode, resp.Header.Get("WWW-Authenticate") == `Bearer resource_metadata="`+gw.ResourceMetadataURL()+`", error="invalid_token"`)

	req, _ := http.NewRequest(http.MethodPost, gw.MCPURL(), nil)
	req.Header.Set("Authorization", "Bearer alice")
	req.Header.Set("X-Decided-Role", "admin") // never reaches the server
	resp, _ = http.DefaultClient.Do(req)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(resp.StatusCode, string(body))
	// Output:
	// 401 true
	// 200 hello from the MCP server, role arn:aws:iam::111122223333:role/quilt-mcp-target-acme
}
