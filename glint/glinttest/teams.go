package glinttest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/kozmoai/glint-github-app/glint"
)

type teamRecord struct {
	name        string
	description string
	users       []string
	datasource  string
	createdAt   time.Time
	createdBy   string
	updatedAt   time.Time
	updatedBy   string
}

func (t *teamRecord) team() glint.Team {
	out := glint.Team{Name: t.name, Description: t.description}
	for _, u := range t.users {
		out.Users = append(out.Users, glint.TeamUser{Email: u})
	}
	return out
}

// teamField reports whether GET /v1/teams?fields= may select f.
func teamField(f string) bool {
	switch f {
	case "name", "description", "users", "users.email", "datasource", "createdAt", "createdBy", "updatedAt", "updatedBy":
		return true
	}
	return false
}

// json renders the team, keeping only fields when it is not empty.
func (t *teamRecord) json(fields []string) map[string]any {
	users := make([]map[string]any, len(t.users))
	for i, u := range t.users {
		users[i] = map[string]any{"email": u}
	}
	all := map[string]any{
		"name": t.name, "description": t.description, "users": users,
		"datasource": t.datasource, "createdBy": t.createdBy, "updatedBy": t.updatedBy,
		"createdAt": t.createdAt.Format(time.RFC3339Nano), "updatedAt": t.updatedAt.Format(time.RFC3339Nano),
	}
	if len(fields) == 0 {
		return all
	}
	out := make(map[string]any, len(fields))
	for _, f := range fields {
		if f == "users.email" {
			f = "users"
		}
		out[f] = all[f]
	}
	return out
}

// PutTeam stores t as if another writer created it with datasource,
// replacing a team of the same name. It does not check the name.
func (s *Server) PutTeam(t glint.Team, datasource string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.opts.Now().UTC()
	rec := &teamRecord{name: t.Name, description: t.Description, datasource: datasource,
		createdAt: now, createdBy: datasource, updatedAt: now, updatedBy: datasource}
	for _, u := range t.Users {
		rec.users = append(rec.users, u.Email)
	}
	s.teams[t.Name] = rec
}

// Teams returns every team sorted by name.
func (s *Server) Teams() []glint.Team {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]glint.Team, 0, len(s.teams))
	for _, n := range sortedKeys(s.teams) {
		out = append(out, s.teams[n].team())
	}
	return out
}

// TeamDatasource returns the datasource of team name: the User-Agent of
// the last API write to it, or the datasource given to PutTeam. Responses
// carry it as "datasource", as for entities, so an integration can tell
// its own teams; "createdBy" is the client ID that created the team.
func (s *Server) TeamDatasource(name string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.teams[name]
	if !ok {
		return "", false
	}
	return t.datasource, true
}

func (s *Server) handleListTeams(w http.ResponseWriter, r *http.Request, c *call) {
	if !checkQuery(w, r, "fields") {
		return
	}
	fields := r.URL.Query()["fields"]
	for _, f := range fields {
		if !teamField(f) {
			writeError(w, http.StatusBadRequest, "invalid_request", fmt.Sprintf("unknown team field %q", f))
			return
		}
	}
	s.mu.Lock()
	teams := make([]map[string]any, 0, len(s.teams))
	for _, n := range sortedKeys(s.teams) {
		teams = append(teams, s.teams[n].json(fields))
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "teams": teams})
}

func (s *Server) handleGetTeam(w http.ResponseWriter, r *http.Request, c *call) {
	if !checkQuery(w, r) {
		return
	}
	s.mu.Lock()
	t, ok := s.teams[r.PathValue("name")]
	var body map[string]any
	if ok {
		body = t.json(nil)
	}
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, "team_not_found", fmt.Sprintf("team %q not found", r.PathValue("name")))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "team": body})
}

// checkUsers checks a team's user emails.
func checkUsers(users []string) *apiError {
	for i, u := range users {
		if checkFormat("email", u) != "" {
			return errf(422, "invalid_request", "users[%d] %q is not an email address", i, u)
		}
	}
	return nil
}

func checkTeamName(name string) *apiError {
	if !validTeamName(name) {
		return errf(422, "invalid_request", "team name %q must match ^[^;#/\\?\\s][^;#/\\?]*[^;#/\\?\\s]$", name)
	}
	return nil
}

