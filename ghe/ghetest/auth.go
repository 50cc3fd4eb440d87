package ghetest

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// token is an installation access token.
type token struct {
	installationID int64
	expires        time.Time
	permissions    map[string]string
	repoIDs        map[int64]bool // nil: every repository of the installation
}

// Messages of GitHub's 401 answers.
const (
	msgBadCredentials  = "Bad credentials"
	msgRequiresAuth    = "Requires authentication"
	msgJWTUndecodable  = "A JSON web token could not be decoded"
	msgJWTExpired      = "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires"
	msgJWTTooFar       = "'Expiration time' claim ('exp') is too far in the future"
	msgJWTIssuedAt     = "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued"
	msgJWTWrongIssuer  = "Integration not found"
	maxJWTLifetimeSecs = 600
)

// authError is a refused credential, answered 401 with message.
type authError struct{ message string }

func (e *authError) Error() string { return e.message }

// credentials returns the scheme and the credential of the Authorization
// header; scheme is lower case.
func credentials(r *http.Request) (scheme, cred string) {
	h := r.Header.Get("Authorization")
	scheme, cred, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok {
		return "", ""
	}
	return strings.ToLower(scheme), strings.TrimSpace(cred)
}

// authApp checks that r carries a valid App JWT (Authorization: Bearer).
func (s *Server) authApp(r *http.Request) error {
	scheme, cred := credentials(r)
	if cred == "" {
		return &authError{msgRequiresAuth}
	}
	if scheme != "bearer" {
		return &authError{msgJWTUndecodable}
	}
	return s.verifyJWT(cred, s.now())
}

// verifyJWT verifies an App JWT: RS256 signed by the App's key, iss the App
// id as a decimal string, iat not in the future, exp in the future and at
// most 10 minutes after iat and after now.
func (s *Server) verifyJWT(jwt string, now time.Time) error {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 || s.opts.PublicKey == nil {
		return &authError{msgJWTUndecodable}
	}
	var header struct {
		Alg string `json:"alg"`
		Typ string `json:"typ"`
	}
	if err := decodeSegment(parts[0], &header); err != nil || header.Alg != "RS256" {
		return &authError{msgJWTUndecodable}
	}
	if header.Typ != "" && header.Typ != "JWT" {
		return &authError{msgJWTUndecodable}
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return &authError{msgJWTUndecodable}
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(s.opts.PublicKey, crypto.SHA256, sum[:], sig); err != nil {
		return &authError{msgJWTUndecodable}
	}
	var claims struct {
		Iss any          `json:"iss"`
		Iat *json.Number `json:"iat"`
		Exp *json.Number `json:"exp"`
	}
	if err := decodeSegment(parts[1], &claims); err != nil {
		return &authError{msgJWTUndecodable}
	}
	// GitHub takes the App id as a string or as a JSON number: Octokit
	// (and so Backstage) sends a number.
	var iss string
	switch v := claims.Iss.(type) {
	case string:
		iss = v
	case json.Number:
		iss = v.String()
	}
	if iss != strconv.FormatInt(s.opts.AppID, 10) {
		return &authError{msgJWTWrongIssuer}
	}
	if claims.Iat == nil {
		return &authError{msgJWTIssuedAt}
	}
	iat, err := claims.Iat.Int64()
	if err != nil || iat > now.Unix() {
		return &authError{msgJWTIssuedAt}
	}
	if claims.Exp == nil {
		return &authError{msgJWTExpired}
	}
	exp, err := claims.Exp.Int64()
	if err != nil || exp <= now.Unix() {
		return &authError{msgJWTExpired}
	}
	if exp-iat > maxJWTLifetimeSecs || exp-now.Unix() > maxJWTLifetimeSecs {
		return &authError{msgJWTTooFar}
	}
	return nil
}

// decodeSegment decodes one base64url JSON segment of a JWT.
func decodeSegment(seg string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	return dec.Decode(v)
}

// authToken returns the installation token r carries (Authorization:
// token X or Bearer X), refusing unknown, expired and revoked tokens.
func (s *Server) authToken(r *http.Request) (*token, error) {
	scheme, cred := credentials(r)
	if cred == "" {
		return nil, &authError{msgRequiresAuth}
	}
	if scheme != "token" && scheme != "bearer" {
		return nil, &authError{msgBadCredentials}
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	tok := s.tokens[cred]
	if tok == nil || !s.now().Before(tok.expires) {
		return nil, &authError{msgBadCredentials}
	}
	if in := s.installation(tok.installationID); in == nil || in.removed {
		return nil, &authError{msgBadCredentials}
	}
	return tok, nil
}

// writeAuthError answers a refused credential.
func writeAuthError(w http.ResponseWriter, err error) {
	var ae *authError
	if errors.As(err, &ae) {
		writeError(w, http.StatusUnauthorized, ae.message, docsURL)
		return
	}
	writeError(w, http.StatusUnauthorized, msgBadCredentials, docsURL)
}

// newTokenString returns a random installation token: "ghs_" and 36
// alphanumerics, as GitHub's.
func newTokenString() string {
	const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	b := make([]byte, 36)
	max := big.NewInt(int64(len(alphabet)))
	for i := range b {
		n, err := rand.Int(rand.Reader, max)
		if err != nil {
			panic(fmt.Sprintf("ghetest: read random: %v", err))
		}
		b[i] = alphabet[n.Int64()]
	}
	return "ghs_" + string(b)
}

// GenerateKey returns a new 2048-bit RSA key for a GitHub App and its PKCS#1
// PEM encoding ("RSA PRIVATE KEY"), as GitHub hands them out.
func GenerateKey() (*rsa.PrivateKey, []byte, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, nil, fmt.Errorf("generate app key: %w", err)
	}
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	return key, pemBytes, nil
}

// SignAppJWT returns an App JWT for appID signed with key, issued 30 seconds
// before now and valid for 9 minutes, as GitHub recommends.
func SignAppJWT(key *rsa.PrivateKey, appID int64, now time.Time) (string, error) {
	return signJWT(key, map[string]any{
		"iat": now.Add(-30 * time.Second).Unix(),
		"exp": now.Add(9 * time.Minute).Unix(),
		"iss": strconv.FormatInt(appID, 10),
	})
}

// signJWT signs claims with RS256.
func signJWT(key *rsa.PrivateKey, claims map[string]any) (string, error) {
	h, err := json.Marshal(map[string]string{"alg": "RS256", "typ": "JWT"})
	if err != nil {
		return "", fmt.Errorf("sign app jwt: %w", err)
	}
	c, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("sign app jwt: %w", err)
	}
	signing := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c)
	sum := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		return "", fmt.Errorf("sign app jwt: %w", err)
	}
	return signing + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}
