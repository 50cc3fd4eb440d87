package glint

import "time"

// Entity is a catalog entity as Glint's API reads and writes it.
//
// Title, Icon and Team are nil when not set. A Properties or Relations key
// whose value is nil is an explicit null.
type Entity struct {
	Identifier string         `json:"identifier"`
	Blueprint  string         `json:"blueprint,omitempty"`
	Title      *string        `json:"title,omitempty"`
	Icon       *string        `json:"icon,omitempty"`
	Team       any            `json:"team,omitempty"` // string or []string (JSON: a name or a list)
	Properties map[string]any `json:"properties,omitempty"`
	Relations  map[string]any `json:"relations,omitempty"`

	// Read-only fields Glint adds to responses; never sent.
	Datasource string     `json:"datasource,omitempty"`
	CreatedAt  *time.Time `json:"createdAt,omitempty"`
	CreatedBy  string     `json:"createdBy,omitempty"`
	UpdatedAt  *time.Time `json:"updatedAt,omitempty"`
	UpdatedBy  string     `json:"updatedBy,omitempty"`
}

// Blueprint is a Glint blueprint: the schema entities of one kind follow.
type Blueprint struct {
	Identifier string              `json:"identifier"`
	Title      string              `json:"title,omitempty"`
	Schema     Schema              `json:"schema"`
	Relations  map[string]Relation `json:"relations,omitempty"`
}

// Schema is a blueprint's property schema.
type Schema struct {
	Properties map[string]Property `json:"properties"`
	Required   []string            `json:"required,omitempty"`
}

// Property is one property of a blueprint's schema.
type Property struct {
	Type   string `json:"type"`             // string, number, boolean, object or array
	Format string `json:"format,omitempty"` // url, date-time or email
	Enum   []any  `json:"enum,omitempty"`
}

// Relation is one relation of a blueprint.
type Relation struct {
	Target   string `json:"target"`
	Many     bool   `json:"many"`
	Required bool   `json:"required"`
}
