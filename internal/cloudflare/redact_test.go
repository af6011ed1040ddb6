package cloudflare

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestUndecodableBodyErrorNeverCarriesTheToken: a 200 whose body is not the
// JSON envelope fails in the SDK's decoder, whose error quotes the response's
// Content-Type. A proxy that echoes the request's Authorization header into
// it would put the token into that error: call redacts it like every other
// message taken from a response.
// Mutation caught: retry.go call, the undecodable body's Message without
// c.redact (the Content-Type, token and all, is in the error).
func TestUndecodableBodyErrorNeverCarriesTheToken(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		respond(200, "text/html; charset=utf-8; echo="+auth, `<html>maintenance `+auth+`</html>`)(w, r)
	}))
	defer srv.Close()
	_, err := newTestClient(t, srv.URL).ListMembers(context.Background(), "acct")
	var apiErr *APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, KindBadResponse, apiErr.Kind)
	assert.Contains(t, apiErr.Message, "undecodable response")
	assert.Contains(t, apiErr.Message, "text/html", "the decoder's error, with the Content-Type it quotes")
	assert.Contains(t, apiErr.Message, "[REDACTED]", "the echoed token was there, and was replaced")
	for _, text := range []string{err.Error(), fmt.Sprintf("%+v", err), apiErr.Message} {
		assert.NotContains(t, text, testToken)
	}
}

// TestEveryEchoOfTheTokenIsRedacted: a server that echoes the token more
// than once into one message (the header, and again in a quoted request)
// has every copy replaced, not only the first.
// Mutation caught: transport.go redact, strings.ReplaceAll ->
// strings.Replace(..., 1) (the second copy stays in the error).
func TestEveryEchoOfTheTokenIsRedacted(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		respond(401, "application/json", `{"success":false,"errors":[{"code":1000,"message":"Invalid API Token `+auth+
			` (request: GET /accounts/acct/members Authorization: `+auth+`)"}]}`)(w, r)
	}))
	defer srv.Close()
	_, err := newTestClient(t, srv.URL).ListMembers(context.Background(), "acct")
	var apiErr *APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, KindAuth, apiErr.Kind)
	assert.Equal(t, 2, strings.Count(apiErr.Message, "[REDACTED]"), "both copies replaced: %s", apiErr.Message)
	assert.NotContains(t, err.Error(), testToken)

	c := &client{token: testToken}
	assert.Equal(t, "a [REDACTED] b [REDACTED][REDACTED]", c.redact("a "+testToken+" b "+testToken+testToken))
}
