-- Data protection (GDPR Art. 13, 15, 17, 20; package app/internal/gdpr, docs/data-protection.md):
--
-- * business settings for retention, the privacy notice customers acknowledge when booking, and
--   whether customers may erase their own data from the manage page (the business's contact
--   address is mail_settings.contact_email, migration 00006);
-- * bookings remember which privacy-notice version the customer accepted, and can be erased:
--   erasure (by an admin, by the customer, or by the retention job) empties the customer's name,
--   e-mail address and phone number and forgets the manage token's hash, but keeps the row (times,
--   service, staff member, status, language), so calendars, statistics and the audit log — which
--   refers to bookings by id only — stay consistent;
-- * erasure_requests: the single-use links a customer confirms a self-erasure with. Only the
--   SHA-256 of the token is stored, and the booking it was requested from; no address.

-- +goose Up

ALTER TABLE business_settings
    -- Personal data of a booking is anonymised this many months after the appointment ended.
    ADD COLUMN retention_months integer NOT NULL DEFAULT 24
        CHECK (retention_months BETWEEN 1 AND 120),
    -- The privacy notice the booking form links to ('' = none) and its version, which every
    -- booking records. A notice needs a version.
    ADD COLUMN privacy_notice_url text NOT NULL DEFAULT ''
        CHECK (char_length(privacy_notice_url) <= 2000
               AND (privacy_notice_url = '' OR privacy_notice_url ~ '^https?://[^[:space:]]+$')),
    ADD COLUMN privacy_notice_version text NOT NULL DEFAULT ''
        CHECK (char_length(privacy_notice_version) <= 100 AND privacy_notice_version ~ '^[ -~]*$'),
    -- Whether customers may request the erasure of their data from the manage page.
    ADD COLUMN self_erasure_enabled boolean NOT NULL DEFAULT true,
    ADD CONSTRAINT business_settings_privacy_notice_check
        CHECK (privacy_notice_url = '' OR privacy_notice_version <> '');

ALTER TABLE bookings
    -- The privacy-notice version the customer accepted when booking; NULL when no notice was
    -- configured or the business entered the booking.
    ADD COLUMN privacy_notice_version text
        CHECK (char_length(privacy_notice_version) BETWEEN 1 AND 100),
    -- When the customer's personal data was erased (by an admin, the customer or retention).
    ADD COLUMN erased_at timestamptz,
    ALTER COLUMN manage_token_hash DROP NOT NULL,
    DROP CONSTRAINT bookings_customer_name_check,
    DROP CONSTRAINT bookings_customer_email_check,
    ADD CONSTRAINT bookings_customer_name_check CHECK (CASE WHEN erased_at IS NULL
        THEN char_length(btrim(customer_name)) BETWEEN 1 AND 200 ELSE customer_name = '' END),
    ADD CONSTRAINT bookings_customer_email_check CHECK (CASE WHEN erased_at IS NULL
        THEN char_length(customer_email) BETWEEN 3 AND 254 ELSE customer_email = '' END),
    -- Erased: nothing about the customer is left, and the manage link is dead (package gdpr also
    -- clears manage_token_sealed of migration 00006). Otherwise the manage token's hash is
    -- required, as before.
    ADD CONSTRAINT bookings_erased_check CHECK (CASE WHEN erased_at IS NULL
        THEN manage_token_hash IS NOT NULL ELSE customer_phone = '' AND manage_token_hash IS NULL END);
-- The retention job's search: bookings not yet erased, by end.
CREATE INDEX bookings_retention_idx ON bookings (end_at) WHERE erased_at IS NULL;

-- Self-erasure confirmations (package gdpr). Times are written by the application's clock.
CREATE TABLE erasure_requests (
    -- SHA-256 of the token in the confirmation link; the token itself is only in the mail.
    token_hash bytea       PRIMARY KEY CHECK (octet_length(token_hash) = 32),
    -- The booking whose manage page asked; its e-mail address (at confirmation time) is what
    -- gets erased.
    booking_id bigint      NOT NULL REFERENCES bookings (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz,
    CHECK (created_at < expires_at)
);
CREATE INDEX erasure_requests_booking_id_idx ON erasure_requests (booking_id, created_at);
CREATE INDEX erasure_requests_expires_at_idx ON erasure_requests (expires_at);

-- +goose Down
DROP TABLE erasure_requests;
DROP INDEX bookings_retention_idx;
ALTER TABLE bookings
    DROP CONSTRAINT bookings_erased_check,
    DROP CONSTRAINT bookings_customer_name_check,
    DROP CONSTRAINT bookings_customer_email_check,
    ADD CONSTRAINT bookings_customer_name_check CHECK (char_length(btrim(customer_name)) BETWEEN 1 AND 200),
    ADD CONSTRAINT bookings_customer_email_check CHECK (char_length(customer_email) BETWEEN 3 AND 254),
    ALTER COLUMN manage_token_hash SET NOT NULL,
    DROP COLUMN erased_at,
    DROP COLUMN privacy_notice_version;
ALTER TABLE business_settings
    DROP CONSTRAINT business_settings_privacy_notice_check,
    DROP COLUMN self_erasure_enabled,
    DROP COLUMN privacy_notice_version,
    DROP COLUMN privacy_notice_url,
    DROP COLUMN retention_months;
