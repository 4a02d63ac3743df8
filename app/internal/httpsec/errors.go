package httpsec

import (
	"encoding/json"
	"net/http"
	"strings"
)

// DefaultJSONPrefix is where errors are answered in the API's JSON error shape
// ({"error":{"code":...,"message":...}}, see docs/api.md) instead of plain text.
const DefaultJSONPrefix = "/api/"

// writeError answers status with code and message: JSON under jsonPrefix, plain text elsewhere.
// Errors are never cached.
func writeError(w http.ResponseWriter, r *http.Request, jsonPrefix string, status int, code, message string) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	if strings.HasPrefix(cleanPath(r), jsonPrefix) {
		h.Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(status)
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		_ = enc.Encode(map[string]any{"error": map[string]string{"code": code, "message": message}})
		return
	}
	h.Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(message + "\n"))
}
