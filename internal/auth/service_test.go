package auth_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"pingan/internal/auth"
)

func TestLogin(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		e.mustUser(t, "wang.li", "correct-horse", auth.RoleOperator, "1401")
		tok, exp, err := e.svc.Login(e.ctx, "wang.li", "correct-horse", "192.0.2.1:1234")
		if err != nil {
			t.Fatal(err)
		}
		if want := e.clock.Now().Add(time.Hour); !exp.Equal(want) {
			t.Errorf("expires %v, want %v", exp, want)
		}
		p := e.mustAuth(t, tok)
		if p.Username != "wang.li" || p.Role != auth.RoleOperator || p.Region != "1401" || p.Room != "" || p.TokenID == "" {
			t.Errorf("principal %+v", p)
		}
		for _, c := range []struct{ name, user, pw string }{
			{"wrong password", "wang.li", "wrong-horse"},
			{"unknown user", "nobody", "correct-horse"},
			{"malformed name", "a b/../c", "correct-horse"},
			{"empty password", "wang.li", ""},
		} {
			if _, _, err := e.svc.Login(e.ctx, c.user, c.pw, "192.0.2.2:1"); !errors.Is(err, auth.ErrBadCredentials) {
				t.Errorf("%s: err %v, want ErrBadCredentials", c.name, err)
			}
			e.clock.Advance(11 * time.Minute) // keep the throttle out of this test
		}
	})
}

func TestDisabledUser(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		e.mustUser(t, "grid01", "password1", auth.RoleGrid, "140105")
		tok := e.mustLogin(t, "grid01", "password1")
		off := true
		if _, err := e.svc.UpdateUser(e.ctx, root, "grid01", auth.UserUpdate{Disabled: &off}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.Authenticate(e.ctx, tok); !errors.Is(err, auth.ErrInvalidToken) {
			t.Errorf("token of disabled user: %v", err)
		}
		if _, _, err := e.svc.Login(e.ctx, "grid01", "password1", "192.0.2.1:1"); !errors.Is(err, auth.ErrBadCredentials) {
			t.Errorf("login of disabled user: %v", err)
		}
		on := false
		if _, err := e.svc.UpdateUser(e.ctx, root, "grid01", auth.UserUpdate{Disabled: &on}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.Authenticate(e.ctx, tok); !errors.Is(err, auth.ErrInvalidToken) {
			t.Errorf("old token after re-enabling: %v", err)
		}
		e.mustLogin(t, "grid01", "password1")
	})
}

func TestThrottleByUsername(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		e.mustUser(t, "zhao", "password1", auth.RoleLeader, "14")
		// Two failures, then a success resets the username counter.
		for i := range 2 {
			if _, _, err := e.svc.Login(e.ctx, "zhao", "bad-pass", addr(i)); !errors.Is(err, auth.ErrBadCredentials) {
				t.Fatal(err)
			}
		}
		e.mustLogin(t, "zhao", "password1")
		// Three failures from three addresses lock the username.
		for i := range 3 {
			if _, _, err := e.svc.Login(e.ctx, "zhao", "bad-pass", addr(10+i)); !errors.Is(err, auth.ErrBadCredentials) {
				t.Fatalf("attempt %d: %v", i, err)
			}
		}
		_, _, err := e.svc.Login(e.ctx, "zhao", "password1", addr(20))
		var te *auth.ThrottledError
		if !errors.Is(err, auth.ErrThrottled) || !errors.As(err, &te) || te.RetryAfter <= 0 || te.RetryAfter > 10*time.Minute {
			t.Fatalf("right password while locked: %v", err)
		}
		e.clock.Advance(9 * time.Minute)
		if _, _, err := e.svc.Login(e.ctx, "zhao", "password1", addr(21)); !errors.Is(err, auth.ErrThrottled) {
			t.Fatalf("still inside the window: %v", err)
		}
		e.clock.Advance(time.Minute)
		e.mustLogin(t, "zhao", "password1")
	})
}

