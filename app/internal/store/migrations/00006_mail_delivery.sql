-- Mail delivery (packages app/internal/outbox and app/internal/mail): the outbox of migration
-- 00004 becomes a durable job queue, bookings enqueue their own mails, reminders, the business's
-- mail settings and the staff calendar feeds.
--
-- Booking mails are written by triggers on bookings, inside the statement that creates, moves or
-- cancels the booking: the booking path stays one statement (one round trip) and a mail exists
-- exactly when its change committed. The rows carry only ids and times (booking_id, sequence,
-- start, end, staff_id, service_id); the worker renders the mail when it sends it, reading names
-- from the booking, and clears data once the mail is sent.

-- +goose Up

-- sequence: the iCalendar SEQUENCE of the booking's event, raised by every change the customer's
-- calendar must follow (time, staff member, status). manage_token_sealed: the manage token,
-- AES-256-GCM sealed with a key derived from SLOTBOOK_SESSION_KEY (like the TOTP secrets), so that
-- later mails (reminders, changes made by the business) can carry a working manage link; the
-- token's hash stays the only thing the manage page looks up by. NULL for bookings made before
-- this migration: their later mails go without a link.
ALTER TABLE bookings
    ADD COLUMN sequence            integer NOT NULL DEFAULT 0 CHECK (sequence >= 0),
    ADD COLUMN manage_token_sealed text CHECK (char_length(manage_token_sealed) <= 200);

-- The queue. A row is due when sent_at and failed_at are NULL and next_attempt_at has come; a
-- worker claims it by setting locked_until (a lease, see package outbox) and attempts.
ALTER TABLE mail_outbox
    ADD COLUMN next_attempt_at timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN locked_until    timestamptz,
    ADD COLUMN failed_at       timestamptz,
    -- Idempotency of scheduled mails: reminder:<booking>:<n>:<sequence>.
    ADD COLUMN dedupe_key      text UNIQUE CHECK (char_length(dedupe_key) <= 200),
    ADD COLUMN booking_id      bigint REFERENCES bookings (id) ON DELETE SET NULL;
DROP INDEX mail_outbox_unsent_idx;
CREATE INDEX mail_outbox_due_idx ON mail_outbox (next_attempt_at) WHERE sent_at IS NULL AND failed_at IS NULL;
CREATE INDEX mail_outbox_booking_id_idx ON mail_outbox (booking_id) WHERE booking_id IS NOT NULL;

-- Mail settings of the business (one row): reminders before the appointment (0 = off; default
-- one, 24 hours before) and the contact customers are pointed to after the change deadline.
CREATE TABLE mail_settings (
    id                 boolean     PRIMARY KEY DEFAULT true CHECK (id),
    reminder_1_minutes integer     NOT NULL DEFAULT 1440 CHECK (reminder_1_minutes BETWEEN 0 AND 43200),
    reminder_2_minutes integer     NOT NULL DEFAULT 0 CHECK (reminder_2_minutes BETWEEN 0 AND 43200),
    contact_email      text        NOT NULL DEFAULT '' CHECK (char_length(contact_email) <= 254),
    contact_phone      text        NOT NULL DEFAULT '' CHECK (char_length(contact_phone) <= 40),
    updated_at         timestamptz NOT NULL DEFAULT now()
);
INSERT INTO mail_settings DEFAULT VALUES;

-- Calendar feed per staff member: /calendar/<token>.ics. Only the token's SHA-256 is stored; one
-- live token per staff member, revoking deletes it.
CREATE TABLE staff_feed_tokens (
    staff_id   bigint      PRIMARY KEY REFERENCES staff (id) ON DELETE CASCADE,
    token_hash bytea       NOT NULL UNIQUE CHECK (octet_length(token_hash) = 32),
    created_at timestamptz NOT NULL DEFAULT now()
);

