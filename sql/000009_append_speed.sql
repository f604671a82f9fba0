-- What an append costs, cut (measured in docs/ledger.md), and its commit made
-- durable in every session (4.).
--
-- 1. Where a session's last sealed block starts, read by its block id.
--
-- 000004 read it with `where block_id = currval('ledger.block_ids')`:
-- currval is volatile, so PostgreSQL evaluated it for every row of
-- ledger.blocks instead of looking the id up in the index, and every append
-- that returned positions scanned the whole block table: append(pool),
-- appendAndCommit, ledger.append and pipelines.commit_step grew slower with
-- the ledger (0.32x the INSERT+NOTIFY floor at 200k events, docs/ledger.md).
-- A scalar subquery is evaluated once, so the lookup uses the unique index.

-- The first position of the block this session wrote last, once it is
-- sealed (after COMMIT, or after ledger.append); null before.
create function ledger.sealed_first_position() returns bigint
language sql volatile as $$
  select first_position from ledger.blocks where block_id = (select currval('ledger.block_ids'))
$$;

create or replace function ledger.append(p_events jsonb, p_expected_version bigint default null,
                                          out first_position bigint, out stream_versions bigint[])
language plpgsql as $$
begin
  stream_versions := ledger.append_at_commit(p_events, p_expected_version);
  if cardinality(stream_versions) = 0 then
    stream_versions := null;
    return;
  end if;
  set constraints ledger.seal immediate;
  set constraints ledger.seal deferred;
  first_position := ledger.sealed_first_position();
end
$$;

revoke execute on function ledger.sealed_first_position() from public;

