package auth

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"time"

	"pingan/internal/store"
)

// AdminUsername is the bootstrap administrator.
const AdminUsername = "admin"

// Password length bounds (bcrypt reads at most 72 bytes).
const (
	MinPasswordLen = 8
	MaxPasswordLen = 72
)

var (
	usernameRe = regexp.MustCompile(`^[A-Za-z0-9_.-]{2,64}$`)
	regionRe   = regexp.MustCompile(`^(?:[0-9]{2}|[0-9]{4}|[0-9]{6}|[0-9]{9})$`)
)

// User is an account as the API shows it; the password hash never leaves
// the package.
type User struct {
	Username        string    `json:"username"`
	Role            Role      `json:"role"`
	Region          string    `json:"region"`
	Disabled        bool      `json:"disabled"`
	Created         time.Time `json:"created"`
	Updated         time.Time `json:"updated"`
	PasswordChanged time.Time `json:"password_changed"`
}

// NewUser is what CreateUser needs.
type NewUser struct {
	Username string `json:"username"`
	Password string `json:"password"`
	Role     Role   `json:"role"`
	Region   string `json:"region"`
}

// UserUpdate changes the non-nil fields of a user.
type UserUpdate struct {
	Role     *Role   `json:"role,omitempty"`
	Region   *string `json:"region,omitempty"`
	Disabled *bool   `json:"disabled,omitempty"`
	Password *string `json:"password,omitempty"`
}

// userRecord is the stored form: the user, the bcrypt hash and the token
// generation. Tokens carry the generation they were issued under; bumping
// it revokes them all.
type userRecord struct {
	User
	Hash []byte `json:"hash"`
	Gen  uint64 `json:"gen"`
}

// ValidateUsername checks the 2–64 characters of letters, digits, _ . -.
func ValidateUsername(name string) error {
	if !usernameRe.MatchString(name) {
		return invalidf("username must be 2-64 letters, digits, '_', '.' or '-'")
	}
	return nil
}

// ValidatePassword checks the length bounds.
func ValidatePassword(pw string) error {
	if len(pw) < MinPasswordLen || len(pw) > MaxPasswordLen {
		return invalidf("password must be %d-%d bytes", MinPasswordLen, MaxPasswordLen)
	}
	return nil
}

// ValidateScope checks a role and a region scope: the role must be known and
// the region a GB/T 2260 prefix of 2, 4, 6 or 9 digits; "" (everything) is
// reserved for admins.
func ValidateScope(role Role, region string) error {
	if !role.Valid() {
		return invalidf("unknown role %q", role)
	}
	if region == "" {
		if role != RoleAdmin {
			return invalidf("region is required for role %s", role)
		}
		return nil
	}
	if !regionRe.MatchString(region) {
		return invalidf("region must be a GB/T 2260 code of 2, 4, 6 or 9 digits")
	}
	return nil
}

func userKey(name string) string { return keyUserPrefix + name }

// firstGen starts a new user's generation at a random value, so a user
// deleted and created again does not revive the old account's tokens.
func firstGen() uint64 { return binary.BigEndian.Uint64(randomBytes(8)) >> 2 }

// getUser reads a user record and its version.
func (s *Service) getUser(ctx context.Context, name string) (userRecord, uint64, error) {
	var u userRecord
	if ValidateUsername(name) != nil {
		return u, 0, ErrNoUser
	}
	rec, err := s.st.Get(ctx, userKey(name))
	if errors.Is(err, store.ErrNotFound) {
		return u, 0, ErrNoUser
	}
	if err != nil {
		return u, 0, fmt.Errorf("auth: get user: %w", err)
	}
	if err := json.Unmarshal(rec.Value, &u); err != nil {
		return u, 0, fmt.Errorf("auth: user %q: corrupt record: %w", name, err)
	}
	return u, rec.Version, nil
}

// GetUser returns one user or ErrNoUser.
func (s *Service) GetUser(ctx context.Context, name string) (User, error) {
	u, _, err := s.getUser(ctx, name)
	return u.User, err
}

