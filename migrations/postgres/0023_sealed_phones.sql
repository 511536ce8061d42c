-- Phone numbers sealed at rest (issue 16). devices.phone, enrollments.phone, phone_calls.to_number
-- and phone_texts.to_number now hold the number sealed to its account ("s1:..."); devices gain a
-- keyed hash for the equality look-ups, and phone_sends.to_number holds only the keyed hash.
-- Numbers stored in clear by an older version are sealed at start-up (store::phone_numbers::seal_stored).

ALTER TABLE devices ADD COLUMN phone_hash TEXT;
DROP INDEX devices_phone;
CREATE INDEX devices_phone_hash ON devices(phone_hash);
