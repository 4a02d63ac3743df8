// Package validation collects field errors so that every layer reports bad input the same way:
// the JSON API as HTTP 422 with field errors, the pages as inline messages. Codes are message IDs
// the web layer translates; Message is the English fallback.
package validation

import (
	"fmt"
	"strings"
)

// FieldError is one problem with one input field.
type FieldError struct {
	Field   string         `json:"field"`
	Code    string         `json:"code"`
	Message string         `json:"message"`
	Params  map[string]any `json:"params,omitempty"`
}

// Errors is a list of field errors; a nil or empty list means the input is valid.
type Errors []FieldError

// Add records a problem with a field.
func (e *Errors) Add(field, code, message string, params map[string]any) {
	*e = append(*e, FieldError{Field: field, Code: code, Message: message, Params: params})
}

// Err returns e as an error, or nil if there is nothing wrong.
func (e Errors) Err() error {
	if len(e) == 0 {
		return nil
	}
	return e
}

func (e Errors) Error() string {
	parts := make([]string, len(e))
	for i, f := range e {
		parts[i] = fmt.Sprintf("%s: %s", f.Field, f.Message)
	}
	return "invalid input: " + strings.Join(parts, "; ")
}

// For returns the first error of a field, for showing it next to the input.
func (e Errors) For(field string) *FieldError {
	for i := range e {
		if e[i].Field == field {
			return &e[i]
		}
	}
	return nil
}