func TestThrottleByAddress(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		e.mustUser(t, "qian", "password1", auth.RoleOperator, "1401")
		for i, name := range []string{"u1", "u2", "u3"} {
			if _, _, err := e.svc.Login(e.ctx, name, "whatever1", fmt.Sprintf("198.51.100.7:%d", 1000+i)); !errors.Is(err, auth.ErrBadCredentials) {
				t.Fatal(err)
			}
		}
		// The address is locked, even for another user with the right password.
		if _, _, err := e.svc.Login(e.ctx, "qian", "password1", "198.51.100.7:9999"); !errors.Is(err, auth.ErrThrottled) {
			t.Fatalf("locked address: %v", err)
		}
		// Another address is not.
		if _, _, err := e.svc.Login(e.ctx, "qian", "password1", "198.51.100.8:1"); err != nil {
			t.Fatalf("other address: %v", err)
		}
		e.clock.Advance(10 * time.Minute)
		if _, _, err := e.svc.Login(e.ctx, "qian", "password1", "198.51.100.7:1"); err != nil {
			t.Fatalf("after the window: %v", err)
		}
	})
}

func addr(i int) string { return fmt.Sprintf("203.0.113.%d:40000", i+1) }

func TestTokenExpiry(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		e.mustUser(t, "sun", "password1", auth.RoleTrainer, "14")
		tok := e.mustLogin(t, "sun", "password1")
		e.clock.Advance(time.Hour - time.Second)
		e.mustAuth(t, tok)
		e.clock.Advance(time.Second)
		if _, err := e.svc.Authenticate(e.ctx, tok); !errors.Is(err, auth.ErrInvalidToken) {
			t.Errorf("expired token: %v", err)
		}
	})
}

func TestTamperedTokens(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		e.mustUser(t, "li", "password1", auth.RoleOperator, "14")
		tok := e.mustLogin(t, "li", "password1")
		body, sig, _ := strings.Cut(strings.TrimPrefix(tok, "pt1."), ".")
		cases := []string{
			"", "pt1.", "pt1..", "pt1.x.y", tok + "x", tok[:len(tok)-2],
			"pt1." + body + "." + strings.Repeat("A", len(sig)),
			"pt1." + strings.Repeat("e", len(body)) + "." + sig,
			"Bearer " + tok, "pk_", "pk_zz_zz", "pk_0123456789abcdef_00",
			strings.Repeat("pt1.", 2000),
		}
		for _, c := range cases {
			if _, err := e.svc.Authenticate(e.ctx, c); !errors.Is(err, auth.ErrInvalidToken) {
				t.Errorf("%.40q: err %v", c, err)
			}
		}
		// A token signed by another installation's secret is refused.
		other := newEnv(t, openBolt(t, filepath.Join(t.TempDir(), "other.db")))
		other.mustUser(t, "li", "password1", auth.RoleOperator, "14")
		if _, err := e.svc.Authenticate(e.ctx, other.mustLogin(t, "li", "password1")); !errors.Is(err, auth.ErrInvalidToken) {
			t.Errorf("foreign token: %v", err)
		}
	})
}

func TestLogoutRevokes(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		e.mustUser(t, "zhou", "password1", auth.RoleMediator, "1401")
		t1, t2 := e.mustLogin(t, "zhou", "password1"), e.mustLogin(t, "zhou", "password1")
		if err := e.svc.Logout(e.ctx, e.mustAuth(t, t1)); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.Authenticate(e.ctx, t1); !errors.Is(err, auth.ErrInvalidToken) {
			t.Errorf("logged-out token: %v", err)
		}
		e.mustAuth(t, t2)
	})
}

func TestPasswordChangeRevokes(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		e.mustUser(t, "wu", "password1", auth.RoleOperator, "1401")
		tok := e.mustLogin(t, "wu", "password1")
		p := e.mustAuth(t, tok)
		if err := e.svc.ChangePassword(e.ctx, p, "not-it-at-all", "password2"); !errors.Is(err, auth.ErrBadCredentials) {
			t.Errorf("wrong old password: %v", err)
		}
		if err := e.svc.ChangePassword(e.ctx, p, "password1", "short"); !errors.Is(err, auth.ErrInvalid) {
			t.Errorf("short new password: %v", err)
		}
		if err := e.svc.ChangePassword(e.ctx, p, "password1", "password2"); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.Authenticate(e.ctx, tok); !errors.Is(err, auth.ErrInvalidToken) {
			t.Errorf("token after password change: %v", err)
		}
		if _, _, err := e.svc.Login(e.ctx, "wu", "password1", "192.0.2.9:1"); !errors.Is(err, auth.ErrBadCredentials) {
			t.Errorf("old password: %v", err)
		}
		e.mustLogin(t, "wu", "password2")
	})
}

