-- The term of a case can be suspended (the clock stops while the applicant supplies
-- something) and extended once (Awb 4:14); the reason for a suspension is in
-- zaken.opschorting already.
ALTER TABLE zaken ADD COLUMN opgeschort_sinds TEXT;
ALTER TABLE zaken ADD COLUMN verlenging_reden TEXT;
ALTER TABLE zaken ADD COLUMN verlenging_dagen INTEGER;
