package ghe

import "time"

// Installation is one installation of the GitHub App on an organization or user.
type Installation struct {
	ID          int64
	Account     string // login of the organization or user
	AccountType string // "Organization" or "User"
}

// Repository is the metadata of one repository an installation can see.
type Repository struct {
	InstallationID int64
	ID             int64  // REST database id
	NodeID         string // GraphQL node id, as REST's node_id gives it
	Owner          string
	Name           string
	FullName       string // owner/name
	URL            string // html URL
	Description    string
	DefaultBranch  string
	HeadOID        string // head commit of the default branch; empty for an empty repository
	Archived       bool
	Fork           bool
	Visibility     string // PUBLIC, PRIVATE or INTERNAL
	Topics         []string
	PushedAt       time.Time
}

// SpecEntity is one entity declared in a spec file (glint.yml).
//
// The entities of a Snapshot are read-only: Client caches parsed spec files
// across passes and hands out the cached entities themselves, not copies
// (at 100,000 repositories a deep copy a pass doubled the memory they take).
// Title, Icon, Team, Properties, Relations and the values inside them are
// shared with that cache and with later passes; a caller that needs to
// change one copies it first.
//
// Absent and null differ: a nil Title/Icon/Team means the file does not set
// it; a Properties or Relations key whose value is nil is an explicit null,
// which clears that field in Glint.
type SpecEntity struct {
	Identifier string
	Blueprint  string
	Title      *string
	Icon       *string
	Team       []string       // nil: not set
	Properties map[string]any // JSON-shaped values: map[string]any, []any, string, float64, bool, nil
	Relations  map[string]any // string, []any of strings, or nil
	File       string         // repository-relative path of the spec file
	Line       int            // line of the entity in File
}

// SpecFile is one spec file found in a repository.
type SpecFile struct {
	Path string // repository-relative
	OID  string // blob oid
	// Entities are read-only (see SpecEntity). The slice's capacity is its
	// length, so appending to it copies.
	Entities []SpecEntity
	// Err is set when the file could not be read, parsed or resolved
	// (file:// targets). Entities is then empty, and the repository's
	// entities in Glint must be kept as they are.
	Err error
}

// RepoResult is the outcome of reading one repository.
type RepoResult struct {
	Repo Repository
	// Specs are the spec files that exist in the repository. Empty with a
	// nil Err means the repository was read in full and declares nothing.
	Specs []SpecFile
	// Err is set when the repository could not be read; Specs is then
	// meaningless and nothing of this repository may be deleted.
	Err error
}

// Complete reports whether the repository was read in full and every spec
// file in it parsed, so that what it no longer declares may be deleted.
func (r RepoResult) Complete() bool {
	if r.Err != nil {
		return false
	}
	for _, s := range r.Specs {
		if s.Err != nil {
			return false
		}
	}
	return true
}

// InstallationResult is the outcome of reading one installation.
type InstallationResult struct {
	Installation Installation
	// Repos holds one result per repository the installation can see.
	Repos []RepoResult
	// Err is set when the installation's repository listing failed: Repos
	// is then incomplete and nothing of this installation may be deleted.
	Err error

	// TeamsRead is set when the installation's teams were read: team sync
	// is on (Options.Teams) and the account is an Organization. Without
	// it, Teams and TeamsErr say nothing.
	TeamsRead bool
	// Teams are all teams of the organization, with their immediate
	// members and repositories, when TeamsErr is nil.
	Teams []Team
	// TeamsErr is set when the teams could not be read in full; Teams is
	// then nil, never a partial list.
	TeamsErr error
}

// Team is a team of an organization, with its immediate members (not
// those of child teams) and the repositories it can access.
type Team struct {
	Org         string // the organization's login
	ID          int64  // databaseId: stays the same when the team is renamed
	NodeID      string // GraphQL node id
	Slug        string // changes when the team is renamed
	Name        string
	Description string
	Privacy     string // VISIBLE or SECRET
	URL         string
	ParentSlug  string // slug of the parent team; empty for a root team
	Members     []TeamMember
	Repos       []TeamRepo
}

// TeamMember is an immediate member of a team.
type TeamMember struct {
	Login string
	Name  string // empty when the user set none
	Email string // the email the App can see; empty when none is visible
	Role  string // MAINTAINER or MEMBER
}

// TeamRepo is a repository a team can access.
type TeamRepo struct {
	FullName   string // owner/name
	Permission string // ADMIN, MAINTAIN, WRITE, TRIAGE or READ
}

// Snapshot is everything one pass read from GitHub Enterprise.
type Snapshot struct {
	// Installations is the complete listing of the app's installations.
	// (Client.Snapshot returns an error instead when the listing fails.)
	Installations []InstallationResult
	// RateLimit is the last GraphQL rate limit seen.
	RateLimit RateLimit
}

// RateLimit is GitHub's GraphQL rateLimit object.
type RateLimit struct {
	Cost      int
	Remaining int
	ResetAt   time.Time
}
