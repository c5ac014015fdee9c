-- A password in a webhook URL (https://user:pass@host/) is a secret: the url column keeps the
-- URL with the password masked (https://user:***@host/), and the password lives here, sealed
-- like the signing secrets. NULL when the URL has no password. Start-up moves the password out
-- of URLs stored before this column existed and seals it (see the store's `sealing`).
ALTER TABLE webhooks ADD COLUMN url_password TEXT;