func (s *Server) handleCreateTeam(w http.ResponseWriter, r *http.Request, c *call) {
	if !checkQuery(w, r) {
		return
	}
	var req struct {
		Name        *string  `json:"name"`
		Description *string  `json:"description"`
		Users       []string `json:"users"`
	}
	if err := decodeStrict(c.body, &req); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request", "decode team: "+err.Error())
		return
	}
	if req.Name == nil {
		writeError(w, http.StatusBadRequest, "invalid_request", "name is required")
		return
	}
	if e := checkTeamName(*req.Name); e != nil {
		writeError(w, e.status, e.code, e.msg)
		return
	}
	if e := checkUsers(req.Users); e != nil {
		writeError(w, e.status, e.code, e.msg)
		return
	}
	s.mu.Lock()
	if _, ok := s.teams[*req.Name]; ok {
		s.mu.Unlock()
		writeError(w, http.StatusConflict, "team_already_exists", fmt.Sprintf("team %q already exists", *req.Name))
		return
	}
	now := s.opts.Now().UTC()
	t := &teamRecord{name: *req.Name, users: slices.Clone(req.Users), datasource: c.userAgent,
		createdAt: now, createdBy: c.actor, updatedAt: now, updatedBy: c.actor}
	if req.Description != nil {
		t.description = *req.Description
	}
	s.teams[t.name] = t
	s.stats.TeamWrites++
	body := t.json(nil)
	s.mu.Unlock()
	writeJSON(w, http.StatusCreated, map[string]any{"ok": true, "team": body})
}

func (s *Server) handlePatchTeam(w http.ResponseWriter, r *http.Request, c *call) {
	if !checkQuery(w, r) {
		return
	}
	var fields map[string]json.RawMessage
	if err := decodeStrict(c.body, &fields); err != nil || fields == nil {
		writeError(w, http.StatusBadRequest, "invalid_request", "a team patch must be a JSON object")
		return
	}
	var (
		name, desc *string
		users      []string
	)
	for k, raw := range fields {
		var err error
		switch k {
		case "name":
			err = json.Unmarshal(raw, &name)
			if err == nil && name == nil {
				err = fmt.Errorf("null")
			}
		case "description":
			err = json.Unmarshal(raw, &desc)
		case "users":
			err = json.Unmarshal(raw, &users)
			if err == nil && users == nil {
				err = fmt.Errorf("null")
			}
		default:
			writeError(w, http.StatusBadRequest, "invalid_request", fmt.Sprintf("unknown field %q in team", k))
			return
		}
		if err != nil {
			writeError(w, http.StatusBadRequest, "invalid_request", fmt.Sprintf("bad %s in team", k))
			return
		}
	}
	if name != nil {
		if e := checkTeamName(*name); e != nil {
			writeError(w, e.status, e.code, e.msg)
			return
		}
	}
	if e := checkUsers(users); e != nil {
		writeError(w, e.status, e.code, e.msg)
		return
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	old := r.PathValue("name")
	t, ok := s.teams[old]
	if !ok {
		writeError(w, http.StatusNotFound, "team_not_found", fmt.Sprintf("team %q not found", old))
		return
	}
	if name != nil && *name != old {
		if _, taken := s.teams[*name]; taken {
			writeError(w, http.StatusConflict, "team_already_exists", fmt.Sprintf("team %q already exists", *name))
			return
		}
		delete(s.teams, old)
		t.name = *name
		s.teams[t.name] = t
		s.renameTeamLocked(old, t.name)
	}
	if _, ok := fields["description"]; ok {
		t.description = ""
		if desc != nil {
			t.description = *desc
		}
	}
	if users != nil {
		t.users = slices.Clone(users)
	}
	t.updatedAt, t.updatedBy, t.datasource = s.opts.Now().UTC(), c.actor, c.userAgent
	s.stats.TeamWrites++
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "team": t.json(nil)})
}

func (s *Server) handleDeleteTeam(w http.ResponseWriter, r *http.Request, c *call) {
	if !checkQuery(w, r) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	name := r.PathValue("name")
	if _, ok := s.teams[name]; !ok {
		writeError(w, http.StatusNotFound, "team_not_found", fmt.Sprintf("team %q not found", name))
		return
	}
	delete(s.teams, name)
	s.renameTeamLocked(name, "")
	s.stats.TeamWrites++
	writeJSON(w, http.StatusOK, map[string]any{"ok": true})
}

// renameTeamLocked renames a team on every entity, or removes it when to is "".
func (s *Server) renameTeamLocked(from, to string) {
	for _, t := range s.tables {
		for _, rec := range t.rows {
			i := slices.Index(rec.teams, from)
			if i < 0 {
				continue
			}
			teams := slices.Clone(rec.teams)
			if to == "" {
				teams = slices.Delete(teams, i, i+1)
			} else {
				teams[i] = to
			}
			if len(teams) == 0 {
				teams = nil
			}
			rec.teams = teams
		}
	}
}
