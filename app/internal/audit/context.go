package audit

import (
	"context"
	"reflect"
	"strconv"
	"time"
)

type ctxKey int

const (
	actorKey ctxKey = iota
	requestIDKey
)

// WithActor returns ctx carrying the actor (e.g. set by the HTTP layer once it knows who is
// acting); Append uses it for entries without an Actor.
func WithActor(ctx context.Context, actor string) context.Context {
	return context.WithValue(ctx, actorKey, actor)
}

// ActorFrom is the actor of WithActor, or "".
func ActorFrom(ctx context.Context) string { s, _ := ctx.Value(actorKey).(string); return s }

// WithRequestID returns ctx carrying the request's id; Append uses it for entries without a
// RequestID.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey, id)
}

// RequestIDFrom is the request id of WithRequestID, or "".
func RequestIDFrom(ctx context.Context) string { s, _ := ctx.Value(requestIDKey).(string); return s }

// Diff builds a minimal diff by the package's rules: only what changed, personal data named but
// without its values, times in UTC. Use it as Entry.Diff (an empty Diff is stored as none).
type Diff map[string]any

// Change records field's change from old to new, if they differ.
func (d Diff) Change(field string, old, new any) Diff {
	old, new = plain(old), plain(new)
	if !reflect.DeepEqual(old, new) {
		d[field] = map[string]any{"from": old, "to": new}
	}
	return d
}

// ChangePersonal records that a field holding personal data (a name, an e-mail address, a phone
// number, free text) changed, without the values: {"field": "changed"}.
func (d Diff) ChangePersonal(field string, old, new string) Diff {
	if old != new {
		d[field] = "changed"
	}
	return d
}

// Set records a field of a new object.
func (d Diff) Set(field string, v any) Diff {
	d[field] = plain(v)
	return d
}

// SetPersonal records that a new object's field holding personal data is filled in, without the
// value: {"field": "set"} (nothing if v is empty).
func (d Diff) SetPersonal(field string, v string) Diff {
	if v != "" {
		d[field] = "set"
	}
	return d
}

// plain puts times in UTC (RFC 3339), so that a diff does not depend on a time zone.
func plain(v any) any {
	switch t := v.(type) {
	case time.Time:
		return t.UTC().Format(time.RFC3339Nano)
	case *time.Time:
		if t == nil {
			return nil
		}
		return t.UTC().Format(time.RFC3339Nano)
	}
	return v
}

// Actors for entries whose context names nobody (WithActor). Once people log in, the web layer
// puts "user:ID" into every request's context, which takes precedence over these.
const (
	// ActorSystem: the application itself, command-line tools (seed-demo, migrations) and
	// business-data writes made without a person in the context.
	ActorSystem = "system"
	// ActorCustomer: a member of the public booking through the public page or API (the new
	// booking's id is the entry's object).
	ActorCustomer = "customer"
	// ActorAnonymous: a request by nobody known, e.g. a failed login.
	ActorAnonymous = "anonymous"
)

// CustomerOfBooking is the actor of a customer acting through the manage link of a booking:
// "customer:booking:17". The link is the only thing that identifies them, and the actor holds
// nothing else about them.
func CustomerOfBooking(bookingID int64) string {
	return "customer:booking:" + strconv.FormatInt(bookingID, 10)
}

// ActorOr is the context's actor (WithActor), or fallback if it names none.
func ActorOr(ctx context.Context, fallback string) string {
	if a := ActorFrom(ctx); a != "" {
		return a
	}
	return fallback
}
