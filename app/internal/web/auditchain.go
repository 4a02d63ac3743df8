package web

import (
	"context"
	"sync"
	"time"

	"github.com/slotbook/slotbook/app/internal/audit"
)

// fullChainCheckEvery is how old the last full verification of the audit chain may be before the
// audit page verifies the whole chain again; in between it verifies only what was appended since.
const fullChainCheckEvery = time.Hour

// chainCheck verifies the audit chain for the audit page. Verifying all of it reads every row
// (about 10 µs each: seconds for a log of a few hundred thousand entries, on every visit), so
// after a full verification that found the chain intact a visit verifies only the rows from
// the last verified one on (audit.VerifyFrom). A full verification runs again when the last one
// is older than fullChainCheckEvery, and after any problem. A row changed behind the last
// verified head without re-hashing the chain is therefore reported within an hour, not at once;
// anything that touches the head or comes after it is reported on the next visit.
type chainCheck struct {
	mu       sync.Mutex // also makes concurrent visits wait for one verification
	verified audit.Result
	fullAt   time.Time // of the last full verification that found the chain intact; zero: none
}

// chainStatus is what the audit page shows.
type chainStatus struct {
	audit.Result
	FullAt time.Time // when the whole chain was last verified
}

func (c *chainCheck) verify(ctx context.Context, db audit.Querier, now time.Time) (chainStatus, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.fullAt.IsZero() && now.Sub(c.fullAt) < fullChainCheckEvery && c.verified.Last.ID != 0 {
		res, err := audit.VerifyFrom(ctx, db, c.verified.Last)
		if err != nil {
			return chainStatus{}, err
		}
		if res.OK() {
			c.verified.Rows += res.Rows - 1 // the head was counted before
			c.verified.Last = res.Last
			return chainStatus{Result: c.verified, FullAt: c.fullAt}, nil
		}
		c.fullAt = time.Time{}
		return chainStatus{Result: res}, nil
	}
	res, err := audit.Verify(ctx, db)
	if err != nil {
		return chainStatus{}, err
	}
	c.verified, c.fullAt = res, time.Time{}
	if res.OK() {
		c.fullAt = now
	}
	return chainStatus{Result: res, FullAt: now}, nil
}
