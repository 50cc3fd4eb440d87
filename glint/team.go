package glint

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
)

// Team is a Glint team.
type Team struct {
	Name        string     `json:"name"`
	Description string     `json:"description,omitempty"`
	Users       []TeamUser `json:"users,omitempty"`
}

// TeamUser is a member of a team.
type TeamUser struct {
	Email string `json:"email"`
}

// body encodes t for a write. Users are sent when create is set or t.Users is
// not nil, so an update with nil Users keeps the members.
func (t Team) body(create bool) ([]byte, error) {
	b := struct {
		Name        string    `json:"name,omitempty"`
		Description string    `json:"description,omitempty"`
		Users       *[]string `json:"users,omitempty"`
	}{Name: t.Name, Description: t.Description}
	if create || t.Users != nil {
		emails := make([]string, 0, len(t.Users))
		for _, u := range t.Users {
			emails = append(emails, u.Email)
		}
		b.Users = &emails
	}
	return encodeJSON(b)
}

// Teams lists the organization's teams with their descriptions and members.
//
// Glint API: GET /v1/teams
func (c *Client) Teams(ctx context.Context) ([]Team, error) {
	var out struct {
		Teams []Team `json:"teams"`
	}
	r := request{
		method:     http.MethodGet,
		path:       "/v1/teams",
		query:      url.Values{"fields": {"name", "description", "users.email"}},
		idempotent: true,
	}
	if _, err := c.do(ctx, r, &out); err != nil {
		return nil, fmt.Errorf("list teams: %w", err)
	}
	if out.Teams == nil {
		out.Teams = []Team{}
	}
	return out.Teams, nil
}

// CreateTeam creates team t, sending ua as the User-Agent (the client's
// when empty). It is not retried after a 5xx or a network failure.
//
// Glint API: POST /v1/teams
func (c *Client) CreateTeam(ctx context.Context, t Team, ua string) error {
	body, err := t.body(true)
	if err == nil {
		_, err = c.do(ctx, request{method: http.MethodPost, path: "/v1/teams", body: body, userAgent: ua}, nil)
	}
	if err != nil {
		return fmt.Errorf("create team %s: %w", t.Name, err)
	}
	return nil
}

// UpdateTeam updates team name: its name and description when set in t, and
// its members when t.Users is not nil (an empty non-nil list removes them
// all). A missing team is an error matching ErrNotFound.
//
// Glint API: PATCH /v1/teams/{name}
func (c *Client) UpdateTeam(ctx context.Context, name string, t Team, ua string) error {
	body, err := t.body(false)
	if err == nil {
		_, err = c.do(ctx, request{
			method:     http.MethodPatch,
			path:       "/v1/teams/" + url.PathEscape(name),
			body:       body,
			userAgent:  ua,
			idempotent: true,
		}, nil)
	}
	if err != nil {
		return fmt.Errorf("update team %s: %w", name, err)
	}
	return nil
}

// DeleteTeam deletes team name. A missing team is an error matching
// ErrNotFound, unless an earlier attempt of this call may have deleted it.
//
// Glint API: DELETE /v1/teams/{name}
func (c *Client) DeleteTeam(ctx context.Context, name, ua string) error {
	res, err := c.do(ctx, request{
		method:     http.MethodDelete,
		path:       "/v1/teams/" + url.PathEscape(name),
		userAgent:  ua,
		idempotent: true,
	}, nil)
	if err != nil {
		if errors.Is(err, ErrNotFound) && res != nil && res.uncertain {
			return nil
		}
		return fmt.Errorf("delete team %s: %w", name, err)
	}
	return nil
}
