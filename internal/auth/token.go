package auth

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"

	"pingan/internal/store"
)

// Token format: "pt1." + base64url(JSON claims) + "." + base64url(HMAC-SHA256
// over the text before the last dot, keyed with the stored secret).
const tokenPrefix = "pt1."

// Token kinds.
const (
	kindUser = "u" // login token
	kindJoin = "j" // room join token for a guest
)

// claims is a token's signed payload.
type claims struct {
	Kind string `json:"k"`
	ID   string `json:"id"`
	Sub  string `json:"sub"` // username, or the guest's display name
	IAT  int64  `json:"iat"`
	Exp  int64  `json:"exp"`
	Gen  uint64 `json:"gen,omitempty"`  // user's token generation (kindUser)
	Room string `json:"room,omitempty"` // kindJoin
	Role Role   `json:"role,omitempty"` // kindJoin
}

// tokenID is a Principal.TokenID: the token's id and its expiry, so Logout
// knows how long the revocation must be kept.
func (c claims) tokenID() string { return c.ID + "." + strconv.FormatInt(c.Exp, 10) }

func (s *Service) sign(c claims) string {
	body, _ := json.Marshal(c)
	msg := tokenPrefix + base64.RawURLEncoding.EncodeToString(body)
	return msg + "." + base64.RawURLEncoding.EncodeToString(s.mac(msg))
}

