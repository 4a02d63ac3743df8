package apply

import "testing"

func TestIsSubset(t *testing.T) {
	tests := []struct {
		name       string
		want, have any
		subset     bool
	}{
		{"equal scalars", "a", "a", true},
		{"different scalars", "a", "b", false},
		{"int and float of one number", int64(2), float64(2), true},
		{"server-added fields are ignored", map[string]any{"a": "1"}, map[string]any{"a": "1", "b": "2"}, true},
		{"missing field", map[string]any{"a": "1"}, map[string]any{"b": "2"}, false},
		{"nested difference", map[string]any{"s": map[string]any{"r": int64(2)}}, map[string]any{"s": map[string]any{"r": int64(7)}}, false},
		{"empty value matches an absent field", map[string]any{"a": "", "b": false, "c": map[string]any{}, "d": []any{}}, map[string]any{}, true},
		{"empty selector matches an empty selector", map[string]any{"podSelector": map[string]any{}}, map[string]any{"podSelector": map[string]any{}}, true},
		{"lists match element by element", []any{map[string]any{"n": "x"}}, []any{map[string]any{"n": "x", "default": "y"}}, true},
		{"a removed list element is drift", []any{"a", "b"}, []any{"a"}, false},
		{"an added list element is drift", []any{"a"}, []any{"a", "b"}, false},
		{"reordered list is drift", []any{"a", "b"}, []any{"b", "a"}, false},
		{"type change", map[string]any{"a": map[string]any{"b": "c"}}, map[string]any{"a": "c"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := IsSubset(tc.want, tc.have); got != tc.subset {
				t.Errorf("IsSubset(%v, %v) = %v, want %v", tc.want, tc.have, got, tc.subset)
			}
		})
	}
}

func TestToApplyMapDropsServerFieldsAndNulls(t *testing.T) {
	m, err := ToApplyMap(&testObject{})
	if err != nil {
		t.Fatal(err)
	}
	meta := m["metadata"].(map[string]any)
	if _, ok := meta["creationTimestamp"]; ok {
		t.Errorf("creationTimestamp kept: %v", meta)
	}
	if _, ok := m["status"]; ok {
		t.Errorf("status kept: %v", m)
	}
}
