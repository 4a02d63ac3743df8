// Package demo fills an empty database with a demo business, "Salon Morgenrot" in Berlin: four
// services with different durations and buffers, three staff members with working hours (lunch
// breaks, Saturdays) and one holiday, so that the app can be tried out at once.
package demo

import (
	"context"
	"fmt"
	"time"

	"github.com/slotbook/slotbook/app/internal/business"
	"github.com/slotbook/slotbook/app/internal/catalog"
	"github.com/slotbook/slotbook/app/internal/schedule"
	"github.com/slotbook/slotbook/app/internal/store"
)

// Settings of the demo business.
var Settings = business.Settings{
	Name:           "Salon Morgenrot",
	TimeZone:       "Europe/Berlin",
	MinNotice:      2 * time.Hour,
	MaxAdvance:     60 * 24 * time.Hour,
	SlotInterval:   15 * time.Minute,
	ChangeDeadline: 24 * time.Hour,
}

// Seed creates the demo business in one transaction. If the database already has services it
// changes nothing and returns nil (so running it twice is harmless), and it never touches
// bookings.
func Seed(ctx context.Context, st *store.Store) error {
	return SeedAt(ctx, st, time.Now())
}

// SeedAt is Seed with the time the holiday is placed relative to (two weeks after now).
func SeedAt(ctx context.Context, st *store.Store, now time.Time) error {
	return st.InTx(ctx, func(tx *store.Store) error {
		// Updating the settings first locks their row: a concurrent Seed waits here and then
		// finds the services.
		if err := tx.UpdateSettings(ctx, Settings); err != nil {
			return fmt.Errorf("demo settings: %w", err)
		}
		existing, err := tx.ListServices(ctx, false)
		if err != nil {
			return err
		}
		if len(existing) > 0 {
			return nil
		}
		return seed(ctx, tx, now)
	})
}

func hm(s string) schedule.Clock {
	c, err := schedule.ParseClock(s)
	if err != nil {
		panic(err)
	}
	return c
}

func iv(from, to string) schedule.Interval { return schedule.Interval{Start: hm(from), End: hm(to)} }

func seed(ctx context.Context, tx *store.Store, now time.Time) error {
	type person struct {
		staff schedule.Staff
		hours schedule.WeeklyHours
	}
	weekdays := func(days []time.Weekday, ivs ...schedule.Interval) schedule.WeeklyHours {
		h := schedule.WeeklyHours{}
		for _, d := range days {
			h[d] = ivs
		}
		return h
	}
	anna := weekdays([]time.Weekday{time.Tuesday, time.Wednesday, time.Thursday, time.Friday},
		iv("09:00", "13:00"), iv("14:00", "18:00")) // lunch 13–14
	anna[time.Saturday] = []schedule.Interval{iv("09:00", "14:00")}
	mehmet := weekdays([]time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday},
		iv("10:00", "13:30"), iv("14:15", "19:00")) // late shift, lunch 13:30–14:15
	mehmet[time.Saturday] = []schedule.Interval{iv("10:00", "15:00")}
	jonas := weekdays([]time.Weekday{time.Monday, time.Wednesday, time.Thursday, time.Friday},
		iv("08:00", "12:00"), iv("12:45", "16:30")) // early shift, lunch 12–12:45
	jonas[time.Saturday] = []schedule.Interval{iv("08:30", "13:00")}

	people := []person{
		{schedule.Staff{Name: "Anna Schmidt", Email: "anna@salon-morgenrot.example", Active: true, SortOrder: 10}, anna},
		{schedule.Staff{Name: "Mehmet Yılmaz", Email: "mehmet@salon-morgenrot.example", Active: true, SortOrder: 20}, mehmet},
		{schedule.Staff{Name: "Jonas Becker", Email: "jonas@salon-morgenrot.example", Active: true, SortOrder: 30}, jonas},
	}
	ids := make([]int64, len(people))
	for i, p := range people {
		id, err := tx.CreateStaff(ctx, p.staff)
		if err != nil {
			return fmt.Errorf("demo staff %s: %w", p.staff.Name, err)
		}
		if err := tx.SetWorkingHours(ctx, id, p.hours); err != nil {
			return fmt.Errorf("demo hours of %s: %w", p.staff.Name, err)
		}
		ids[i] = id
	}
	annaID, mehmetID, jonasID := ids[0], ids[1], ids[2]

	services := []catalog.Service{
		{
			Name:        "Haarschnitt",
			Description: "Waschen, Schneiden, Föhnen.",
			Duration:    30 * time.Minute,
			StaffIDs:    []int64{annaID, mehmetID, jonasID},
			SortOrder:   10,
		},
		{
			Name:        "Färben",
			Description: "Färben oder Strähnen, inklusive Einwirkzeit.",
			Duration:    90 * time.Minute,
			BufferAfter: 15 * time.Minute, // cleaning up
			StaffIDs:    []int64{annaID, mehmetID},
			SortOrder:   20,
		},
		{
			Name:        "Bart trimmen",
			Description: "Konturen und Pflege.",
			Duration:    20 * time.Minute,
			StaffIDs:    []int64{mehmetID, jonasID},
			SortOrder:   30,
		},
		{
			Name:         "Typberatung",
			Description:  "Wir finden gemeinsam den Schnitt und die Farbe, die zu Ihnen passen.",
			Duration:     45 * time.Minute,
			BufferBefore: 10 * time.Minute, // preparing samples
			StaffIDs:     []int64{annaID},
			SortOrder:    40,
		},
	}
	for _, svc := range services {
		svc.Active = true
		if _, err := tx.CreateService(ctx, svc); err != nil {
			return fmt.Errorf("demo service %s: %w", svc.Name, err)
		}
	}

	loc, err := time.LoadLocation(Settings.TimeZone)
	if err != nil {
		return err
	}
	first := schedule.DateOf(now.In(loc)).AddDays(14)
	if _, err := tx.AddTimeOff(ctx, schedule.TimeOff{
		StaffID: jonasID,
		Range:   schedule.DateRange{First: first, Last: first.AddDays(6)},
		Reason:  "Urlaub",
	}); err != nil {
		return fmt.Errorf("demo time off: %w", err)
	}
	return nil
}
