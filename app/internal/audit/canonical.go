package audit

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
)

// formatVersion is the first field of every canonical row; a new format gets a new name.
const formatVersion = "slotbook-audit-v1"

// timeLayout is occurred_at in the canonical row: UTC, always six fractional digits.
const timeLayout = "2006-01-02T15:04:05.000000Z"

// canonicalRow is what the hash covers.
type canonicalRow struct {
	At                                  time.Time
	Actor, Action, ObjectType, ObjectID string
	Diff                                []byte // canonical JSON; nil if DiffNull
	DiffNull                            bool
	RequestID                           string
}

// bytes is the canonical serialisation: each field as an 8-byte big-endian length and its
// bytes. A NULL diff is an empty field (canonical JSON is never empty).
func (r canonicalRow) bytes() []byte {
	var buf []byte
	field := func(b []byte) {
		buf = binary.BigEndian.AppendUint64(buf, uint64(len(b)))
		buf = append(buf, b...)
	}
	field([]byte(formatVersion))
	field([]byte(r.At.UTC().Format(timeLayout)))
	field([]byte(r.Actor))
	field([]byte(r.Action))
	field([]byte(r.ObjectType))
	field([]byte(r.ObjectID))
	if r.DiffNull {
		field(nil)
	} else {
		field(r.Diff)
	}
	field([]byte(r.RequestID))
	return buf
}

// canonicalJSON rewrites one JSON value deterministically, whatever its formatting: no white
// space; object keys sorted by their UTF-8 bytes (a duplicate key: the last one wins, as in
// jsonb); strings with only `"`, `\` and control characters escaped (as \", \\, \b, \f, \n, \r,
// \t or \u00xx); numbers exact, as normalised decimals (see canonicalNumber). So the same value
// from Go's encoding/json and from PostgreSQL's jsonb output gives the same bytes.
func canonicalJSON(data []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("canonical JSON: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("canonical JSON: data after the value")
	}
	var buf bytes.Buffer
	if err := writeCanonical(&buf, v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func writeCanonical(buf *bytes.Buffer, v any) error {
	switch v := v.(type) {
	case nil:
		buf.WriteString("null")
	case bool:
		buf.WriteString(strconv.FormatBool(v))
	case json.Number:
		n, err := canonicalNumber(string(v))
		if err != nil {
			return err
		}
		buf.WriteString(n)
	case string:
		writeString(buf, v)
	case []any:
		buf.WriteByte('[')
		for i, e := range v {
			if i > 0 {
				buf.WriteByte(',')
			}
			if err := writeCanonical(buf, e); err != nil {
				return err
			}
		}
		buf.WriteByte(']')
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys) // Go compares strings by bytes
		buf.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				buf.WriteByte(',')
			}
			writeString(buf, k)
			buf.WriteByte(':')
			if err := writeCanonical(buf, v[k]); err != nil {
				return err
			}
		}
		buf.WriteByte('}')
	default:
		return fmt.Errorf("canonical JSON: unexpected %T", v)
	}
	return nil
}

func writeString(buf *bytes.Buffer, s string) {
	const hex = "0123456789abcdef"
	buf.WriteByte('"')
	for _, r := range s { // the decoder made s valid UTF-8
		switch {
		case r == '"':
			buf.WriteString(`\"`)
		case r == '\\':
			buf.WriteString(`\\`)
		case r == '\b':
			buf.WriteString(`\b`)
		case r == '\f':
			buf.WriteString(`\f`)
		case r == '\n':
			buf.WriteString(`\n`)
		case r == '\r':
			buf.WriteString(`\r`)
		case r == '\t':
			buf.WriteString(`\t`)
		case r < 0x20:
			buf.WriteString(`\u00`)
			buf.WriteByte(hex[r>>4])
			buf.WriteByte(hex[r&0xf])
		default:
			buf.WriteRune(r)
		}
	}
	buf.WriteByte('"')
}

// canonicalNumber writes a JSON number exactly, independent of its notation: the significant
// digits without leading or trailing zeros, then "e" and the power of ten if it is not 0, with a
// leading "-" if negative. 1.50, 15e-1 and 0.15E1 all become "15e-1"; 100 becomes "1e2"; 0 and
// -0.0 become "0".
func canonicalNumber(s string) (string, error) {
	bad := func() (string, error) { return "", fmt.Errorf("canonical JSON: bad number %q", s) }
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	mant, expStr, hasExp := strings.Cut(strings.ToLower(s), "e")
	var exp int64
	if hasExp {
		var err error
		if exp, err = strconv.ParseInt(expStr, 10, 32); err != nil {
			return bad()
		}
	}
	intPart, frac, _ := strings.Cut(mant, ".")
	digits := intPart + frac
	if digits == "" || strings.Trim(digits, "0123456789") != "" {
		return bad()
	}
	exp -= int64(len(frac))
	digits = strings.TrimLeft(digits, "0")
	if digits == "" {
		return "0", nil
	}
	trimmed := strings.TrimRight(digits, "0")
	exp += int64(len(digits) - len(trimmed))
	out := trimmed
	if exp != 0 {
		out += "e" + strconv.FormatInt(exp, 10)
	}
	if neg {
		out = "-" + out
	}
	return out, nil
}