func TestAdminChangesRevoke(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		e.mustUser(t, "zheng", "password1", auth.RoleOperator, "1401")
		role, region, pw := auth.RoleLeader, "140105", "password9"
		for _, up := range []auth.UserUpdate{{Role: &role}, {Region: &region}, {Password: &pw}} {
			tok := e.mustLogin(t, "zheng", "password1")
			if up.Password != nil {
				tok = e.mustLogin(t, "zheng", "password1")
			}
			if _, err := e.svc.UpdateUser(e.ctx, root, "zheng", up); err != nil {
				t.Fatal(err)
			}
			if _, err := e.svc.Authenticate(e.ctx, tok); !errors.Is(err, auth.ErrInvalidToken) {
				t.Errorf("token after %+v: %v", up, err)
			}
		}
		u, err := e.svc.GetUser(e.ctx, "zheng")
		if err != nil || u.Role != auth.RoleLeader || u.Region != "140105" {
			t.Errorf("user %+v, %v", u, err)
		}
		e.mustLogin(t, "zheng", "password9")
		// A change that changes nothing keeps tokens.
		tok := e.mustLogin(t, "zheng", "password9")
		if _, err := e.svc.UpdateUser(e.ctx, root, "zheng", auth.UserUpdate{Role: &role}); err != nil {
			t.Fatal(err)
		}
		e.mustAuth(t, tok)
	})
}

func TestDeletedUserRecreated(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		e.mustUser(t, "feng", "password1", auth.RoleOperator, "1401")
		tok := e.mustLogin(t, "feng", "password1")
		if err := e.svc.DeleteUser(e.ctx, root, "feng"); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.GetUser(e.ctx, "feng"); !errors.Is(err, auth.ErrNoUser) {
			t.Errorf("deleted user: %v", err)
		}
		e.mustUser(t, "feng", "password1", auth.RoleOperator, "1401")
		if _, err := e.svc.Authenticate(e.ctx, tok); !errors.Is(err, auth.ErrInvalidToken) {
			t.Errorf("old account's token on the new account: %v", err)
		}
	})
}

func TestRegionScopedAdmin(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		e.mustUser(t, "ty-admin", "password1", auth.RoleAdmin, "1401")
		e.mustUser(t, "dt-op", "password1", auth.RoleOperator, "1402")
		ty := e.mustAuth(t, e.mustLogin(t, "ty-admin", "password1"))

		if _, err := e.svc.CreateUser(e.ctx, ty, auth.NewUser{Username: "xd-op", Password: "password1", Role: auth.RoleOperator, Region: "140105"}); err != nil {
			t.Fatalf("in scope: %v", err)
		}
		for _, nu := range []auth.NewUser{
			{Username: "dt2", Password: "password1", Role: auth.RoleOperator, Region: "1402"},
			{Username: "prov", Password: "password1", Role: auth.RoleOperator, Region: "14"},
			{Username: "super", Password: "password1", Role: auth.RoleAdmin, Region: ""},
		} {
			if _, err := e.svc.CreateUser(e.ctx, ty, nu); !errors.Is(err, auth.ErrForbidden) {
				t.Errorf("create in %q: %v", nu.Region, err)
			}
		}
		off := true
		if _, err := e.svc.UpdateUser(e.ctx, ty, "dt-op", auth.UserUpdate{Disabled: &off}); !errors.Is(err, auth.ErrNoUser) {
			t.Errorf("update outside scope: %v", err)
		}
		if err := e.svc.DeleteUser(e.ctx, ty, "dt-op"); !errors.Is(err, auth.ErrNoUser) {
			t.Errorf("delete outside scope: %v", err)
		}
		wide := "14"
		if _, err := e.svc.UpdateUser(e.ctx, ty, "xd-op", auth.UserUpdate{Region: &wide}); !errors.Is(err, auth.ErrForbidden) {
			t.Errorf("move a user out of scope: %v", err)
		}
		if _, err := e.svc.UpdateUser(e.ctx, ty, "ty-admin", auth.UserUpdate{Region: &wide}); !errors.Is(err, auth.ErrForbidden) {
			t.Errorf("widen own scope: %v", err)
		}
		if err := e.svc.DeleteUser(e.ctx, ty, "ty-admin"); !errors.Is(err, auth.ErrForbidden) {
			t.Errorf("delete self: %v", err)
		}
		users, err := e.svc.ListUsers(e.ctx, ty.Region)
		if err != nil {
			t.Fatal(err)
		}
		if got := names(users); got != "ty-admin,xd-op" {
			t.Errorf("scoped list %s", got)
		}
		op := auth.Principal{Username: "dt-op", Role: auth.RoleOperator, Region: "1402"}
		if _, err := e.svc.CreateUser(e.ctx, op, auth.NewUser{Username: "x1", Password: "password1", Role: auth.RoleGrid, Region: "1402"}); !errors.Is(err, auth.ErrForbidden) {
			t.Errorf("operator creates a user: %v", err)
		}
		if err := e.svc.DeleteUser(e.ctx, ty, "xd-op"); err != nil {
			t.Errorf("delete in scope: %v", err)
		}
	})
}

