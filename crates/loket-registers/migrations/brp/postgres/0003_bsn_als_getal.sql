-- The BSN becomes a number: the key compares as an integer instead of collated text, and a
-- lookup sends numbers. A BSN is nine digits, so the numbers sort as the texts did; the
-- document keeps the BSN as written.
ALTER TABLE personen ALTER COLUMN bsn TYPE BIGINT USING bsn::bigint;
