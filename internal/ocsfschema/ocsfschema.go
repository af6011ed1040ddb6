// Package ocsfschema validates OCSF events against the JSON Schemas the OCSF
// project's own tools export for a schema release (testdata/ocsf/schema-1.8.0,
// made by scripts/ocsf-jsonschema.sh), with github.com/santhosh-tekuri/jsonschema.
// Tests use it (the receiver's and e2e's); the collector does not.
package ocsfschema // import "github.com/otel-cloudflare/cloudflareidentityreceiver/internal/ocsfschema"

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Validator holds the compiled schema of each exported class, by class_uid.
type Validator struct {
	classes map[int64]*jsonschema.Schema
	names   map[int64]string
}

// Load compiles every class schema (*.json) of dir.
func Load(dir string) (*Validator, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil || len(files) == 0 {
		return nil, fmt.Errorf("no class schemas (*.json) in %s: %v", dir, err)
	}
	v := &Validator{classes: map[int64]*jsonschema.Schema{}, names: map[int64]string{}}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, err
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		c := jsonschema.NewCompiler()
		c.DefaultDraft(jsonschema.Draft7)
		url := "file:///" + filepath.ToSlash(file)
		if err := c.AddResource(url, doc); err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		schema, err := c.Compile(url)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		// The class uid is the schema's own: the const of its class_uid property.
		var head struct {
			Properties struct {
				ClassUID struct {
					Const *int64 `json:"const"`
				} `json:"class_uid"`
			} `json:"properties"`
		}
		if err := json.Unmarshal(data, &head); err != nil || head.Properties.ClassUID.Const == nil {
			return nil, fmt.Errorf("%s: no class_uid const", file)
		}
		uid := *head.Properties.ClassUID.Const
		v.classes[uid] = schema
		v.names[uid] = strings.TrimSuffix(filepath.Base(file), ".json")
	}
	return v, nil
}

// ErrUnknownClass is returned for an event whose class_uid has no schema here.
var ErrUnknownClass = errors.New("no schema for the event's class_uid")

// Validate checks event (anything encoding/json marshals to an object)
// against the schema of its class_uid and returns the class's name.
func (v *Validator) Validate(event any) (string, error) {
	data, err := json.Marshal(event)
	if err != nil {
		return "", err
	}
	return v.ValidateJSON(data)
}

// ValidateJSON is Validate of an event's JSON text.
func (v *Validator) ValidateJSON(data []byte) (string, error) {
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return "", err
	}
	var head struct {
		ClassUID json.Number `json:"class_uid"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return "", fmt.Errorf("%w: %v", ErrUnknownClass, err)
	}
	uid, err := head.ClassUID.Int64()
	if err != nil {
		return "", fmt.Errorf("%w: class_uid %q", ErrUnknownClass, head.ClassUID)
	}
	schema, ok := v.classes[uid]
	if !ok {
		return "", fmt.Errorf("%w: %d", ErrUnknownClass, uid)
	}
	return v.names[uid], schema.Validate(inst)
}

// Classes lists the class names that have a schema.
func (v *Validator) Classes() []string {
	names := make([]string, 0, len(v.names))
	for _, name := range v.names {
		names = append(names, name)
	}
	return names
}
