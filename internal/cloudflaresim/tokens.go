package cloudflaresim

import (
	"crypto/md5"
	"encoding/hex"
	"net/http"
	"strings"
	"time"
)

// tokenState is the one API token the simulator accepts.
type tokenState struct {
	secret string
	info   wireToken
}

// newTokenState describes a token issued at now and valid for a year. Its ID
// is derived from the secret, so rotating the token changes the ID.
func newTokenState(secret string, now time.Time) tokenState {
	sum := md5.Sum([]byte(secret))
	issued := now.UTC().Truncate(time.Second)
	return tokenState{
		secret: secret,
		info: wireToken{
			ID:        hex.EncodeToString(sum[:]),
			Status:    "active",
			NotBefore: issued.Format(time.RFC3339),
			ExpiresOn: issued.AddDate(1, 0, 0).Format(time.RFC3339),
		},
	}
}

// bearerToken returns the request's token and whether it is the accepted one.
func (s *Server) bearerToken(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return token, token == s.token.secret
}

// verifyToken answers both /tokens/verify endpoints. Cloudflare only verifies
// a token at the endpoint matching its owner and answers "Invalid API Token"
// at the other one.
func (s *Server) verifyToken(rt route) reply {
	wantKind := UserToken
	if rt.endpoint == EndpointAccountTokenVerify {
		wantKind = AccountToken
	}
	if s.cfg.TokenKind != wantKind {
		return errInvalidToken
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if wantKind == AccountToken && s.byID[rt.accountID] == nil {
		return errNoAccess
	}
	return jsonReply(http.StatusOK, envelope{
		Success:  true,
		Result:   s.token.info,
		Messages: []wireNotice{{Code: 10000, Message: "This API Token is valid and active"}},
	})
}