func (s *Service) mac(msg string) []byte {
	m := hmac.New(sha256.New, s.secret)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

// parse checks a token's signature and expiry and returns its claims.
func (s *Service) parse(tok string) (claims, error) {
	var c claims
	if len(tok) > maxTokenLen || !strings.HasPrefix(tok, tokenPrefix) {
		return c, ErrInvalidToken
	}
	i := strings.LastIndexByte(tok, '.')
	msg, sig := tok[:i], tok[i+1:]
	mac, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(mac, s.mac(msg)) {
		return c, ErrInvalidToken
	}
	body, err := base64.RawURLEncoding.DecodeString(msg[len(tokenPrefix):])
	if err != nil || json.Unmarshal(body, &c) != nil || c.ID == "" {
		return c, ErrInvalidToken
	}
	if s.now().Unix() >= c.Exp {
		return c, ErrInvalidToken
	}
	return c, nil
}

// Login checks a username and password from source (the caller's address)
// and returns a signed token and its expiry. Failures are throttled per
// username and per address (ErrThrottled, a *ThrottledError); every answer
// for a wrong name, wrong password or disabled user is ErrBadCredentials.
func (s *Service) Login(ctx context.Context, username, password, source string) (string, time.Time, error) {
	keys := throttleKeys(username, source)
	if err := s.checkThrottle(ctx, keys); err != nil {
		s.log.Info("login throttled", "username", trunc(username), "source", source)
		return "", time.Time{}, err
	}
	u, _, err := s.getUser(ctx, username)
	if err != nil && !errors.Is(err, ErrNoUser) {
		return "", time.Time{}, err
	}
	hash := u.Hash
	if err != nil {
		hash = s.dummy()
	}
	pwErr := bcrypt.CompareHashAndPassword(hash, []byte(password))
	if err != nil || pwErr != nil || u.Disabled {
		reason := "wrong password"
		switch {
		case err != nil:
			reason = "unknown user"
		case u.Disabled && pwErr == nil:
			reason = "disabled"
		}
		if ferr := s.recordFailure(ctx, keys); ferr != nil {
			return "", time.Time{}, ferr
		}
		s.auditIn(ctx, u.Region, Entry{Actor: trunc(username), Action: ActionLoginFailed,
			Target: trunc(username), Source: source, Detail: reason})
		return "", time.Time{}, ErrBadCredentials
	}
	if err := s.resetUser(ctx, username); err != nil {
		return "", time.Time{}, err
	}
	now := s.now()
	exp := now.Add(s.cfg.TokenTTL.D()).Truncate(time.Second)
	tok := s.sign(claims{Kind: kindUser, ID: randomID(12), Sub: username,
		IAT: now.Unix(), Exp: exp.Unix(), Gen: u.Gen})
	s.auditIn(ctx, u.Region, Entry{Actor: username, Action: ActionLogin, Target: username, Source: source})
	return tok, exp.UTC(), nil
}

// trunc bounds attacker-chosen strings before they reach logs.
func trunc(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

// Authenticate turns a bearer string into a principal: a login token (the
// user must exist, not be disabled, and still be on the token's
// generation), an API key ("pk_…") or a room join token. Anything else, and
// any expired or revoked token, is ErrInvalidToken.
func (s *Service) Authenticate(ctx context.Context, token string) (Principal, error) {
	if strings.HasPrefix(token, apiKeyPrefix) {
		return s.authAPIKey(ctx, token)
	}
	c, err := s.parse(token)
	if err != nil {
		return Principal{}, err
	}
	var p Principal
	switch c.Kind {
	case kindUser:
		u, _, err := s.getUser(ctx, c.Sub)
		if errors.Is(err, ErrNoUser) {
			return Principal{}, ErrInvalidToken
		}
		if err != nil {
			return Principal{}, err
		}
		if u.Disabled || u.Gen != c.Gen {
			return Principal{}, ErrInvalidToken
		}
		p = Principal{Username: u.Username, Role: u.Role, Region: u.Region, TokenID: c.tokenID()}
	case kindJoin:
		if c.Room == "" || !c.Role.Valid() {
			return Principal{}, ErrInvalidToken
		}
		p = Principal{Username: "guest:" + c.Sub, Role: c.Role, TokenID: c.tokenID(), Room: c.Room}
	default:
		return Principal{}, ErrInvalidToken
	}
	_, err = s.st.Get(ctx, keyRevokedPref+c.ID)
	switch {
	case err == nil:
		return Principal{}, ErrInvalidToken
	case !errors.Is(err, store.ErrNotFound):
		return Principal{}, fmt.Errorf("auth: check revocation: %w", err)
	}
	return p, nil
}

// Logout revokes the token p authenticated with until it would have
// expired. A principal from an API key is left alone (an admin revokes keys).
func (s *Service) Logout(ctx context.Context, p Principal) error {
	id, expText, ok := strings.Cut(p.TokenID, ".")
	if !ok || id == "" {
		return nil
	}
	exp, err := strconv.ParseInt(expText, 10, 64)
	if err != nil {
		return nil
	}
	ttl := time.Unix(exp, 0).Sub(s.now())
	if ttl > 0 {
		if _, err := s.st.Put(ctx, keyRevokedPref+id, []byte(p.Username), store.AnyVersion, ttl+time.Second); err != nil {
			return fmt.Errorf("auth: revoke token: %w", err)
		}
	}
	s.auditIn(ctx, p.Region, Entry{Actor: p.Username, Action: ActionLogout, Target: p.Username})
	return nil
}

// ChangePassword sets p's password after checking the old one; all of p's
// tokens, the current one included, stop working. A wrong old password is
// ErrBadCredentials and counts toward the username's login throttle.
func (s *Service) ChangePassword(ctx context.Context, p Principal, old, new string) error {
	if p.Room != "" || strings.HasPrefix(p.TokenID, apiKeyTokenPref) {
		return forbiddenf("only a user has a password")
	}
	if err := ValidatePassword(new); err != nil {
		return err
	}
	keys := throttleKeys(p.Username, "")
	if err := s.checkThrottle(ctx, keys); err != nil {
		return err
	}
	u, _, err := s.getUser(ctx, p.Username)
	if err != nil {
		return err
	}
	if bcrypt.CompareHashAndPassword(u.Hash, []byte(old)) != nil {
		if err := s.recordFailure(ctx, keys); err != nil {
			return err
		}
		return ErrBadCredentials
	}
	hash, err := s.hash(new)
	if err != nil {
		return err
	}
	_, err = s.modifyUser(ctx, p.Username, func(u *userRecord) error {
		u.Hash = hash
		u.PasswordChanged = s.now().UTC()
		u.Updated = u.PasswordChanged
		u.Gen++
		return nil
	})
	if err != nil {
		return err
	}
	s.auditIn(ctx, u.Region, Entry{Actor: p.Username, Action: ActionPasswordChange, Target: p.Username})
	return nil
}

// IssueJoinToken signs a token that lets a guest called name into one room
// with role for ttl (the login token TTL when ttl <= 0). Authenticate
// returns Principal{Username: "guest:"+name, Role: role, Room: room} for it.
func (s *Service) IssueJoinToken(room, name string, role Role, ttl time.Duration) string {
	if ttl <= 0 {
		ttl = s.cfg.TokenTTL.D()
	}
	now := s.now()
	return s.sign(claims{Kind: kindJoin, ID: randomID(12), Sub: name, IAT: now.Unix(),
		Exp: now.Add(ttl).Unix(), Room: room, Role: role})
}
