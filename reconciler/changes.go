package reconciler

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/kozmoai/glint-github-app/glint"
)

// Changes is the outcome of Plan: what to write, and what is left alone and
// why. Every list is sorted by blueprint and identifier (Conflicts and
// Invalid by source). It encodes to JSON for `plan --output json`.
type Changes struct {
	Create []Change `json:"create"`
	Update []Change `json:"update"`
	// Delete are owned entities no longer declared, with proof this pass.
	Delete []Change `json:"delete"`
	// Conflicts are declarations left alone because another writer or
	// another declaration holds the identifier.
	Conflicts []Conflict `json:"conflicts"`
	// Invalid are declarations not sent because Glint would refuse them.
	Invalid []Invalid `json:"invalid"`
	// Blocked are owned entities no longer declared that are kept because
	// this pass cannot prove their repository dropped them.
	Blocked []Blocked `json:"blocked"`
	// Withheld are the deletions that Threshold stopped.
	Withheld []Change `json:"withheld,omitempty"`
	// Threshold is set when the deletions exceeded the threshold share of
	// owned entities, so none are made.
	Threshold *ThresholdExceeded `json:"thresholdExceeded,omitempty"`
	// Desired counts the distinct entities declared; Owned the entities of
	// this app found in Glint.
	Desired int `json:"desired"`
	Owned   int `json:"owned"`
}

// Change is one entity to create, update or delete.
type Change struct {
	Blueprint  string `json:"blueprint"`
	Identifier string `json:"identifier"`
	// Source is the declaring spec file for a create or update; for a
	// delete, the installation and repository named in the datasource.
	Source Source `json:"source"`
	// Datasource is the User-Agent to write with (create, update) or the
	// entity's datasource in Glint (delete).
	Datasource string `json:"datasource"`
	// Previous is the datasource in Glint before an update.
	Previous string `json:"previousDatasource,omitempty"`
	// Fields are the managed fields an update changes, "datasource" when
	// the declaring repository or installation changed.
	Fields []string `json:"fields,omitempty"`
	// Entity is the entity to write (create, update).
	Entity *glint.Entity `json:"entity,omitempty"`
}

// Conflict is a declaration left alone.
type Conflict struct {
	Blueprint  string `json:"blueprint"`
	Identifier string `json:"identifier"`
	Source     Source `json:"source"`
	// Owner is who keeps the identifier: a datasource, or the declaration
	// that wins.
	Owner   string `json:"owner"`
	Message string `json:"message"`
}

// Invalid is a declaration that Glint would refuse, so it is not sent.
type Invalid struct {
	Blueprint  string `json:"blueprint"`
	Identifier string `json:"identifier"`
	Source     Source `json:"source"`
	Message    string `json:"message"`
}

// Blocked is an owned entity that is no longer declared but is kept.
type Blocked struct {
	Blueprint  string `json:"blueprint"`
	Identifier string `json:"identifier"`
	Source     Source `json:"source"`
	Datasource string `json:"datasource"`
	Reason     string `json:"reason"`
}

// ThresholdExceeded says that Deletes deletions out of Owned owned entities
// exceeded the Threshold share, so nothing was deleted.
type ThresholdExceeded struct {
	Deletes   int     `json:"deletes"`
	Owned     int     `json:"owned"`
	Threshold float64 `json:"threshold"`
}

// String describes the notice for logs and the plan output.
func (t ThresholdExceeded) String() string {
	return fmt.Sprintf("deletion threshold exceeded: %d of %d owned entities would be deleted (threshold %g); nothing is deleted",
		t.Deletes, t.Owned, t.Threshold)
}

// Empty reports whether c writes nothing.
func (c *Changes) Empty() bool {
	return len(c.Create) == 0 && len(c.Update) == 0 && len(c.Delete) == 0
}

func (c *Changes) sort() {
	byKey := func(a, b Change) int {
		return cmp.Or(cmp.Compare(a.Blueprint, b.Blueprint), cmp.Compare(a.Identifier, b.Identifier))
	}
	slices.SortFunc(c.Create, byKey)
	slices.SortFunc(c.Update, byKey)
	slices.SortFunc(c.Delete, byKey)
	slices.SortFunc(c.Withheld, byKey)
	slices.SortFunc(c.Blocked, func(a, b Blocked) int {
		return cmp.Or(cmp.Compare(a.Blueprint, b.Blueprint), cmp.Compare(a.Identifier, b.Identifier))
	})
	bySource := func(as, bs Source, ak, bk Key) int {
		return cmp.Or(cmp.Compare(as.Repo, bs.Repo), cmp.Compare(as.File, bs.File), cmp.Compare(as.Line, bs.Line),
			cmp.Compare(ak.Blueprint, bk.Blueprint), cmp.Compare(ak.Identifier, bk.Identifier))
	}
	slices.SortFunc(c.Conflicts, func(a, b Conflict) int {
		return bySource(a.Source, b.Source, Key{a.Blueprint, a.Identifier}, Key{b.Blueprint, b.Identifier})
	})
	slices.SortFunc(c.Invalid, func(a, b Invalid) int {
		return bySource(a.Source, b.Source, Key{a.Blueprint, a.Identifier}, Key{b.Blueprint, b.Identifier})
	})
}

// WriteTo writes c in its human form, one line a change, then a line of
// totals. A create reads "+ service/checkout  (acme/checkout: glint.yml)",
// an update "~ ..." followed by the fields it changes, a delete
// "- service/old  (acme/old)"; conflicts, invalid declarations, kept
// entities and a withheld deletion are lines starting with "! ".
func (c *Changes) WriteTo(w io.Writer) (int64, error) {
	var b strings.Builder
	fileOnly := func(s Source) string { return Source{Repo: s.Repo, File: s.File}.String() }
	for _, x := range c.Create {
		fmt.Fprintf(&b, "+ %s/%s  (%s)\n", x.Blueprint, x.Identifier, fileOnly(x.Source))
	}
	for _, x := range c.Update {
		fmt.Fprintf(&b, "~ %s/%s  (%s)  %s\n", x.Blueprint, x.Identifier, fileOnly(x.Source), strings.Join(x.Fields, ", "))
	}
	for _, x := range c.Delete {
		fmt.Fprintf(&b, "- %s/%s  (%s)\n", x.Blueprint, x.Identifier, ownerRepo(x.Source))
	}
	for _, x := range c.Conflicts {
		fmt.Fprintf(&b, "! conflict %s\n", x.Message)
	}
	for _, x := range c.Invalid {
		fmt.Fprintf(&b, "! invalid %s: %s/%s: %s\n", x.Source, x.Blueprint, x.Identifier, x.Message)
	}
	for _, x := range c.Blocked {
		fmt.Fprintf(&b, "! kept %s/%s  (%s): %s\n", x.Blueprint, x.Identifier, ownerRepo(x.Source), x.Reason)
	}
	if c.Threshold != nil {
		fmt.Fprintf(&b, "! %s\n", c.Threshold)
		for _, x := range c.Withheld {
			fmt.Fprintf(&b, "! withheld - %s/%s  (%s)\n", x.Blueprint, x.Identifier, ownerRepo(x.Source))
		}
	}
	fmt.Fprintf(&b, "%d to create, %d to update, %d to delete, %d conflicts, %d invalid, %d kept\n",
		len(c.Create), len(c.Update), len(c.Delete), len(c.Conflicts), len(c.Invalid), len(c.Blocked)+len(c.Withheld))
	n, err := io.WriteString(w, b.String())
	return int64(n), err
}

func ownerRepo(s Source) string {
	if s.Repo == "" {
		return "no repository"
	}
	return s.Repo
}
