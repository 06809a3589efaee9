-- 0001_archive.sql - the evidence archive (docs/archive.md).
--
-- Applied once, in one transaction, by ar_schema.c, which records it in
-- archive_migrations.  Never edit a released migration: add 0002_*.sql.
--
-- Rows are chained per (kind, month of the event's time): chain
-- "sign/2026-12".  row_hash = SHA-256(prev_hash || int8 seq, big-endian ||
-- SHA-256(body)); the first row's prev_hash is archive_genesis(chain).  The
-- body is the archiver's canonical JSON, stored as the exact bytes hashed;
-- the other columns are copies of body fields for search, and
-- verify-archive checks that they match the body.

CREATE TABLE archive_certs (
    sha256     bytea PRIMARY KEY CHECK (length(sha256) = 32),
    der        bytea NOT NULL,
    first_seen timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE archive_events (
    kind        text NOT NULL CHECK (kind IN ('sign', 'cert')),
    at          timestamptz NOT NULL,
    event_id    text NOT NULL,
    chain       text NOT NULL,
    seq         bigint NOT NULL,
    etype       text NOT NULL,
    body        bytea NOT NULL,
    prev_hash   bytea NOT NULL,
    row_hash    bytea NOT NULL,
    txn_id      text,
    msisdn      text,
    rp          text,
    cert_serial text,
    cert_sha256 bytea,
    archived_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (kind, at, event_id)
) PARTITION BY LIST (kind);

CREATE TABLE archive_events_sign PARTITION OF archive_events FOR VALUES IN ('sign') PARTITION BY RANGE (at);
CREATE TABLE archive_events_cert PARTITION OF archive_events FOR VALUES IN ('cert') PARTITION BY RANGE (at);

CREATE INDEX archive_events_chain ON archive_events (chain, seq);
CREATE INDEX archive_events_msisdn ON archive_events (msisdn, at);
CREATE INDEX archive_events_rp ON archive_events (rp, at);
CREATE INDEX archive_events_serial ON archive_events (cert_serial);
CREATE INDEX archive_events_txn ON archive_events (txn_id);

-- The last row of every chain: appends lock it, so a chain grows one row at a time.
CREATE TABLE archive_heads (
    chain      text PRIMARY KEY,
    seq        bigint NOT NULL,
    head       bytea NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- RFC 3161 tokens over chain heads: tst's messageImprint is SHA-256(head).
CREATE TABLE archive_anchors (
    chain      text NOT NULL,
    seq        bigint NOT NULL,
    head       bytea NOT NULL,
    tst        bytea NOT NULL,
    gen_time   timestamptz NOT NULL,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (chain, seq)
);

-- Chains whose partition retention dropped or an operator exported and dropped.
CREATE TABLE archive_dropped (
    chain      text PRIMARY KEY,
    last_seq   bigint NOT NULL,
    head       bytea NOT NULL,
    how        text NOT NULL,
    dropped_at timestamptz NOT NULL DEFAULT clock_timestamp()
);

CREATE FUNCTION archive_genesis(p_chain text) RETURNS bytea
    LANGUAGE sql IMMUTABLE
    AS $$ SELECT sha256(convert_to('simpki-archive:' || p_chain, 'UTF8')) $$;

CREATE FUNCTION archive_row_hash(p_prev bytea, p_seq bigint, p_body bytea) RETURNS bytea
    LANGUAGE sql IMMUTABLE
    AS $$ SELECT sha256(p_prev || int8send(p_seq) || sha256(p_body)) $$;

CREATE FUNCTION archive_chain(p_kind text, p_at timestamptz) RETURNS text
    LANGUAGE sql STABLE SET timezone TO 'UTC'
    AS $$ SELECT p_kind || '/' || to_char(p_at, 'YYYY-MM') $$;

-- The month's partition of kind's table, created on first use.  Two
-- archivers may want it at once: the second waits for the first's lock
-- (held until its batch commits), then finds the table.  Not with
-- to_regclass: taking an advisory lock does not refresh this session's
-- catalog cache, so it may still say "missing"; CREATE TABLE IF NOT EXISTS
-- looks afresh (and refreshes the cache, partition bounds included).
CREATE FUNCTION archive_partition(p_kind text, p_at timestamptz) RETURNS text
    LANGUAGE plpgsql SET timezone TO 'UTC'
    AS $$
DECLARE
    m timestamptz := date_trunc('month', p_at);
    name text := format('archive_events_%s_%s', p_kind, to_char(m, 'YYYYMM'));
BEGIN
    IF to_regclass(name) IS NOT NULL THEN
        RETURN name;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext(name));
    EXECUTE format('CREATE TABLE IF NOT EXISTS %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)',
                   name, 'archive_events_' || p_kind, m, m + interval '1 month');
    RETURN name;
END
$$;

-- Append one event to its chain.  The new row's seq, or NULL when the event
-- (kind, at, event_id) is already archived: a batch archived again after a
-- crash before its acknowledgement changes nothing.
CREATE FUNCTION archive_append(p_kind text, p_at timestamptz, p_event_id text, p_etype text, p_body bytea,
                               p_txn_id text, p_msisdn text, p_rp text, p_cert_serial text,
                               p_cert_sha256 bytea) RETURNS bigint
    LANGUAGE plpgsql SET timezone TO 'UTC'
    AS $$
DECLARE
    c text := archive_chain(p_kind, p_at);
    h record;
    s bigint;
    rh bytea;
BEGIN
    PERFORM archive_partition(p_kind, p_at);
    INSERT INTO archive_heads (chain, seq, head) VALUES (c, 0, archive_genesis(c)) ON CONFLICT (chain) DO NOTHING;
    SELECT seq, head INTO h FROM archive_heads WHERE chain = c FOR UPDATE;
    IF EXISTS (SELECT 1 FROM archive_events WHERE kind = p_kind AND at = p_at AND event_id = p_event_id) THEN
        RETURN NULL;
    END IF;
    s := h.seq + 1;
    rh := archive_row_hash(h.head, s, p_body);
    INSERT INTO archive_events (kind, at, event_id, chain, seq, etype, body, prev_hash, row_hash,
                                txn_id, msisdn, rp, cert_serial, cert_sha256)
        VALUES (p_kind, p_at, p_event_id, c, s, p_etype, p_body, h.head, rh,
                p_txn_id, p_msisdn, p_rp, p_cert_serial, p_cert_sha256);
    UPDATE archive_heads SET seq = s, head = rh, updated_at = clock_timestamp() WHERE chain = c;
    RETURN s;
END
$$;

-- One batch from the archiver, one round trip:
--   {"certs":  [{"sha256": hex, "der": base64}, ...],
--    "events": [{"kind", "at_ms", "event_id", "etype", "body" (base64),
--                "txn_id", "msisdn", "rp", "cert_serial", "cert_sha256" (hex)}, ...]}
-- Events are appended in (kind, time) order, so two archivers lock chain
-- heads in the same order and never deadlock.  Returns how many were new.
CREATE FUNCTION archive_ingest(p jsonb) RETURNS integer
    LANGUAGE plpgsql SET timezone TO 'UTC'
    AS $$
DECLARE
    n integer := 0;
    e jsonb;
BEGIN
    INSERT INTO archive_certs (sha256, der)
        SELECT decode(c ->> 'sha256', 'hex'), decode(c ->> 'der', 'base64')
          FROM jsonb_array_elements(coalesce(p -> 'certs', '[]'::jsonb)) AS c
        ON CONFLICT (sha256) DO NOTHING;
    FOR e IN SELECT value FROM jsonb_array_elements(coalesce(p -> 'events', '[]'::jsonb))
              ORDER BY value ->> 'kind', (value ->> 'at_ms')::bigint, value ->> 'event_id'
    LOOP
        IF archive_append(e ->> 'kind', timestamptz 'epoch' + (e ->> 'at_ms')::bigint * interval '1 millisecond',
                          e ->> 'event_id', e ->> 'etype', decode(e ->> 'body', 'base64'),
                          e ->> 'txn_id', e ->> 'msisdn', e ->> 'rp', e ->> 'cert_serial',
                          decode(e ->> 'cert_sha256', 'hex')) IS NOT NULL THEN
            n := n + 1;
        END IF;
    END LOOP;
    RETURN n;
END
$$;
