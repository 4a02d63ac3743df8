// Package catalog holds the services a business offers.
package catalog

import "time"

// Service is something customers book, e.g. "Haircut, 30 minutes".
type Service struct {
	ID           int64
	Name         string
	Description  string
	Duration     time.Duration
	BufferBefore time.Duration // kept free before the appointment (preparation)
	BufferAfter  time.Duration // kept free after it (cleaning up)
	StaffIDs     []int64       // who offers it
	Active       bool
	SortOrder    int
}