func names(us []auth.User) string {
	var s []string
	for _, u := range us {
		s = append(s, u.Username)
	}
	return strings.Join(s, ",")
}

func TestValidation(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		cases := []struct {
			nu   auth.NewUser
			want error
		}{
			{auth.NewUser{Username: "ok_user-1.x", Password: "password1", Role: auth.RoleGrid, Region: "140105001"}, nil},
			{auth.NewUser{Username: "a", Password: "password1", Role: auth.RoleGrid, Region: "14"}, auth.ErrInvalid},
			{auth.NewUser{Username: strings.Repeat("a", 65), Password: "password1", Role: auth.RoleGrid, Region: "14"}, auth.ErrInvalid},
			{auth.NewUser{Username: "bad name", Password: "password1", Role: auth.RoleGrid, Region: "14"}, auth.ErrInvalid},
			{auth.NewUser{Username: "user:x", Password: "password1", Role: auth.RoleGrid, Region: "14"}, auth.ErrInvalid},
			{auth.NewUser{Username: "shortpw", Password: "1234567", Role: auth.RoleGrid, Region: "14"}, auth.ErrInvalid},
			{auth.NewUser{Username: "longpw", Password: strings.Repeat("x", 73), Role: auth.RoleGrid, Region: "14"}, auth.ErrInvalid},
			{auth.NewUser{Username: "norole", Password: "password1", Role: "boss", Region: "14"}, auth.ErrInvalid},
			{auth.NewUser{Username: "badregion", Password: "password1", Role: auth.RoleGrid, Region: "141"}, auth.ErrInvalid},
			{auth.NewUser{Username: "letters", Password: "password1", Role: auth.RoleGrid, Region: "14ab"}, auth.ErrInvalid},
			{auth.NewUser{Username: "noregion", Password: "password1", Role: auth.RoleOperator, Region: ""}, auth.ErrInvalid},
			{auth.NewUser{Username: "ok_user-1.x", Password: "password1", Role: auth.RoleGrid, Region: "14"}, auth.ErrUserExists},
		}
		for _, c := range cases {
			_, err := e.svc.CreateUser(e.ctx, root, c.nu)
			if (c.want == nil && err != nil) || (c.want != nil && !errors.Is(err, c.want)) {
				t.Errorf("%+v: err %v, want %v", c.nu, err, c.want)
			}
		}
	})
}

func TestUserJSONHasNoHash(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		u := e.mustUser(t, "chen", "secret-password", auth.RoleOperator, "14")
		b, _ := json.Marshal(u)
		for _, bad := range []string{"hash", "gen", "secret-password", "$2a$"} {
			if strings.Contains(string(b), bad) {
				t.Errorf("user JSON %s contains %q", b, bad)
			}
		}
	})
}

