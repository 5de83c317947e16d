package auth

import (
	"errors"
	"fmt"
	"time"
)

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
	// ErrForbidden: the acting principal may not do this (wrong role, a
	// region outside its scope, or an action on itself that would lock it out).
	ErrForbidden = errors.New("auth: not allowed")
	// ErrNoAPIKey: no API key with that id (or not in the caller's scope).
	ErrNoAPIKey = errors.New("auth: no such API key")
)

// ThrottledError is returned by Login while a username or source address is
// locked; errors.Is(err, ErrThrottled) holds.
type ThrottledError struct {
	// RetryAfter is how long until the window that locked the login ends.
	RetryAfter time.Duration
}

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("%v (retry in %s)", ErrThrottled, e.RetryAfter.Round(time.Second))
}

// Is makes errors.Is(err, ErrThrottled) true.
func (e *ThrottledError) Is(target error) bool { return target == ErrThrottled }

func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

func forbiddenf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrForbidden, fmt.Sprintf(format, args...))
}
