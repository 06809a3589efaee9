-- 0002_retention.sql - dropping whole months of the archive (docs/archive.md,
-- "Retention and export"), and the index of requests' events for search.
--
-- A month of one kind is one partition (archive_events_sign_202601) and one
-- chain (sign/2026-01): dropping the partition drops the whole chain, so every
-- remaining chain still verifies.  What the chain was (its last seq and head)
-- stays in archive_dropped, so an export taken before can still be matched
-- against it.  Certificates in archive_certs are kept (a later month may name
-- the same one).

-- The months ("2016-01") of kind's partitions that ended more than p_years
-- years before now, oldest first.  p_years 0 or less: none (kept for ever).
CREATE FUNCTION archive_expired(p_kind text, p_years integer) RETURNS SETOF text
    LANGUAGE sql STABLE SET timezone TO 'UTC'
    AS $$
    SELECT to_char(m, 'YYYY-MM')
      FROM (SELECT to_timestamp(right(c.relname, 6), 'YYYYMM') AS m
              FROM pg_inherits i
              JOIN pg_class c ON c.oid = i.inhrelid
             WHERE i.inhparent = to_regclass('archive_events_' || p_kind)
               AND c.relname ~ ('^archive_events_' || p_kind || '_[0-9]{6}$')) p
     WHERE p_years > 0
       AND m + interval '1 month' + make_interval(years => p_years) <= now()
     ORDER BY m
$$;

-- A certificate request's events by its id (simpki-admin events --request):
-- their event_id is "<request id>.<rev>" and txn_id is empty, so a range on
-- event_id, byte order whatever the database's collation.  Only cert rows.
CREATE INDEX archive_events_request ON archive_events ((event_id COLLATE "C")) WHERE kind = 'cert';

-- Drop the partition of kind's month p_month ("2016-01") with its chain, in
-- the caller's transaction: the chain's archive_heads row goes to
-- archive_dropped (how: 'retention' | 'exported'), its heads and anchors rows
-- are deleted, the partition dropped.  Under an advisory lock, so that two
-- instances never do it at once: the second finds the lock taken and returns
-- false, as it does for a month with no partition.  A month not yet over is
-- refused (events may still come).  Waits at most 10 s for the table locks
-- (a long search), then fails; retention tries again at its next run.
CREATE FUNCTION archive_drop_partition(p_kind text, p_month text, p_how text) RETURNS boolean
    LANGUAGE plpgsql SET timezone TO 'UTC' SET lock_timeout TO '10s'
    AS $$
DECLARE
    m timestamptz;
    c text;
    name text;
BEGIN
    IF p_kind NOT IN ('sign', 'cert') THEN
        RAISE EXCEPTION 'archive_drop_partition: kind must be sign or cert, not %', p_kind;
    END IF;
    IF p_how NOT IN ('retention', 'exported') THEN
        RAISE EXCEPTION 'archive_drop_partition: how must be retention or exported, not %', p_how;
    END IF;
    IF p_month !~ '^[0-9]{4}-(0[1-9]|1[0-2])$' THEN
        RAISE EXCEPTION 'archive_drop_partition: month must be YYYY-MM, not %', p_month;
    END IF;
    m := to_timestamp(p_month, 'YYYY-MM');
    IF m + interval '1 month' > now() THEN
        RAISE EXCEPTION 'archive_drop_partition: % is not over yet', p_month;
    END IF;
    IF NOT pg_try_advisory_xact_lock(hashtext('simpki-archive-drop')) THEN
        RETURN false;
    END IF;
    name := format('archive_events_%s_%s', p_kind, to_char(m, 'YYYYMM'));
    c := archive_chain(p_kind, m);
    IF to_regclass(name) IS NULL THEN
        RETURN false;
    END IF;
    -- Appends lock the head: none is half-way through this chain after this.
    PERFORM 1 FROM archive_heads WHERE chain = c FOR UPDATE;
    INSERT INTO archive_dropped (chain, last_seq, head, how)
        SELECT chain, seq, head, p_how FROM archive_heads WHERE chain = c
        ON CONFLICT (chain) DO UPDATE
            SET last_seq = excluded.last_seq, head = excluded.head, how = excluded.how,
                dropped_at = clock_timestamp();
    DELETE FROM archive_anchors WHERE chain = c;
    DELETE FROM archive_heads WHERE chain = c;
    EXECUTE format('DROP TABLE %I', name);
    RETURN true;
END
$$;