func TestEnsureAdmin(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pingan.db")
	st := openBolt(t, path)
	e := newEnv(t, st)
	pw, err := e.svc.EnsureAdmin(e.ctx, "")
	if err != nil || len(pw) < 16 {
		t.Fatalf("generated %q, %v", pw, err)
	}
	p := e.mustAuth(t, e.mustLogin(t, "admin", pw))
	if p.Role != auth.RoleAdmin || p.Region != "" {
		t.Errorf("admin principal %+v", p)
	}
	for _, give := range []string{"", "another-password"} {
		again, err := e.svc.EnsureAdmin(e.ctx, give)
		if err != nil || again != "" {
			t.Errorf("second EnsureAdmin(%q) = %q, %v", give, again, err)
		}
	}
	rec, err := st.Get(e.ctx, "auth/user/admin")
	if err != nil || strings.Contains(string(rec.Value), pw) {
		t.Errorf("stored admin record holds the password or is missing: %v", err)
	}
	e.mustLogin(t, "admin", pw)

	// A configured password is used as is and not returned.
	e2 := newEnv(t, openBolt(t, filepath.Join(t.TempDir(), "b.db")))
	if got, err := e2.svc.EnsureAdmin(e2.ctx, "configured-pw"); err != nil || got != "" {
		t.Fatalf("configured: %q, %v", got, err)
	}
	e2.mustLogin(t, "admin", "configured-pw")
}

func TestSecretSharedAcrossRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pingan.db")
	st, err := openBoltNoCleanup(path)
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, st)
	e.mustUser(t, "he", "password1", auth.RoleOperator, "14")
	tok := e.mustLogin(t, "he", "password1")
	// A second node on the same store accepts the token.
	e.mustAuth(t, tok)
	if _, err := newService(t, st, e.clock).Authenticate(e.ctx, tok); err != nil {
		t.Errorf("second service: %v", err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st2 := openBolt(t, path)
	if _, err := newService(t, st2, e.clock).Authenticate(e.ctx, tok); err != nil {
		t.Errorf("after restart: %v", err)
	}
}

func TestAPIKeys(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		k, key, err := e.svc.CreateAPIKey(e.ctx, root, "12345 hotline", auth.RoleIntegration, "1401")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(key, "pk_") || k.ID == "" || k.CreatedBy != "admin" {
			t.Fatalf("key %q, %+v", key, k)
		}
		p := e.mustAuth(t, key)
		if p.Role != auth.RoleIntegration || p.Region != "1401" || p.Username != "apikey:12345 hotline" {
			t.Errorf("principal %+v", p)
		}
		if _, err := e.svc.Authenticate(e.ctx, key[:len(key)-1]+"x"); !errors.Is(err, auth.ErrInvalidToken) {
			t.Errorf("altered key: %v", err)
		}
		if err := e.svc.ChangePassword(e.ctx, p, "x", "password1"); !errors.Is(err, auth.ErrForbidden) {
			t.Errorf("API key changes a password: %v", err)
		}
		if _, _, err := e.svc.CreateAPIKey(e.ctx, root, "", auth.RoleIntegration, "14"); !errors.Is(err, auth.ErrInvalid) {
			t.Errorf("empty name: %v", err)
		}
		ty := auth.Principal{Username: "ty", Role: auth.RoleAdmin, Region: "1402"}
		if _, _, err := e.svc.CreateAPIKey(e.ctx, ty, "x", auth.RoleIntegration, "1401"); !errors.Is(err, auth.ErrForbidden) {
			t.Errorf("out of scope: %v", err)
		}
		keys, err := e.svc.ListAPIKeys(e.ctx, "")
		if err != nil || len(keys) != 1 || keys[0].ID != k.ID {
			t.Fatalf("list %+v, %v", keys, err)
		}
		if keys, _ := e.svc.ListAPIKeys(e.ctx, "1402"); len(keys) != 0 {
			t.Errorf("scoped list %+v", keys)
		}
		if err := e.svc.RevokeAPIKey(e.ctx, ty, k.ID); !errors.Is(err, auth.ErrNoAPIKey) {
			t.Errorf("revoke out of scope: %v", err)
		}
		if err := e.svc.RevokeAPIKey(e.ctx, root, k.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.Authenticate(e.ctx, key); !errors.Is(err, auth.ErrInvalidToken) {
			t.Errorf("revoked key: %v", err)
		}
		if err := e.svc.RevokeAPIKey(e.ctx, root, k.ID); !errors.Is(err, auth.ErrNoAPIKey) {
			t.Errorf("revoke twice: %v", err)
		}
	})
}

