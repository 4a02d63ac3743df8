-- Slotbook's initial schema. One database serves one business.
--
-- Times: instants are timestamptz (stored as UTC); working hours and time off are local
-- wall-clock times / dates in the business's time zone (business_settings.time_zone), which the
-- application converts (DST included) in the availability engine.

-- +goose Up

-- btree_gist lets one GiST index combine plain equality (staff_id WITH =) with range overlap
-- (blocked WITH &&); the exclusion constraints below need it. It is a trusted extension, so the
-- database owner may create it without being a superuser.
CREATE EXTENSION IF NOT EXISTS btree_gist;

-- The settings of the business. Exactly one row: the primary key can only be true.
CREATE TABLE business_settings (
    id                      boolean     PRIMARY KEY DEFAULT true CHECK (id),
    name                    text        NOT NULL CHECK (char_length(btrim(name)) BETWEEN 1 AND 200),
    -- IANA name, e.g. Europe/Berlin; validated by the application (time.LoadLocation).
    time_zone               text        NOT NULL CHECK (char_length(time_zone) BETWEEN 1 AND 100),
    -- How long before its start a slot can still be booked.
    min_notice_minutes      integer     NOT NULL CHECK (min_notice_minutes BETWEEN 0 AND 525600),
    -- How far ahead slots can be booked.
    max_advance_days        integer     NOT NULL CHECK (max_advance_days BETWEEN 1 AND 1096),
    -- The grid slot starts lie on (e.g. every 15 minutes), independent of service durations.
    slot_interval_minutes   integer     NOT NULL CHECK (slot_interval_minutes BETWEEN 1 AND 1440),
    -- How long before its start a customer may still cancel or reschedule.
    change_deadline_minutes integer     NOT NULL CHECK (change_deadline_minutes BETWEEN 0 AND 525600),
    updated_at              timestamptz NOT NULL DEFAULT now()
);

-- A neutral default so that the application always finds its row; the admin (or `seed-demo`)
-- replaces it.
INSERT INTO business_settings (name, time_zone, min_notice_minutes, max_advance_days,
                               slot_interval_minutes, change_deadline_minutes)
VALUES ('My business', 'UTC', 120, 60, 15, 1440);

-- What customers book, e.g. "Haircut, 30 minutes".
CREATE TABLE services (
    id                    bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name                  text        NOT NULL CHECK (char_length(btrim(name)) BETWEEN 1 AND 200),
    description           text        NOT NULL DEFAULT '' CHECK (char_length(description) <= 2000),
    duration_minutes      integer     NOT NULL CHECK (duration_minutes BETWEEN 1 AND 1440),
    -- Kept free before (preparation) and after (cleaning up) each appointment.
    buffer_before_minutes integer     NOT NULL DEFAULT 0 CHECK (buffer_before_minutes BETWEEN 0 AND 1440),
    buffer_after_minutes  integer     NOT NULL DEFAULT 0 CHECK (buffer_after_minutes BETWEEN 0 AND 1440),
    -- Inactive services are hidden from customers; their bookings stay.
    active                boolean     NOT NULL DEFAULT true,
    sort_order            integer     NOT NULL DEFAULT 0,
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now()
);

