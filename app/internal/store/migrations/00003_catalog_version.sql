-- A version number of the catalogue: the business settings, services, who offers them, staff,
-- working hours and time off. Every statement that changes one of these tables bumps it (the
-- triggers below), also cascades, bulk changes and manual SQL. Each replica of the app caches the
-- catalogue in memory and, on every booking or availability request, reads this one row (in the
-- same round trip as the request's busy ranges) to learn whether its copy is still current; when
-- the number has moved it reloads. So a change made through any replica is seen by the next
-- request on every replica, at the price of reading one row instead of six queries.
--
-- The bump is an UPDATE of the single row, so it waits for (and is ordered after) a concurrent
-- catalogue change that has not committed yet; catalogue changes are admin actions, rare enough
-- for that. The number only ever grows; its value means nothing else. Bookings are not part of
-- the catalogue: they never touch this row.

-- +goose Up

CREATE TABLE catalog_version (
    -- Exactly one row: the primary key can only be true.
    id      boolean PRIMARY KEY DEFAULT true CHECK (id),
    version bigint  NOT NULL
);
INSERT INTO catalog_version (version) VALUES (1);

-- +goose StatementBegin
CREATE FUNCTION bump_catalog_version() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE catalog_version SET version = version + 1;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

-- Statement-level: one bump per statement, however many rows it changes (also none).
CREATE TRIGGER business_settings_catalog_version
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON business_settings
    FOR EACH STATEMENT EXECUTE FUNCTION bump_catalog_version();
CREATE TRIGGER services_catalog_version
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON services
    FOR EACH STATEMENT EXECUTE FUNCTION bump_catalog_version();
CREATE TRIGGER service_staff_catalog_version
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON service_staff
    FOR EACH STATEMENT EXECUTE FUNCTION bump_catalog_version();
CREATE TRIGGER staff_catalog_version
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON staff
    FOR EACH STATEMENT EXECUTE FUNCTION bump_catalog_version();
CREATE TRIGGER working_hours_catalog_version
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON working_hours
    FOR EACH STATEMENT EXECUTE FUNCTION bump_catalog_version();
CREATE TRIGGER time_off_catalog_version
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON time_off
    FOR EACH STATEMENT EXECUTE FUNCTION bump_catalog_version();

-- +goose Down
DROP TRIGGER time_off_catalog_version ON time_off;
DROP TRIGGER working_hours_catalog_version ON working_hours;
DROP TRIGGER staff_catalog_version ON staff;
DROP TRIGGER service_staff_catalog_version ON service_staff;
DROP TRIGGER services_catalog_version ON services;
DROP TRIGGER business_settings_catalog_version ON business_settings;
DROP FUNCTION bump_catalog_version();
DROP TABLE catalog_version;