-- +goose StatementBegin
CREATE FUNCTION bookings_bump_sequence() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.start_at IS DISTINCT FROM OLD.start_at OR NEW.end_at IS DISTINCT FROM OLD.end_at
       OR NEW.staff_id IS DISTINCT FROM OLD.staff_id OR NEW.status IS DISTINCT FROM OLD.status THEN
        NEW.sequence := OLD.sequence + 1;
    END IF;
    RETURN NEW;
END $$;
-- +goose StatementEnd
CREATE TRIGGER bookings_sequence BEFORE UPDATE ON bookings
    FOR EACH ROW EXECUTE FUNCTION bookings_bump_sequence();

-- The mails of a booking event: the customer (in their language) and the staff member.
-- +goose StatementBegin
CREATE FUNCTION bookings_enqueue_mail() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    event       text;
    staff_email text;
    old_email   text;
BEGIN
    IF TG_OP = 'INSERT' THEN
        event := 'created';
    ELSIF NEW.status = 'cancelled' AND OLD.status = 'confirmed' THEN
        event := 'cancelled';
    ELSIF NEW.status = 'confirmed' AND (NEW.start_at IS DISTINCT FROM OLD.start_at
          OR NEW.end_at IS DISTINCT FROM OLD.end_at OR NEW.staff_id IS DISTINCT FROM OLD.staff_id) THEN
        event := 'rescheduled';
    ELSE
        RETURN NULL;
    END IF;
    INSERT INTO mail_outbox (template, recipient, language, data, booking_id)
    VALUES ('booking_' || event, NEW.customer_email, NEW.locale,
            jsonb_build_object('booking_id', NEW.id, 'sequence', NEW.sequence, 'start', NEW.start_at,
                               'end', NEW.end_at, 'staff_id', NEW.staff_id, 'service_id', NEW.service_id),
            NEW.id);
    -- The staff member, in the business's language ('').
    SELECT email INTO staff_email FROM staff WHERE id = NEW.staff_id;
    IF staff_email <> '' THEN
        INSERT INTO mail_outbox (template, recipient, language, data, booking_id)
        VALUES ('staff_booking_' || event, staff_email, '',
                jsonb_build_object('booking_id', NEW.id, 'sequence', NEW.sequence, 'start', NEW.start_at,
                                   'end', NEW.end_at, 'staff_id', NEW.staff_id, 'service_id', NEW.service_id),
                NEW.id);
    END IF;
    -- Moved to someone else: the previous staff member's calendar loses it.
    IF event = 'rescheduled' AND NEW.staff_id <> OLD.staff_id THEN
        SELECT email INTO old_email FROM staff WHERE id = OLD.staff_id;
        IF old_email <> '' THEN
            INSERT INTO mail_outbox (template, recipient, language, data, booking_id)
            VALUES ('staff_booking_cancelled', old_email, '',
                    jsonb_build_object('booking_id', NEW.id, 'sequence', NEW.sequence, 'start', OLD.start_at,
                                       'end', OLD.end_at, 'staff_id', OLD.staff_id, 'service_id', OLD.service_id),
                    NEW.id);
        END IF;
    END IF;
    RETURN NULL;
END $$;
-- +goose StatementEnd
CREATE TRIGGER bookings_mail AFTER INSERT OR UPDATE ON bookings
    FOR EACH ROW EXECUTE FUNCTION bookings_enqueue_mail();

-- +goose Down
DROP TRIGGER bookings_mail ON bookings;
DROP FUNCTION bookings_enqueue_mail();
DROP TRIGGER bookings_sequence ON bookings;
DROP FUNCTION bookings_bump_sequence();
DROP TABLE staff_feed_tokens;
DROP TABLE mail_settings;
DROP INDEX mail_outbox_booking_id_idx;
DROP INDEX mail_outbox_due_idx;
ALTER TABLE mail_outbox DROP COLUMN booking_id, DROP COLUMN dedupe_key, DROP COLUMN failed_at,
    DROP COLUMN locked_until, DROP COLUMN next_attempt_at;
CREATE INDEX mail_outbox_unsent_idx ON mail_outbox (id) WHERE sent_at IS NULL;
ALTER TABLE bookings DROP COLUMN manage_token_sealed, DROP COLUMN sequence;
