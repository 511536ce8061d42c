-- A recovery passcode may work only after a waiting period the institution sets (it is mailed at
-- once, with "This wasn't me", and can be cancelled meanwhile): the time it starts to work.
ALTER TABLE one_time_codes ADD COLUMN not_before BIGINT;
