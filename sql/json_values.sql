-- Reading typed values out of untrusted JSON.
--
-- The sync functions are called by the HTTP service, which validates first,
-- and by operators from psql, who may pass anything. So every value is read
-- through these helpers, in two steps:
--   json_*(raw), text_*(raw)         the typed value, or NULL when the JSON
--                                     does not hold a valid one;
--   *_error(field, raw, typed, ...)   '<field>: <reason>' for a value that is
--                                     present but invalid, else NULL.
-- A JSON null counts as absent. Nothing here raises, so one bad record is
-- skipped without failing its batch.
--
-- They run for every field of every record, so they are written to be
-- inlined by the planner: single SQL expressions, declared no more immutable
-- than their bodies (a text-to-timestamp cast is STABLE). CASE arms are
-- evaluated in order (unlike AND), which guards each cast.

-- The limits, each defined once for the SQL layer (service/batch/checks.py holds
-- the HTTP layer's; tests/test_sql_json_values.py checks that they agree).

-- Longest text kept in a name or other short text field.
CREATE OR REPLACE FUNCTION max_text_length() RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT 1000 $$;

-- Longest email address (RFC 5321's path limit).
CREATE OR REPLACE FUNCTION max_email_length() RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT 254 $$;

-- Most categories one product may list (far above any real store): each
-- becomes a product_categories row, so the bound keeps one record's cost small.
CREATE OR REPLACE FUNCTION max_categories_per_product() RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT 100 $$;

-- Most line items one order may hold (far above any real order): each
-- becomes an order_items row, so the bound keeps one record's cost small.
CREATE OR REPLACE FUNCTION max_line_items_per_order() RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT 500 $$;

-- Largest money amount accepted (a sanity bound, far above any real price).
CREATE OR REPLACE FUNCTION max_money() RETURNS numeric
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT 1e15::numeric $$;

-- The ranges of the integer columns: integer (counts, stock) and bigint (ids).
CREATE OR REPLACE FUNCTION max_integer() RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT 2147483647::bigint $$;

CREATE OR REPLACE FUNCTION max_bigint() RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT 9223372036854775807::bigint $$;

-- Whether a text has more than limit characters. Counting characters walks the text; its bytes,
-- known at once, are as many or more, so a text of at most limit bytes is never walked.
CREATE OR REPLACE FUNCTION longer_than(value text, limit_characters integer) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT octet_length(value) > limit_characters AND length(value) > limit_characters
$$;

CREATE OR REPLACE FUNCTION is_absent(value jsonb) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT value IS NULL OR value = 'null' $$;

CREATE OR REPLACE FUNCTION json_string(value jsonb) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN jsonb_typeof(value) = 'string' THEN value #>> '{}' END
$$;

-- A JSON integer from minimum to maximum: a number written without a fraction
-- (scale 0: 5 and 5e3 are integers, 5.0 and "5" are not; the HTTP layer
-- reads the same from the JSON text). json_bigint() and json_id() name its
-- ranges; inlined, their bounds are constants again.
CREATE OR REPLACE FUNCTION json_integer(value jsonb, minimum bigint, maximum bigint) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN jsonb_typeof(value) IS DISTINCT FROM 'number' THEN NULL
        WHEN scale(value::numeric) > 0 THEN NULL
        WHEN value::numeric NOT BETWEEN minimum AND maximum THEN NULL
        ELSE value::numeric::bigint
    END
$$;

-- A JSON integer within bigint range.
CREATE OR REPLACE FUNCTION json_bigint(value jsonb) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT json_integer(value, -max_bigint() - 1, max_bigint()) $$;

-- A WooCommerce id: a positive JSON integer.
CREATE OR REPLACE FUNCTION json_id(value jsonb) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT json_integer(value, 1, max_bigint()) $$;

-- Money and timestamps are read from the JSON value's text (r ->> 'field'):
-- a JSON number and a numeric string read alike, and no other JSON type can
-- take the shape of an amount or a date. That saves a jsonb step on the
-- fields that cost the most.

-- A non-negative amount: a JSON number or a numeric string ("24.99").
-- WooCommerce sends "" for a price that is not set: that reads as NULL.
CREATE OR REPLACE FUNCTION text_money(value text) RETURNS numeric
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        -- digits and at most one inner dot (cheaper than a pattern); bounded so
        -- that the cast cannot overflow
        WHEN translate(value, '0123456789', '') NOT IN ('', '.') OR value = ''
             OR left(value, 1) = '.' OR right(value, 1) = '.' OR longer_than(value, max_text_length()) THEN NULL
        WHEN value::numeric <= max_money() THEN value::numeric
    END
$$;

-- An ISO 8601 date or date-time ("2026-01-15", "2026-01-15T10:30:00Z",
-- "2026-01-15T10:30:00.123+05:30"). Without an offset it is UTC, as in
-- WooCommerce's *_gmt fields. Every field is range-checked, and the day
-- against its month, so "2026-02-30" reads as NULL instead of raising.
--
-- WooCommerce's own shapes take a fast lane: each two-digit field looked up
-- in the set of its valid values (a hashed IN list: a lookup, where a regex
-- or translate() costs ten times more). The rest: the shape is checked on
-- the text with its digits turned into 9s, the common shapes by equality,
-- the others by pattern.

-- The two-digit numerals from low to high ('01', '02', ... '12'). Called with
-- constants, it is worked out once, when a statement is planned.
CREATE OR REPLACE FUNCTION two_digit_numerals(low integer, high integer) RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT array_agg(to_char(n, 'FM00') ORDER BY n) FROM generate_series(low, high) AS n
$$;

CREATE OR REPLACE FUNCTION iso_shape(value text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT translate(value, '0123456789+', '9999999999-')
$$;

-- Of a value of ISO shape: past the date, a sign can only start an offset.
CREATE OR REPLACE FUNCTION iso_has_offset(value text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT strpos(substr(value, 11), '+') > 0 OR strpos(substr(value, 11), '-') > 0
$$;

CREATE OR REPLACE FUNCTION text_timestamptz(value text) RETURNS timestamptz
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE
        -- WooCommerce's own shapes ("2026-01-15T10:30:00" in its *_gmt fields, or with a Z):
        -- the separators in place and every two-digit field one of its valid values, which
        -- also makes each an ASCII digit pair. A 29th, 30th or 31st in a month that has it;
        -- the 29th of February (leap years) takes the general way below.
        WHEN (value LIKE '____-__-__T__:__:__' OR value LIKE '____-__-__T__:__:__Z')
         AND left(value, 2) = ANY (two_digit_numerals(0, 99))
         AND substr(value, 3, 2) = ANY (two_digit_numerals(0, 99))
         AND left(value, 4) <> '0000'
         AND substr(value, 6, 2) = ANY (two_digit_numerals(1, 12))
         AND (substr(value, 9, 2) = ANY (two_digit_numerals(1, 28))
              OR (substr(value, 9, 2) IN ('29', '30') AND substr(value, 6, 2) <> '02')
              OR (substr(value, 9, 2) = '31' AND substr(value, 6, 2) IN ('01', '03', '05', '07', '08', '10', '12')))
         AND substr(value, 12, 2) = ANY (two_digit_numerals(0, 23))
         AND substr(value, 15, 2) = ANY (two_digit_numerals(0, 59))
         AND substr(value, 18, 2) = ANY (two_digit_numerals(0, 59))
        THEN left(value, 19)::timestamp AT TIME ZONE 'UTC'
        -- (the shape has a + as a -: only an offset's sign may be one)
        WHEN value NOT LIKE '____-__-__%'
          OR NOT CASE WHEN iso_shape(value) IN ('9999-99-99T99:99:99Z', '9999-99-99T99:99:99',
                                                '9999-99-99T99:99:99-99:99', '9999-99-99')
                      THEN true
                      ELSE iso_shape(value) ~ '^9999-99-99([T ]99:99(:99(\.9{1,6})?)?(Z|-99:?99)?)?$'
                 END
        THEN NULL
        -- (the shape makes these casts safe; integers also compare faster than text)
        WHEN left(value, 4) = '0000'
          OR substr(value, 6, 2)::integer NOT BETWEEN 1 AND 12
          OR substr(value, 9, 2)::integer NOT BETWEEN 1 AND 31
          OR (length(value) > 10 AND (substr(value, 12, 2)::integer > 23 OR substr(value, 15, 2)::integer > 59))
          OR (substr(value, 17, 1) = ':' AND substr(value, 18, 2)::integer > 59)
        THEN NULL
        -- an offset: hours up to 15, minutes up to 59
        WHEN iso_has_offset(value)
         AND (left(right(replace(value, ':', ''), 4), 2)::integer > 15 OR right(value, 2)::integer > 59)
        THEN NULL
        -- past the month's last day: the 1st plus 31 days, less that date's day
        WHEN substr(value, 9, 2)::integer > 28
         AND substr(value, 9, 2)::integer >
             extract(day FROM (left(value, 8) || '01')::date + 31
                              - extract(day FROM (left(value, 8) || '01')::date + 31)::integer)
        THEN NULL
        WHEN right(value, 1) = 'Z' OR iso_has_offset(value) THEN value::timestamptz
        ELSE value::timestamp AT TIME ZONE 'UTC'
    END
$$;

-- Checks of a value read with a reader above: raw is the value as sent
-- (jsonb, or the JSON text for money and timestamps), typed what the reader
-- made of it. The reason never quotes the value: it
-- may be personal data.

CREATE OR REPLACE FUNCTION id_error(field text, raw jsonb, typed bigint, required boolean) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN typed IS NOT NULL THEN NULL
        WHEN is_absent(raw) THEN CASE WHEN required THEN field || ': required field' END
        ELSE field || ': must be a positive integer'
    END
$$;

CREATE OR REPLACE FUNCTION integer_error(field text, raw jsonb, typed bigint, minimum bigint, maximum bigint)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN typed BETWEEN minimum AND maximum OR is_absent(raw) THEN NULL
        WHEN typed IS NULL THEN field || ': must be an integer'
        ELSE field || ': must be between ' || minimum::text || ' and ' || maximum::text
    END
$$;

CREATE OR REPLACE FUNCTION text_error(field text, raw jsonb, typed text, required boolean) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN typed IS NULL THEN
            CASE WHEN NOT is_absent(raw) THEN field || ': must be a string'
                 WHEN required THEN field || ': required field' END
        WHEN longer_than(typed, max_text_length()) THEN
            field || ': longer than ' || max_text_length()::text || ' characters'
        WHEN required AND btrim(typed, E' \t\n\r') = '' THEN field || ': must not be empty'
    END
$$;

CREATE OR REPLACE FUNCTION money_error(field text, raw text, typed numeric) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN typed IS NOT NULL OR raw IS NULL OR raw = '' THEN NULL
        ELSE field || ': must be a non-negative number or numeric string up to ' || max_money()::text
    END
$$;

CREATE OR REPLACE FUNCTION timestamp_error(field text, raw text, typed timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN typed IS NOT NULL OR raw IS NULL THEN NULL
        ELSE field || ': must be an ISO 8601 date or date-time'
    END
$$;