-- 2. The digest functions were declared immutable, but convert_to() is only
-- stable, and PostgreSQL inlines an SQL function only if its body is no more
-- volatile than its declaration: every digest ran as a separate function
-- call with its own executor set-up (about 60 us each, the largest part of
-- an append's CPU). Declared stable, they are inlined into the append's
-- statements (and into verify's).
alter function ledger.event_digest(text, text, bigint, text, jsonb, jsonb) stable;
alter function ledger.block_hash(bytea, bigint, bigint, timestamptz, bytea) stable;
alter function ledger.content_digest(text, text, text, jsonb, jsonb) stable;
alter function ledger.event_hash(bytea, bigint, bigint, timestamptz, bytea) stable;

-- 3. Fewer statements. Each statement a PL/pgSQL function runs pays its
-- executor start-up (opening relations and indexes, compiling expressions),
-- which pg_stat_statements does not even count: in the pipeline bench, 000004's
-- append spent about 330 of its 570 us there, across ten statements. An
-- append of one event is now one statement (version read, digest and write)
-- after its stream lock, a simple expression; a batch is two (lock the
-- streams, write the block), plus a version check when an expected version
-- is given. The seal under the ordering lock is one statement (read the
-- head, write the block row) between two simple expressions (the lock, the
-- notification). A lock and the reads after it must stay separate: in READ
-- COMMITTED each statement takes a new snapshot, and only one taken after
-- the lock sees what the lock's previous holder committed.
create or replace function ledger.append_at_commit(p_events jsonb, p_expected_version bigint default null)
returns bigint[]
language plpgsql as $$
declare
  v_st text := p_events->0->>'stream_type';
  v_si text := p_events->0->>'stream_id';
  v_missing bigint;
  v_streams bigint;
  v_current bigint;
  v_block bigint;
  v_versions bigint[];
begin
  if jsonb_array_length(p_events) = 0 then
    return '{}';
  end if;
  -- The seal must see what the previous holder of the lock committed.
  if current_setting('transaction_isolation') <> 'read committed' then
    raise exception 'ledger.append must run in a READ COMMITTED transaction, not %',
      current_setting('transaction_isolation') using errcode = '25001';
  end if;

  if jsonb_array_length(p_events) = 1 and p_expected_version is null and v_st is not null and v_si is not null then
    -- The common case (a step's event, an API call): the lock is a simple
    -- expression (no executor), and the version read, the digest and the
    -- write are one statement.
    perform pg_advisory_xact_lock(7316204, hashtext(v_st || '/' || v_si));
    insert into ledger.bodies (block_id, ordinal, stream_type, stream_id, stream_version, type, data, metadata,
                               digest, block_size, block_root)
    select nextval('ledger.block_ids'), 1, v_st, v_si, v.sv, e.ty, e.da, e.me, g.dg, 1, sha256(g.dg)
      from (select coalesce(max(b.stream_version), 0) + 1 as sv from ledger.bodies b
             where b.stream_type = v_st and b.stream_id = v_si) v,
           (select p_events->0->>'type' as ty, p_events->0->'data' as da,
                   coalesce(p_events->0->'metadata', '{}'::jsonb) as me) e,
           lateral (select ledger.event_digest(v_st, v_si, v.sv, e.ty, e.me, e.da) as dg) g
    returning stream_version into v_current;
    return array[v_current];
  end if;

  -- One lock per stream, held to the end of the transaction, taken in one
  -- order so two appends cannot deadlock: the version reads below then see
  -- every committed event of their streams. (A missing stream_type or
  -- stream_id makes a null key, which takes no lock and is counted.)
  select count(*) filter (where k is null), count(*) into v_missing, v_streams
    from (select k, pg_advisory_xact_lock(7316204, k)
            from (select distinct hashtext((e->>'stream_type') || '/' || (e->>'stream_id')) as k
                    from jsonb_array_elements(p_events) e order by 1) keys) locked;
  if v_missing > 0 then
    raise exception 'events: every event needs stream_type and stream_id' using errcode = '23514';
  end if;
  if p_expected_version is not null then
    if v_streams <> 1 then
      raise exception 'expected_version applies to one stream, but the batch spans several'
        using errcode = '22023';
    end if;
    select coalesce(max(b.stream_version), 0) into v_current
      from ledger.bodies b
     where b.stream_type = v_st and b.stream_id = v_si;
    if v_current <> p_expected_version then
      raise exception 'version conflict on stream %/%: expected version %, current version %',
        v_st, v_si, p_expected_version, v_current
        using errcode = 'RL409';
    end if;
  end if;

  -- The block in one statement: each event's version (its stream's current
  -- version plus its rank in the stream within this call), its digest, and on
  -- ordinal 1 the block's size and root (what the seal needs). The two
  -- aggregates are materialized so each runs once, not once per event.
  v_block := nextval('ledger.block_ids');
  with e as (
    select n::int as n, x->>'stream_type' as st, x->>'stream_id' as si, x->>'type' as ty, x->'data' as da,
           coalesce(x->'metadata', '{}'::jsonb) as me
      from jsonb_array_elements(p_events) with ordinality as t(x, n)
  ), cur as materialized (
    select d.st, d.si, (select coalesce(max(b.stream_version), 0) from ledger.bodies b
                         where b.stream_type = d.st and b.stream_id = d.si) as v
      from (select distinct st, si from e) d
  ), versioned as (
    select e.*, cur.v + row_number() over (partition by e.st, e.si order by e.n) as sv
      from e join cur on cur.st = e.st and cur.si = e.si
  ), digested as (
    select versioned.*, ledger.event_digest(st, si, sv, ty, me, da) as dg from versioned
  ), block as materialized (
    select count(*)::int as size, sha256(string_agg(dg, ''::bytea order by n)) as root from digested
  ), written as (
    insert into ledger.bodies (block_id, ordinal, stream_type, stream_id, stream_version, type, data, metadata,
                               digest, block_size, block_root)
    select v_block, d.n, d.st, d.si, d.sv, d.ty, d.da, d.me, d.dg,
           case when d.n = 1 then block.size end, case when d.n = 1 then block.root end
      from digested d cross join block
     order by d.n
    returning ordinal, stream_version
  )
  select array_agg(stream_version order by ordinal) into v_versions from written;
  return v_versions;
end
$$;

create or replace function ledger.seal() returns trigger
language plpgsql as $$
declare
  v_last bigint;
begin
  -- A committed event is never lost: this commit waits for its WAL flush
  -- even in a session that commits asynchronously (graphile-worker's pool
  -- does, for its own bookkeeping). Settings stronger than 'on' stay.
  if current_setting('synchronous_commit') = 'off' then
    perform set_config('synchronous_commit', 'on', true);
  end if;
  -- Held until the transaction's locks are released, after its commit is
  -- visible: the next sealer reads a head that includes this block.
  perform pg_advisory_xact_lock(7316200);
  -- Must stay identical to ledger.block_hash(), which verify uses.
  with head as (
    select coalesce(h.last_position, 0) as last,
           coalesce(h.hash, '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea) as prev,
           clock_timestamp() as at
      from (values (1)) one
      left join lateral (select last_position, hash from ledger.blocks order by last_position desc limit 1) h on true
  )
  insert into ledger.blocks (last_position, first_position, block_id, sealed_at, root, prev_hash, hash, hash_scheme)
  select last + new.block_size, last + 1, new.block_id, at, new.block_root, prev,
         sha256(prev || int8send(last + 1) || int8send(last + new.block_size)
                || convert_to(to_char(at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), 'UTF8')
                || new.block_root),
         2
    from head
  returning last_position into v_last;
  -- The doorbell: only the newest position, never the events.
  perform pg_notify('ledger_events', v_last::text);
  return null;
end
$$;

-- 4. (In ledger.seal above.) An appending transaction commits synchronously
-- even where synchronous_commit is off, so the worker can let
-- graphile-worker's own bookkeeping commit asynchronously.
