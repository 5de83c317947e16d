package auth

import "errors"

// Sentinel errors.
var (
	// ErrBadCredentials: unknown user, wrong password or disabled user (one
	// error, so a login attempt does not reveal which).
	ErrBadCredentials = errors.New("auth: bad username or password")
	// ErrThrottled: too many failed logins for this username or source address.
	ErrThrottled = errors.New("auth: too many failed attempts, try again later")
	// ErrInvalidToken: malformed, forged, expired or revoked token.
	ErrInvalidToken = errors.New("auth: invalid or expired token")
	// ErrUserExists, ErrNoUser: user management.
	ErrUserExists = errors.New("auth: user exists")
	ErrNoUser     = errors.New("auth: no such user")
	// ErrInvalid: a field failed validation (wrapped with details).
	ErrInvalid = errors.New("auth: invalid")
)