// ListUsers returns the users whose region lies inside scope ("" = all), by name.
func (s *Service) ListUsers(ctx context.Context, scope string) ([]User, error) {
	recs, err := s.st.Scan(ctx, keyUserPrefix, "", 0)
	if err != nil {
		return nil, fmt.Errorf("auth: list users: %w", err)
	}
	out := make([]User, 0, len(recs))
	for _, rec := range recs {
		var u userRecord
		if err := json.Unmarshal(rec.Value, &u); err != nil {
			s.log.Warn("skipping corrupt user record", "key", rec.Key, "err", err)
			continue
		}
		if InScope(scope, u.Region) {
			out = append(out, u.User)
		}
	}
	return out, nil
}

// requireAdmin checks that by is an admin whose scope covers region.
func requireAdmin(by Principal, region string) error {
	if !by.Is(RoleAdmin) || by.Room != "" {
		return forbiddenf("only an admin may manage users")
	}
	if !by.InScope(region) {
		return forbiddenf("region %q is outside your scope %q", region, by.Region)
	}
	return nil
}

// CreateUser adds a user. by must be an admin whose scope covers the new
// user's region.
func (s *Service) CreateUser(ctx context.Context, by Principal, nu NewUser) (User, error) {
	if err := ValidateUsername(nu.Username); err != nil {
		return User{}, err
	}
	if err := ValidatePassword(nu.Password); err != nil {
		return User{}, err
	}
	if err := ValidateScope(nu.Role, nu.Region); err != nil {
		return User{}, err
	}
	if err := requireAdmin(by, nu.Region); err != nil {
		return User{}, err
	}
	u, err := s.createUser(ctx, nu)
	if err != nil {
		return User{}, err
	}
	s.auditIn(ctx, u.Region, Entry{
		Actor: by.Username, Action: ActionUserCreate, Target: u.Username,
		Detail: fmt.Sprintf("role=%s region=%s", u.Role, u.Region),
	})
	return u, nil
}

// createUser stores a new user record (no checks of who asks).
func (s *Service) createUser(ctx context.Context, nu NewUser) (User, error) {
	h, err := s.hash(nu.Password)
	if err != nil {
		return User{}, err
	}
	now := s.now().UTC()
	rec := userRecord{
		User: User{Username: nu.Username, Role: nu.Role, Region: nu.Region,
			Created: now, Updated: now, PasswordChanged: now},
		Hash: h, Gen: firstGen(),
	}
	val, err := json.Marshal(rec)
	if err != nil {
		return User{}, fmt.Errorf("auth: encode user: %w", err)
	}
	if _, err := s.st.Put(ctx, userKey(nu.Username), val, 0, 0); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return User{}, ErrUserExists
		}
		return User{}, fmt.Errorf("auth: create user: %w", err)
	}
	return rec.User, nil
}

// UpdateUser changes a user's role, region, disabled flag or password. by
// must be an admin whose scope covers the user's current and new region. A
// change of password, role, region or disabled bumps the user's token
// generation, so every token issued before stops working.
func (s *Service) UpdateUser(ctx context.Context, by Principal, name string, up UserUpdate) (User, error) {
	if up.Password != nil {
		if err := ValidatePassword(*up.Password); err != nil {
			return User{}, err
		}
	}
	var hash []byte
	if up.Password != nil {
		h, err := s.hash(*up.Password)
		if err != nil {
			return User{}, err
		}
		hash = h
	}
	var detail string
	u, err := s.modifyUser(ctx, name, func(u *userRecord) error {
		if !by.InScope(u.Region) {
			return ErrNoUser // do not reveal users outside the scope
		}
		if err := requireAdmin(by, u.Region); err != nil {
			return err
		}
		var changed bool
		changed, detail = applyUpdate(u, up, hash)
		if !changed {
			return nil
		}
		if err := ValidateScope(u.Role, u.Region); err != nil {
			return err
		}
		if !by.InScope(u.Region) {
			return forbiddenf("region %q is outside your scope %q", u.Region, by.Region)
		}
		if u.Username == by.Username && (u.Disabled || u.Role != RoleAdmin) {
			return forbiddenf("you cannot disable yourself or give up your admin role")
		}
		u.Updated = s.now().UTC()
		if hash != nil {
			u.PasswordChanged = u.Updated
		}
		u.Gen++
		return nil
	})
	if err != nil {
		return User{}, err
	}
	if detail != "" {
		s.auditIn(ctx, u.Region, Entry{Actor: by.Username, Action: ActionUserUpdate, Target: name, Detail: detail})
	}
	return u.User, nil
}

