package ghetest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// installationPermissions returns the permissions every installation of the
// fake App is granted.
func installationPermissions() map[string]string {
	return map[string]string{"contents": "read", "metadata": "read", "members": "read"}
}

// appSlug is the fake App's slug.
const appSlug = "ghetest-app"

const (
	docsCreateToken = "https://docs.github.com/rest/apps/apps#create-an-installation-access-token-for-an-app"
	docsRateLimit   = "https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api"
)

// timeJSON formats t as GitHub does: RFC 3339 in UTC, seconds precision.
func timeJSON(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// page holds parsed per_page and page parameters.
type page struct{ perPage, page int }

// parsePage reads per_page (default 30, at most 100) and page (default 1)
// as GitHub does: values that are not positive integers fall back to the
// defaults, and per_page over 100 is clamped to 100.
func parsePage(q url.Values) page {
	p := page{perPage: 30, page: 1}
	if n, err := strconv.Atoi(q.Get("per_page")); err == nil && n > 0 {
		p.perPage = min(n, 100)
	}
	if n, err := strconv.Atoi(q.Get("page")); err == nil && n > 0 {
		p.page = n
	}
	return p
}

// bounds returns the slice bounds of the page within total items.
func (p page) bounds(total int) (lo, hi int) {
	lo = min((p.page-1)*p.perPage, total)
	hi = min(lo+p.perPage, total)
	return lo, hi
}

// setLink writes GitHub's Link header for page p of total items of the
// request r; none when everything fits in one page.
func (s *Server) setLink(w http.ResponseWriter, r *http.Request, p page, total int) {
	last := max(1, (total+p.perPage-1)/p.perPage)
	if last == 1 && p.page == 1 {
		return
	}
	link := func(n int, rel string) string {
		q := r.URL.Query()
		q.Set("per_page", strconv.Itoa(p.perPage))
		q.Set("page", strconv.Itoa(n))
		return fmt.Sprintf("<%s%s?%s>; rel=%q", s.URL(), r.URL.Path, q.Encode(), rel)
	}
	var links []string
	if p.page > 1 {
		links = append(links, link(min(p.page-1, last), "prev"))
	}
	if p.page < last {
		links = append(links, link(p.page+1, "next"), link(last, "last"))
	}
	if p.page > 1 {
		links = append(links, link(1, "first"))
	}
	w.Header().Set("Link", strings.Join(links, ", "))
}

// accountJSON is the REST account (user or organization) of an installation.
func (s *Server) accountJSON(in *installation) map[string]any {
	apiPath := "/users/"
	if in.accountType == "Organization" {
		apiPath = "/orgs/"
	}
	return map[string]any{
		"login":      in.account,
		"id":         in.accountID,
		"node_id":    in.accountNode,
		"type":       in.accountType,
		"site_admin": false,
		"html_url":   s.URL() + "/" + in.account,
		"url":        s.APIURL() + apiPath + in.account,
	}
}

// installationJSON is GitHub's installation object.
func (s *Server) installationJSON(in *installation) map[string]any {
	html := fmt.Sprintf("%s/settings/installations/%d", s.URL(), in.id)
	if in.accountType == "Organization" {
		html = fmt.Sprintf("%s/organizations/%s/settings/installations/%d", s.URL(), in.account, in.id)
	}
	return map[string]any{
		"id":                   in.id,
		"account":              s.accountJSON(in),
		"app_id":               s.opts.AppID,
		"app_slug":             appSlug,
		"target_id":            in.accountID,
		"target_type":          in.accountType,
		"repository_selection": in.selection,
		"access_tokens_url":    fmt.Sprintf("%s/app/installations/%d/access_tokens", s.APIURL(), in.id),
		"repositories_url":     s.APIURL() + "/installation/repositories",
		"html_url":             html,
		"permissions":          installationPermissions(),
		"events":               []string{},
		"created_at":           timeJSON(in.created),
		"updated_at":           timeJSON(in.created),
		"single_file_name":     nil,
		"suspended_at":         nil,
		"suspended_by":         nil,
	}
}

// repoJSON is GitHub's repository object.
func (s *Server) repoJSON(st *repoState) map[string]any {
	in := s.installation(st.installationID)
	m := st.meta
	var desc any
	if m.Description != "" {
		desc = m.Description
	}
	topics := m.Topics
	if topics == nil {
		topics = []string{}
	}
	return map[string]any{
		"id":             m.ID,
		"node_id":        m.NodeID,
		"name":           m.Name,
		"full_name":      m.FullName(),
		"owner":          s.accountJSON(in),
		"private":        m.Visibility != "public",
		"html_url":       s.URL() + "/" + m.FullName(),
		"url":            s.APIURL() + "/repos/" + m.FullName(),
		"description":    desc,
		"fork":           m.Fork,
		"archived":       m.Archived,
		"disabled":       false,
		"default_branch": m.DefaultBranch,
		"visibility":     m.Visibility,
		"topics":         topics,
		"created_at":     timeJSON(st.created),
		"updated_at":     timeJSON(st.updated),
		"pushed_at":      timeJSON(m.PushedAt),
	}
}

// chargeREST charges one request to the REST budget of key and answers 403
// when it is exhausted; it reports whether the request may go on.
func (s *Server) chargeREST(w http.ResponseWriter, key, who string) bool {
	ok, b := s.spend(key, 1)
	s.setRateHeaders(w, "core", b)
	if !ok {
		w.Header().Set("X-RateLimit-Remaining", "0")
		writeError(w, http.StatusForbidden, fmt.Sprintf("API rate limit exceeded for %s.", who), docsRateLimit)
	}
	return ok
}

// handleInstallations serves GET /app/installations.
func (s *Server) handleInstallations(w http.ResponseWriter, r *http.Request) {
	if err := s.authApp(r); err != nil {
		writeAuthError(w, err)
		return
	}
	if !s.chargeREST(w, "app", fmt.Sprintf("app ID %d", s.opts.AppID)) {
		return
	}
	s.mu.RLock()
	var live []*installation
	for _, in := range s.installations {
		if !in.removed {
			live = append(live, in)
		}
	}
	p := parsePage(r.URL.Query())
	lo, hi := p.bounds(len(live))
	out := make([]map[string]any, 0, hi-lo)
	for _, in := range live[lo:hi] {
		out = append(out, s.installationJSON(in))
	}
	s.mu.RUnlock()
	s.setLink(w, r, p, len(live))
	writeJSON(w, http.StatusOK, out)
}

// handleInstallation serves GET /app/installations/{id}.
func (s *Server) handleInstallation(w http.ResponseWriter, r *http.Request, id int64) {
	if err := s.authApp(r); err != nil {
		writeAuthError(w, err)
		return
	}
	if !s.chargeREST(w, "app", fmt.Sprintf("app ID %d", s.opts.AppID)) {
		return
	}
	s.mu.RLock()
	in := s.installation(id)
	var body map[string]any
	if in != nil && !in.removed {
		body = s.installationJSON(in)
	}
	s.mu.RUnlock()
	if body == nil {
		writeError(w, http.StatusNotFound, "Not Found", "https://docs.github.com/rest/apps/apps#get-an-installation-for-the-authenticated-app")
		return
	}
	writeJSON(w, http.StatusOK, body)
}

// handleAccessToken serves POST /app/installations/{id}/access_tokens.
func (s *Server) handleAccessToken(w http.ResponseWriter, r *http.Request, id int64) {
	if err := s.authApp(r); err != nil {
		writeAuthError(w, err)
		return
	}
	if !s.chargeREST(w, "app", fmt.Sprintf("app ID %d", s.opts.AppID)) {
		return
	}
	var req struct {
		Repositories  []string          `json:"repositories"`
		RepositoryIDs []int64           `json:"repository_ids"`
		Permissions   map[string]string `json:"permissions"`
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		writeError(w, http.StatusBadRequest, "Problems parsing JSON", docsCreateToken)
		return
	}
	if len(bytes.TrimSpace(body)) > 0 {
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			writeError(w, http.StatusBadRequest, "Problems parsing JSON", docsCreateToken)
			return
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	in := s.installation(id)
	if in == nil || in.removed {
		writeError(w, http.StatusNotFound, "Not Found", docsCreateToken)
		return
	}
	tok := &token{installationID: id, expires: s.now().Add(s.opts.TokenTTL).Truncate(time.Second), permissions: installationPermissions()}
	selection := in.selection
	if len(req.Repositories) > 0 || len(req.RepositoryIDs) > 0 {
		tok.repoIDs = map[int64]bool{}
		for _, name := range req.Repositories {
			st := s.repoByName(in.account + "/" + name)
			if st == nil || st.installationID != id || !containsID(in.repos, st.meta.ID) {
				writeError(w, http.StatusUnprocessableEntity, "There is at least one repository that does not exist or is not accessible to the parent installation.", docsCreateToken)
				return
			}
			tok.repoIDs[st.meta.ID] = true
		}
		for _, rid := range req.RepositoryIDs {
			if st := s.repos[rid]; st == nil || st.deleted || st.installationID != id || !containsID(in.repos, rid) {
				writeError(w, http.StatusUnprocessableEntity, "There is at least one repository that does not exist or is not accessible to the parent installation.", docsCreateToken)
				return
			}
			tok.repoIDs[rid] = true
		}
		selection = "selected"
	}
	if len(req.Permissions) > 0 {
		for k, v := range req.Permissions {
			granted, ok := tok.permissions[k]
			if !ok || (v != "read" && v != granted) {
				writeError(w, http.StatusUnprocessableEntity, "The permissions requested are not granted to this installation.", docsCreateToken)
				return
			}
		}
		tok.permissions = maps.Clone(req.Permissions)
	}
	secret := newTokenString()
	s.tokens[secret] = tok
	resp := map[string]any{
		"token":                secret,
		"expires_at":           timeJSON(tok.expires),
		"permissions":          tok.permissions,
		"repository_selection": selection,
	}
	if tok.repoIDs != nil {
		var repos []map[string]any
		for _, rid := range in.repos {
			if tok.repoIDs[rid] {
				repos = append(repos, s.repoJSON(s.repos[rid]))
			}
		}
		resp["repositories"] = repos
	}
	writeJSON(w, http.StatusCreated, resp)
}

func containsID(ids []int64, id int64) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

// handleRepositories serves GET /installation/repositories.
func (s *Server) handleRepositories(w http.ResponseWriter, r *http.Request) {
	tok, err := s.authToken(r)
	if err != nil {
		writeAuthError(w, err)
		return
	}
	if !s.chargeREST(w, fmt.Sprintf("installation/%d", tok.installationID), fmt.Sprintf("installation ID %d", tok.installationID)) {
		return
	}
	s.mu.RLock()
	in := s.installation(tok.installationID)
	var visible []*repoState
	for _, id := range in.repos {
		if st := s.repos[id]; s.visibleRepo(tok, st) {
			visible = append(visible, st)
		}
	}
	p := parsePage(r.URL.Query())
	lo, hi := p.bounds(len(visible))
	repos := make([]map[string]any, 0, hi-lo)
	for _, st := range visible[lo:hi] {
		repos = append(repos, s.repoJSON(st))
	}
	selection := in.selection
	if tok.repoIDs != nil {
		selection = "selected"
	}
	s.mu.RUnlock()
	s.setLink(w, r, p, len(visible))
	writeJSON(w, http.StatusOK, map[string]any{
		"total_count":          len(visible),
		"repository_selection": selection,
		"repositories":         repos,
	})
}