-- The people customers book.
CREATE TABLE staff (
    id         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       text        NOT NULL CHECK (char_length(btrim(name)) BETWEEN 1 AND 200),
    email      text        NOT NULL DEFAULT '' CHECK (char_length(email) <= 254),
    active     boolean     NOT NULL DEFAULT true,
    -- The stable order "any staff" tries people in (then by id).
    sort_order integer     NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- Who offers which service.
CREATE TABLE service_staff (
    service_id bigint NOT NULL REFERENCES services (id) ON DELETE CASCADE,
    staff_id   bigint NOT NULL REFERENCES staff (id) ON DELETE CASCADE,
    PRIMARY KEY (service_id, staff_id)
);
CREATE INDEX service_staff_staff_id_idx ON service_staff (staff_id);

-- Weekly working hours: intervals [start_minute, end_minute) of local wall-clock time, in minutes
-- since midnight. Several intervals per day make breaks (the gaps between them).
CREATE TABLE working_hours (
    staff_id     bigint   NOT NULL REFERENCES staff (id) ON DELETE CASCADE,
    -- Like Go's time.Weekday: Sunday = 0 ... Saturday = 6.
    weekday      smallint NOT NULL CHECK (weekday BETWEEN 0 AND 6),
    start_minute integer  NOT NULL CHECK (start_minute BETWEEN 0 AND 1439),
    end_minute   integer  NOT NULL CHECK (end_minute BETWEEN 1 AND 1440),
    PRIMARY KEY (staff_id, weekday, start_minute),
    CHECK (start_minute < end_minute),
    -- A staff member's intervals of one weekday never overlap (adjacent ones may touch).
    CONSTRAINT working_hours_no_overlap EXCLUDE USING gist (
        staff_id WITH =,
        weekday WITH =,
        int4range(start_minute, end_minute, '[)') WITH &&
    )
);

-- Absences over whole local days, both ends inclusive (holidays, sick leave).
CREATE TABLE time_off (
    id        bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    staff_id  bigint      NOT NULL REFERENCES staff (id) ON DELETE CASCADE,
    first_day date        NOT NULL,
    last_day  date        NOT NULL,
    reason    text        NOT NULL DEFAULT '' CHECK (char_length(reason) <= 500),
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK (first_day <= last_day)
);
CREATE INDEX time_off_staff_id_days_idx ON time_off (staff_id, last_day, first_day);

-- Appointments. Rows are never deleted by the application: cancelling sets the status.
CREATE TABLE bookings (
    id                bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- RESTRICT: a service or staff member with bookings is deactivated, not deleted.
    service_id        bigint      NOT NULL REFERENCES services (id) ON DELETE RESTRICT,
    staff_id          bigint      NOT NULL REFERENCES staff (id) ON DELETE RESTRICT,
    -- The appointment itself, [start_at, end_at).
    start_at          timestamptz NOT NULL,
    end_at            timestamptz NOT NULL,
    -- The appointment plus the service's buffers at the time of booking, always '[)': the range
    -- no other confirmed booking of the same staff member may overlap.
    blocked           tstzrange   NOT NULL,
    customer_name     text        NOT NULL CHECK (char_length(btrim(customer_name)) BETWEEN 1 AND 200),
    customer_email    text        NOT NULL CHECK (char_length(customer_email) BETWEEN 3 AND 254),
    customer_phone    text        NOT NULL DEFAULT '' CHECK (char_length(customer_phone) <= 40),
    -- The language of the customer's messages.
    locale            text        NOT NULL DEFAULT 'en' CHECK (locale ~ '^[a-z]{2}$'),
    status            text        NOT NULL DEFAULT 'confirmed' CHECK (status IN ('confirmed', 'cancelled')),
    -- SHA-256 of the customer's manage token; the token itself is never stored.
    manage_token_hash bytea       NOT NULL UNIQUE CHECK (octet_length(manage_token_hash) = 32),
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    cancelled_at      timestamptz,
    CHECK (start_at < end_at),
    CHECK (NOT isempty(blocked) AND lower_inc(blocked) AND NOT upper_inc(blocked)
           AND NOT lower_inf(blocked) AND NOT upper_inf(blocked)),
    CHECK (lower(blocked) <= start_at AND end_at <= upper(blocked)),
    CHECK ((status = 'cancelled') = (cancelled_at IS NOT NULL)),
    -- THE no-double-booking guarantee: no two confirmed bookings of one staff member overlap,
    -- buffers included. Ranges are '[)', so back-to-back bookings (one ends when the next
    -- begins) are fine. Concurrent inserts are serialised by the index: the loser gets
    -- SQLSTATE 23P01 (exclusion_violation). Its GiST index also serves the busy-range queries.
    CONSTRAINT bookings_no_overlap EXCLUDE USING gist (
        staff_id WITH =,
        blocked WITH &&
    ) WHERE (status = 'confirmed')
);
-- Calendar views: bookings by start time, optionally of one staff member.
CREATE INDEX bookings_start_at_idx ON bookings (start_at);
CREATE INDEX bookings_staff_id_start_at_idx ON bookings (staff_id, start_at);
CREATE INDEX bookings_service_id_idx ON bookings (service_id);
-- Looking customers up by e-mail address.
CREATE INDEX bookings_customer_email_idx ON bookings (lower(customer_email));

-- +goose Down
DROP TABLE bookings;
DROP TABLE time_off;
DROP TABLE working_hours;
DROP TABLE service_staff;
DROP TABLE staff;
DROP TABLE services;
DROP TABLE business_settings;
-- btree_gist stays: other objects may use it, and dropping it gains nothing.
