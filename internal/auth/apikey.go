package auth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"pingan/internal/store"
)

// An API key is "pk_" + id + "_" + secret (hex). The store keeps only the
// SHA-256 of the whole key: the secret has 256 bits of entropy, so a slow
// hash adds nothing.
const (
	apiKeyPrefix    = "pk_"
	apiKeyTokenPref = "key:" // Principal.TokenID of an API key
	apiKeyActorPref = "apikey:"
)

// APIKey describes a key for an integration; the key itself is shown once,
// when created.
type APIKey struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Role      Role      `json:"role"`
	Region    string    `json:"region"`
	Created   time.Time `json:"created"`
	CreatedBy string    `json:"created_by"`
}

type apiKeyRecord struct {
	APIKey
	Hash string `json:"hash"` // hex SHA-256 of the full key
}

func apiKeyHash(key string) string {
	h := sha256.Sum256([]byte(key))
	return hex.EncodeToString(h[:])
}

// validateKeyName accepts 1–64 printable characters.
func validateKeyName(name string) error {
	if name == "" || utf8.RuneCountInString(name) > 64 || !utf8.ValidString(name) {
		return invalidf("name must be 1-64 characters")
	}
	for _, r := range name {
		if !unicode.IsPrint(r) {
			return invalidf("name must be printable")
		}
	}
	return nil
}

// CreateAPIKey makes a key for an integration with role and region (the
// same scope rules as users). It returns the key's description and the
// plaintext key, which is not stored and cannot be shown again.
func (s *Service) CreateAPIKey(ctx context.Context, by Principal, name string, role Role, region string) (APIKey, string, error) {
	if err := validateKeyName(name); err != nil {
		return APIKey{}, "", err
	}
	if err := ValidateScope(role, region); err != nil {
		return APIKey{}, "", err
	}
	if err := requireAdmin(by, region); err != nil {
		return APIKey{}, "", err
	}
	id := randomID(8)
	key := apiKeyPrefix + id + "_" + randomID(32)
	rec := apiKeyRecord{
		APIKey: APIKey{ID: id, Name: name, Role: role, Region: region,
			Created: s.now().UTC(), CreatedBy: by.Username},
		Hash: apiKeyHash(key),
	}
	val, err := json.Marshal(rec)
	if err != nil {
		return APIKey{}, "", fmt.Errorf("auth: encode API key: %w", err)
	}
	if _, err := s.st.Put(ctx, keyAPIKeyPrefix+id, val, 0, 0); err != nil {
		return APIKey{}, "", fmt.Errorf("auth: store API key: %w", err)
	}
	s.auditIn(ctx, region, Entry{Actor: by.Username, Action: ActionAPIKeyCreate, Target: id,
		Detail: fmt.Sprintf("name=%q role=%s region=%s", name, role, region)})
	return rec.APIKey, key, nil
}

// getAPIKey reads a key record.
func (s *Service) getAPIKey(ctx context.Context, id string) (apiKeyRecord, uint64, error) {
	var k apiKeyRecord
	if len(id) != 16 || strings.Trim(id, "0123456789abcdef") != "" {
		return k, 0, ErrNoAPIKey
	}
	rec, err := s.st.Get(ctx, keyAPIKeyPrefix+id)
	if errors.Is(err, store.ErrNotFound) {
		return k, 0, ErrNoAPIKey
	}
	if err != nil {
		return k, 0, fmt.Errorf("auth: get API key: %w", err)
	}
	if err := json.Unmarshal(rec.Value, &k); err != nil {
		return k, 0, fmt.Errorf("auth: API key %s: corrupt record: %w", id, err)
	}
	return k, rec.Version, nil
}

// ListAPIKeys returns the keys whose region lies inside scope ("" = all).
func (s *Service) ListAPIKeys(ctx context.Context, scope string) ([]APIKey, error) {
	recs, err := s.st.Scan(ctx, keyAPIKeyPrefix, "", 0)
	if err != nil {
		return nil, fmt.Errorf("auth: list API keys: %w", err)
	}
	out := make([]APIKey, 0, len(recs))
	for _, rec := range recs {
		var k apiKeyRecord
		if err := json.Unmarshal(rec.Value, &k); err != nil {
			s.log.Warn("skipping corrupt API key record", "key", rec.Key, "err", err)
			continue
		}
		if InScope(scope, k.Region) {
			out = append(out, k.APIKey)
		}
	}
	return out, nil
}

// RevokeAPIKey deletes a key; requests using it fail at once. by must be an
// admin whose scope covers the key's region.
func (s *Service) RevokeAPIKey(ctx context.Context, by Principal, id string) error {
	k, ver, err := s.getAPIKey(ctx, id)
	if err != nil {
		return err
	}
	if !by.InScope(k.Region) {
		return ErrNoAPIKey
	}
	if err := requireAdmin(by, k.Region); err != nil {
		return err
	}
	if err := s.st.Delete(ctx, keyAPIKeyPrefix+id, ver); err != nil {
		return fmt.Errorf("auth: revoke API key %s: %w", id, err)
	}
	s.auditIn(ctx, k.Region, Entry{Actor: by.Username, Action: ActionAPIKeyRevoke, Target: id,
		Detail: fmt.Sprintf("name=%q", k.Name)})
	return nil
}

// authAPIKey checks a "pk_…" bearer string.
func (s *Service) authAPIKey(ctx context.Context, key string) (Principal, error) {
	id, _, ok := strings.Cut(strings.TrimPrefix(key, apiKeyPrefix), "_")
	if !ok || len(key) > maxTokenLen {
		return Principal{}, ErrInvalidToken
	}
	k, _, err := s.getAPIKey(ctx, id)
	if errors.Is(err, ErrNoAPIKey) {
		return Principal{}, ErrInvalidToken
	}
	if err != nil {
		return Principal{}, err
	}
	if subtle.ConstantTimeCompare([]byte(apiKeyHash(key)), []byte(k.Hash)) != 1 {
		return Principal{}, ErrInvalidToken
	}
	return Principal{Username: apiKeyActorPref + k.Name, Role: k.Role, Region: k.Region,
		TokenID: apiKeyTokenPref + k.ID}, nil
}