// applyUpdate copies the set fields of up into u and describes the change.
func applyUpdate(u *userRecord, up UserUpdate, hash []byte) (changed bool, detail string) {
	add := func(s string) {
		if detail != "" {
			detail += " "
		}
		detail += s
	}
	if up.Role != nil && *up.Role != u.Role {
		add(fmt.Sprintf("role=%s->%s", u.Role, *up.Role))
		u.Role = *up.Role
	}
	if up.Region != nil && *up.Region != u.Region {
		add(fmt.Sprintf("region=%s->%s", u.Region, *up.Region))
		u.Region = *up.Region
	}
	if up.Disabled != nil && *up.Disabled != u.Disabled {
		add(fmt.Sprintf("disabled=%t", *up.Disabled))
		u.Disabled = *up.Disabled
	}
	if hash != nil {
		add("password reset")
		u.Hash = hash
	}
	return detail != "", detail
}

// modifyUser reads a user, lets fn change it and writes it back with a
// version check, retrying when another writer got there first.
func (s *Service) modifyUser(ctx context.Context, name string, fn func(*userRecord) error) (userRecord, error) {
	for range conflictRetries {
		u, ver, err := s.getUser(ctx, name)
		if err != nil {
			return u, err
		}
		before, _ := json.Marshal(u)
		if err := fn(&u); err != nil {
			return u, err
		}
		val, err := json.Marshal(u)
		if err != nil {
			return u, fmt.Errorf("auth: encode user: %w", err)
		}
		if string(val) == string(before) {
			return u, nil
		}
		_, err = s.st.Put(ctx, userKey(name), val, ver, 0)
		if err == nil {
			return u, nil
		}
		if !errors.Is(err, store.ErrConflict) {
			return u, fmt.Errorf("auth: update user: %w", err)
		}
	}
	return userRecord{}, fmt.Errorf("auth: update user %q: %w", name, store.ErrConflict)
}

// DeleteUser removes a user; their tokens stop working at once. by must be
// an admin whose scope covers the user, and may not delete themselves.
func (s *Service) DeleteUser(ctx context.Context, by Principal, name string) error {
	u, ver, err := s.getUser(ctx, name)
	if err != nil {
		return err
	}
	if !by.InScope(u.Region) {
		return ErrNoUser
	}
	if err := requireAdmin(by, u.Region); err != nil {
		return err
	}
	if name == by.Username {
		return forbiddenf("you cannot delete yourself")
	}
	if err := s.st.Delete(ctx, userKey(name), ver); err != nil {
		return fmt.Errorf("auth: delete user %q: %w", name, err)
	}
	s.auditIn(ctx, u.Region, Entry{Actor: by.Username, Action: ActionUserDelete, Target: name})
	return nil
}

// EnsureAdmin creates the bootstrap user "admin" (role admin, unscoped) when
// no such user exists. With password "" it generates a random one and
// returns it, for the caller to log once; only its hash is stored. When the
// admin already exists it changes nothing and returns "".
func (s *Service) EnsureAdmin(ctx context.Context, password string) (generated string, err error) {
	if _, _, err := s.getUser(ctx, AdminUsername); err == nil {
		return "", nil
	} else if !errors.Is(err, ErrNoUser) {
		return "", err
	}
	pw := password
	if pw == "" {
		pw = randomPassword()
	}
	if err := ValidatePassword(pw); err != nil {
		return "", fmt.Errorf("auth.admin_password: %w", err)
	}
	_, err = s.createUser(ctx, NewUser{Username: AdminUsername, Password: pw, Role: RoleAdmin})
	if errors.Is(err, ErrUserExists) {
		return "", nil // another node created it first
	}
	if err != nil {
		return "", err
	}
	s.auditIn(ctx, "", Entry{Actor: "system", Action: ActionUserCreate, Target: AdminUsername, Detail: "bootstrap admin"})
	if password != "" {
		return "", nil
	}
	return pw, nil
}

// randomPassword returns 20 characters from an alphabet without look-alikes
// (rejection sampling keeps every character equally likely).
func randomPassword() string {
	const alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	const limit = 256 - 256%len(alphabet)
	out := make([]byte, 0, 20)
	for len(out) < cap(out) {
		for _, c := range randomBytes(32) {
			if int(c) < limit && len(out) < cap(out) {
				out = append(out, alphabet[int(c)%len(alphabet)])
			}
		}
	}
	return string(out)
}