func TestJoinToken(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		tok := e.svc.IssueJoinToken("room-7", "Party A", auth.RoleMediator, 30*time.Minute)
		p := e.mustAuth(t, tok)
		if p.Username != "guest:Party A" || p.Role != auth.RoleMediator || p.Room != "room-7" || p.Region != "" {
			t.Errorf("guest principal %+v", p)
		}
		if err := e.svc.ChangePassword(e.ctx, p, "a", "password1"); !errors.Is(err, auth.ErrForbidden) {
			t.Errorf("guest changes a password: %v", err)
		}
		e.clock.Advance(30 * time.Minute)
		if _, err := e.svc.Authenticate(e.ctx, tok); !errors.Is(err, auth.ErrInvalidToken) {
			t.Errorf("expired join token: %v", err)
		}
		tok2 := e.svc.IssueJoinToken("room-8", "B", auth.RoleTrainee, 0)
		if err := e.svc.Logout(e.ctx, e.mustAuth(t, tok2)); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.Authenticate(e.ctx, tok2); !errors.Is(err, auth.ErrInvalidToken) {
			t.Errorf("revoked join token: %v", err)
		}
		bad := e.svc.IssueJoinToken("room-8", "C", "boss", time.Hour)
		if _, err := e.svc.Authenticate(e.ctx, bad); !errors.Is(err, auth.ErrInvalidToken) {
			t.Errorf("join token with an unknown role: %v", err)
		}
	})
}

func TestAuditLog(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := auth.WithSource(e.ctx, "192.0.2.50:1")
		if _, err := e.svc.CreateUser(ctx, root, auth.NewUser{Username: "lin", Password: "password1", Role: auth.RoleGrid, Region: "140105"}); err != nil {
			t.Fatal(err)
		}
		_, _, _ = e.svc.Login(e.ctx, "lin", "bad-password", "192.0.2.51:2")
		p := e.mustAuth(t, e.mustLogin(t, "lin", "password1"))
		if err := e.svc.ChangePassword(ctx, p, "password1", "password2"); err != nil {
			t.Fatal(err)
		}
		_ = e.svc.Logout(ctx, p)
		off := true
		_, _ = e.svc.UpdateUser(ctx, root, "lin", auth.UserUpdate{Disabled: &off})
		_ = e.svc.DeleteUser(ctx, root, "lin")
		k, _, _ := e.svc.CreateAPIKey(ctx, root, "k", auth.RoleIntegration, "14")
		_ = e.svc.RevokeAPIKey(ctx, root, k.ID)

		entries, err := e.svc.AuditLog(e.ctx, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		var acts []string
		for i, en := range entries {
			acts = append(acts, en.Action)
			if en.Offset == 0 || (i > 0 && en.Offset <= entries[i-1].Offset) || en.Time.IsZero() {
				t.Errorf("entry %d: %+v", i, en)
			}
		}
		want := "user.create login.failed login password.change logout user.update user.delete apikey.create apikey.revoke"
		if got := strings.Join(acts, " "); got != want {
			t.Errorf("actions\n got %s\nwant %s", got, want)
		}
		if entries[0].Source != "192.0.2.50:1" || entries[0].Region != "140105" || entries[1].Source != "192.0.2.51:2" {
			t.Errorf("sources/regions %+v %+v", entries[0], entries[1])
		}
		page, err := e.svc.AuditLog(e.ctx, entries[1].Offset, 2)
		if err != nil || len(page) != 2 || page[0].Action != "login" {
			t.Errorf("page %+v, %v", page, err)
		}
	})
}
