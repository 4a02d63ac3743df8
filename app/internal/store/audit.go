package store

import (
	"context"
	"slices"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/slotbook/slotbook/app/internal/audit"
	"github.com/slotbook/slotbook/app/internal/schedule"
)

// Every write of business data appends one audit entry (package audit) in the same transaction,
// as its last statement, so that locks the write takes (a staff member's booking lock, the
// catalogue version's row) are always taken before the audit chain's global lock: no deadlocks,
// and the global lock is held as briefly as possible. The booking writes append in the same
// statement as the change (audit.CallSQL); the catalogue writes call audit.Append before their
// COMMIT. A write that fails (validation, conflict, constraint) rolls back, its entry with it;
// a write that finds nothing to change (an unknown id) appends nothing.
//
// The actor is the context's (audit.WithActor); without one it is audit.ActorSystem. Diffs hold
// ids, times, status and the changed fields of catalogue objects; personal data (customers'
// details, staff names and e-mail addresses, time-off reasons) is named without its value.

// entryWithActor fills in the default actor.
func entryWithActor(ctx context.Context, e audit.Entry) audit.Entry {
	if e.Actor == "" {
		e.Actor = audit.ActorOr(ctx, audit.ActorSystem)
	}
	return e
}

// prepareAudit prepares an entry to append in the statement of the change (audit.CallSQL).
func prepareAudit(ctx context.Context, e audit.Entry) (audit.Prepared, error) {
	return audit.Prepare(ctx, entryWithActor(ctx, e))
}

// appendAudit appends an entry in tx: call it last.
func appendAudit(ctx context.Context, tx pgx.Tx, e audit.Entry) error {
	return audit.Append(ctx, tx, entryWithActor(ctx, e))
}

func itoa(id int64) string { return strconv.FormatInt(id, 10) }

// hoursDiff is the change of weekly hours, per weekday that changed ("monday": {"from":
// ["09:00-12:00"], "to": [...]}).
func hoursDiff(old, new schedule.WeeklyHours) audit.Diff {
	d := audit.Diff{}
	for wd := time.Sunday; wd <= time.Saturday; wd++ {
		d.Change(dayName(wd), intervals(old[wd]), intervals(new[wd]))
	}
	return d
}

func dayName(wd time.Weekday) string {
	return [...]string{"sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"}[wd]
}

func intervals(ivs []schedule.Interval) []string {
	ivs = slices.Clone(ivs)
	slices.SortFunc(ivs, func(a, b schedule.Interval) int { return int(a.Start - b.Start) })
	out := []string{}
	for _, iv := range ivs {
		out = append(out, iv.Start.String()+"-"+iv.End.String())
	}
	return out
}
