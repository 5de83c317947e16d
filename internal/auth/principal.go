// Package auth owns users, password hashes, login tokens, API keys, roles and
// region scopes. It imports only internal/store (and configs).
package auth

import "strings"

// Role is what a user may do.
type Role string

// Roles.
const (
	RoleAdmin       Role = "admin"
	RoleOperator    Role = "operator"
	RoleLeader      Role = "leader"
	RoleMediator    Role = "mediator"
	RoleTrainer     Role = "trainer"
	RoleTrainee     Role = "trainee"
	RoleGrid        Role = "grid"
	RoleIntegration Role = "integration"
)

// Roles lists every role.
var Roles = []Role{RoleAdmin, RoleOperator, RoleLeader, RoleMediator, RoleTrainer, RoleTrainee, RoleGrid, RoleIntegration}

// Valid reports whether r is a known role.
func (r Role) Valid() bool {
	for _, x := range Roles {
		if r == x {
			return true
		}
	}
	return false
}

// Principal is who is making a request: a logged-in user, an API key of an
// integration, or a room guest holding a join token.
type Principal struct {
	Username string `json:"username"`
	Role     Role   `json:"role"`
	// Region is a GB/T 2260 code prefix ("14" province, "1401" city,
	// "140105" county, 9 digits a township); "" means everything.
	Region string `json:"region"`
	// TokenID identifies the token or API key used (for logout/revocation).
	TokenID string `json:"-"`
	// Room, when set, limits a guest join token to one room.
	Room string `json:"room,omitempty"`
}

// Is reports whether the principal has any of the roles.
func (p Principal) Is(roles ...Role) bool {
	for _, r := range roles {
		if p.Role == r {
			return true
		}
	}
	return false
}

// InScope reports whether a resource in region is visible to p: the
// resource's region code must start with p's scope. An empty resource region
// is visible only to unscoped (province-wide or all) principals.
func (p Principal) InScope(region string) bool {
	return InScope(p.Region, region)
}

// InScope reports whether region lies inside scope (a code prefix; "" = all).
func InScope(scope, region string) bool {
	if scope == "" {
		return true
	}
	return strings.HasPrefix(region, scope)
}
