package apply

import "reflect"

// IsSubset reports whether every field set in want has the same value in have. Fields only in
// have (defaults filled in by the API server, fields other managers own) do not matter. Lists must
// have the same length and match element by element, because a list we set is owned whole or
// keyed by position. A field want sets to an empty value ("", 0, false, {} or []) also matches
// when have lacks it, as the API server may drop such values.
func IsSubset(want, have any) bool {
	switch w := want.(type) {
	case map[string]any:
		h, ok := have.(map[string]any)
		if !ok {
			return have == nil && isEmpty(w)
		}
		for k, wv := range w {
			hv, ok := h[k]
			if !ok {
				if isEmpty(wv) {
					continue
				}
				return false
			}
			if !IsSubset(wv, hv) {
				return false
			}
		}
		return true
	case []any:
		h, ok := have.([]any)
		if !ok {
			return have == nil && len(w) == 0
		}
		if len(w) != len(h) {
			return false
		}
		for i := range w {
			if !IsSubset(w[i], h[i]) {
				return false
			}
		}
		return true
	default:
		return scalarEqual(want, have)
	}
}

func isEmpty(v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case map[string]any:
		for _, e := range v {
			if !isEmpty(e) {
				return false
			}
		}
		return true
	case []any:
		return len(v) == 0
	case string:
		return v == ""
	case bool:
		return !v
	case int64:
		return v == 0
	case float64:
		return v == 0
	default:
		return reflect.ValueOf(v).IsZero()
	}
}

// scalarEqual compares JSON scalars, treating integer and float encodings of a number as equal.
func scalarEqual(a, b any) bool {
	if fa, ok := number(a); ok {
		fb, ok := number(b)
		return ok && fa == fb
	}
	return a == b
}

func number(v any) (float64, bool) {
	switch n := v.(type) {
	case int64:
		return float64(n), true
	case int:
		return float64(n), true
	case int32:
		return float64(n), true
	case float64:
		return n, true
	default:
		return 0, false
	}
}
