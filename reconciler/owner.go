package reconciler

import (
	"strconv"
	"strings"
)

// product is the first word of every datasource this app writes.
const product = "glint-github-app"

// featureGitOps marks entities declared in glint.yml files.
const featureGitOps = "gitops"

// Source is where a desired entity was declared.
type Source struct {
	InstallationID int64  `json:"installationId"`
	Repo           string `json:"repo"`           // owner/name
	File           string `json:"file,omitempty"` // repository-relative spec file path
	Line           int    `json:"line,omitempty"`
}

// String returns "owner/name: path:line", "owner/name: path" or "owner/name".
func (s Source) String() string {
	var b strings.Builder
	b.WriteString(s.Repo)
	if s.File != "" {
		b.WriteString(": ")
		b.WriteString(s.File)
		if s.Line > 0 {
			b.WriteByte(':')
			b.WriteString(strconv.Itoa(s.Line))
		}
	}
	return b.String()
}

// Owner is the parsed form of a datasource this app wrote, such as
//
//	glint-github-app/1.4.0 (app/12@ghe.example.com; installation/7; repo/acme/checkout; gitops)
//
// InstallationID is 0 and Repo is empty when the datasource lacks those keys.
type Owner struct {
	Version        string   `json:"version"`
	AppID          int64    `json:"appId"`
	Host           string   `json:"host"`
	InstallationID int64    `json:"installationId,omitempty"`
	Repo           string   `json:"repo,omitempty"`
	Features       []string `json:"features,omitempty"`
}

// Has reports whether the datasource names feature (such as "gitops").
func (o Owner) Has(feature string) bool {
	for _, f := range o.Features {
		if f == feature {
			return true
		}
	}
	return false
}

// SameApp reports whether o was written by the app appID on host.
func (o Owner) SameApp(appID int64, host string) bool {
	return o.AppID == appID && strings.EqualFold(o.Host, host)
}

// String formats o as a datasource; ParseDatasource(o.String()) returns o.
func (o Owner) String() string {
	var b strings.Builder
	b.Grow(64 + len(o.Host) + len(o.Repo))
	b.WriteString(product)
	b.WriteByte('/')
	b.WriteString(o.Version)
	b.WriteString(" (app/")
	b.WriteString(strconv.FormatInt(o.AppID, 10))
	b.WriteByte('@')
	b.WriteString(o.Host)
	if o.InstallationID != 0 {
		b.WriteString("; installation/")
		b.WriteString(strconv.FormatInt(o.InstallationID, 10))
	}
	if o.Repo != "" {
		b.WriteString("; repo/")
		b.WriteString(o.Repo)
	}
	for _, f := range o.Features {
		b.WriteString("; ")
		b.WriteString(f)
	}
	b.WriteByte(')')
	return b.String()
}

// FormatDatasource returns the datasource (User-Agent) for a glint.yml
// entity declared in repo (owner/name) of installation installationID:
//
//	glint-github-app/<version> (app/<appID>@<host>; installation/<id>; repo/<owner>/<name>; gitops)
func FormatDatasource(version string, appID int64, host string, installationID int64, repo string) string {
	return Owner{
		Version:        version,
		AppID:          appID,
		Host:           host,
		InstallationID: installationID,
		Repo:           repo,
		Features:       []string{featureGitOps},
	}.String()
}

// ParseDatasource parses a datasource written by any version of this app. It
// reports false for anything else (a person, another integration, a
// malformed value). Unknown keys in the parentheses are ignored, so later
// versions may add keys.
func ParseDatasource(s string) (Owner, bool) {
	rest, ok := strings.CutPrefix(s, product+"/")
	if !ok {
		return Owner{}, false
	}
	version, inner, ok := strings.Cut(rest, " (")
	if !ok || version == "" || !strings.HasSuffix(inner, ")") {
		return Owner{}, false
	}
	inner = inner[:len(inner)-1]
	o := Owner{Version: version}
	haveApp := false
	for part := range strings.SplitSeq(inner, ";") {
		part = strings.TrimSpace(part)
		key, val, hasVal := strings.Cut(part, "/")
		switch {
		case !hasVal:
			if part != "" {
				o.Features = append(o.Features, part)
			}
		case key == "app":
			id, host, ok := strings.Cut(val, "@")
			if !ok || host == "" {
				return Owner{}, false
			}
			n, err := strconv.ParseInt(id, 10, 64)
			if err != nil || n <= 0 {
				return Owner{}, false
			}
			o.AppID, o.Host, haveApp = n, host, true
		case key == "installation":
			n, err := strconv.ParseInt(val, 10, 64)
			if err != nil || n <= 0 {
				return Owner{}, false
			}
			o.InstallationID = n
		case key == "repo":
			if owner, name, ok := strings.Cut(val, "/"); !ok || owner == "" || name == "" {
				return Owner{}, false
			}
			o.Repo = val
		}
	}
	if !haveApp {
		return Owner{}, false
	}
	return o, true
}

// appKey is the part of a datasource that identifies one deployment of the
// app, whatever its version: "(app/<appID>@<host>;".
func appKey(appID int64, host string) string {
	return "(app/" + strconv.FormatInt(appID, 10) + "@" + host + ";"
}
