-- The ledger: one append-only table of events with dense, commit-ordered
-- positions and a sha256 hash chain.
--
-- Ordering: ledger.append() takes one transaction-scoped advisory lock, then
-- continues from the newest committed event. The lock is held until the
-- appending transaction ends, so transactions that append commit in position
-- order and a reader that has seen N can never later see a committed position
-- <= N; a rollback hands its positions back, so there are no gaps.
-- Appenders should append as the last statement before COMMIT: the lock is
-- taken as late as the caller allows. (Commits that NOTIFY are serialised by
-- PostgreSQL anyway, which is why this costs little.)
--
-- Advisory lock keys (all of them; their registry is src/ops/locks.ts, and
-- test/ops/locks.unit.test.ts checks every key written in sql/ is there):
--   7316200        LEDGER_APPEND_LOCK  the seal (000004: at COMMIT, or ledger.append()), until COMMIT
--   7316201        MIGRATION_LOCK      src/ops/migrate.ts, one migration at a time
--   7316202        PAUSE_LOCK          shared by pipelines.start_steps, exclusive while pausing
--   7316210        CHECKPOINT_LOCK     tried by the checkpoint signer, one at a time (src/audit/checkpoints.ts)
--   7316211        MODEL_SNAPSHOT_LOCK tried by the model snapshotter, one at a time (session)
--   (7316204, h)   LEDGER_STREAM_LOCK_SPACE  per stream, every append (000004), until COMMIT
--   (7316, 1)      PROJECTOR_LOCK      the leading projector (session)
--   (7316, 2)      REBUILD_LOCK        a rebuild of the read model (session)
--   (7316, 3)      ARCHIVER_LOCK       the read-model retention task (session)

create schema if not exists ledger;

create table ledger.events (
  position bigint primary key check (position > 0),
  stream_type text not null check (stream_type ~ '^[a-z][a-z0-9_.-]{0,63}$'),
  stream_id text not null check (length(stream_id) between 1 and 200),
  stream_version bigint not null check (stream_version > 0),
  type text not null check (type ~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$' and length(type) <= 100),
  data jsonb not null check (jsonb_typeof(data) = 'object'),
  metadata jsonb not null default '{}' check (jsonb_typeof(metadata) = 'object'),
  recorded_at timestamptz not null,
  prev_hash bytea not null,
  hash bytea not null,
  unique (stream_type, stream_id, stream_version)
);

-- Deliberately no index on type: every index is written under the ordering
-- lock. Readers that filter by type scan in position order.

comment on table ledger.events is
  'The runledger ledger. Append-only: UPDATE, DELETE and TRUNCATE are refused. '
  'hash = ledger.event_hash(prev_hash, position, stream_version, recorded_at, ledger.content_digest(...)); '
  'verify with `runledger verify`.';

-- The hash chain, in two parts so the expensive one can be computed before
-- the ordering lock is taken:
--   content_digest = sha256(utf8(jsonb_build_array(stream_type, stream_id, type, metadata, data)::text))
--   hash = sha256(prev_hash || int8(position) || int8(stream_version)
--                 || utf8(recorded_at as YYYY-MM-DDTHH:MI:SS.USZ, UTC) || content_digest)
-- Both use only PostgreSQL's own renderings, so any PostgreSQL holding a copy
-- of the table recomputes them exactly.
create function ledger.content_digest(
  p_stream_type text, p_stream_id text, p_type text, p_metadata jsonb, p_data jsonb
) returns bytea
language sql immutable parallel safe as $$
  select sha256(convert_to(jsonb_build_array(p_stream_type, p_stream_id, p_type, p_metadata, p_data)::text, 'UTF8'))
$$;

create function ledger.event_hash(
  p_prev_hash bytea, p_position bigint, p_stream_version bigint, p_recorded_at timestamptz, p_content_digest bytea
) returns bytea
language sql immutable parallel safe as $$
  select sha256(p_prev_hash || int8send(p_position) || int8send(p_stream_version)
                || convert_to(to_char(p_recorded_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), 'UTF8')
                || p_content_digest)
$$;

-- Append-only, enforced by the database itself.
create function ledger.refuse_change() returns trigger
language plpgsql as $$
begin
  raise exception 'ledger.events is append-only: % is not allowed', tg_op
    using errcode = 'insufficient_privilege',
          hint = 'Events are never changed; append a compensating event instead.';
end
$$;

create trigger events_no_update before update on ledger.events
  for each statement execute function ledger.refuse_change();
create trigger events_no_delete before delete on ledger.events
  for each statement execute function ledger.refuse_change();
create trigger events_no_truncate before truncate on ledger.events
  for each statement execute function ledger.refuse_change();

-- The doorbell: one NOTIFY per appending statement, carrying only the newest
-- position. Listeners read the table for the events themselves.
create function ledger.ring_doorbell() returns trigger
language plpgsql as $$
begin
  perform pg_notify('ledger_events', (select max(position) from ledger.events)::text);
  return null;
end
$$;

create trigger events_doorbell after insert on ledger.events
  for each statement execute function ledger.ring_doorbell();

-- Append a batch of events. p_events is a JSON array of objects with keys
-- stream_type, stream_id, type, data, metadata (optional). When
-- p_expected_version is given, every event must belong to one stream whose
-- current version must equal it (optimistic concurrency).
create function ledger.append(p_events jsonb, p_expected_version bigint default null,
                               out first_position bigint, out stream_versions bigint[])
language plpgsql as $$
declare
  v_count int := jsonb_array_length(p_events);
  v_stream_types text[];
  v_stream_ids text[];
  v_types text[];
  v_datas jsonb[];
  v_metas jsonb[];
  v_digests bytea[];
  v_at_text bytea;
  v_one_stream boolean;
  v_ranks bigint[];
  v_stream_index int[];
  v_distinct_types text[];
  v_distinct_ids text[];
  v_currents bigint[];
  v_prev_hashes bytea[];
  v_hashes bytea[];
  v_base bigint;
  v_prev bytea;
  v_at timestamptz;
begin
  if v_count = 0 then
    return;
  end if;
  -- After taking the lock we must see what the previous holder committed.
  if current_setting('transaction_isolation') <> 'read committed' then
    raise exception 'ledger.append must run in a READ COMMITTED transaction, not %',
      current_setting('transaction_isolation') using errcode = '25001';
  end if;

  select array_agg(e->>'stream_type' order by n), array_agg(e->>'stream_id' order by n),
         array_agg(e->>'type' order by n), array_agg(e->'data' order by n),
         array_agg(coalesce(e->'metadata', '{}'::jsonb) order by n),
         array_agg(ledger.content_digest(e->>'stream_type', e->>'stream_id', e->>'type',
                                         coalesce(e->'metadata', '{}'::jsonb), e->'data') order by n)
    into v_stream_types, v_stream_ids, v_types, v_datas, v_metas, v_digests
    from jsonb_array_elements(p_events) with ordinality as t(e, n);
  -- Each event's rank within its stream in this batch, and which distinct
  -- stream it belongs to; only the streams' current versions need the lock.
  if v_count = 1 then
    v_ranks := '{1}';
    v_stream_index := '{1}';
    v_distinct_types := v_stream_types;
    v_distinct_ids := v_stream_ids;
  else
    select array_agg(rank order by n), array_agg(stream_index order by n)
      into v_ranks, v_stream_index
      from (
        select n, row_number() over (partition by st, si order by n) as rank,
               dense_rank() over (order by st, si) as stream_index
          from unnest(v_stream_types, v_stream_ids) with ordinality as x(st, si, n)
      ) ranked;
    select array_agg(st order by st, si), array_agg(si order by st, si)
      into v_distinct_types, v_distinct_ids
      from (select distinct st, si from unnest(v_stream_types, v_stream_ids) as y(st, si)) d;
  end if;
  v_one_stream := cardinality(v_distinct_types) = 1;
  if p_expected_version is not null and not v_one_stream then
    raise exception 'expected_version applies to one stream, but the batch spans several'
      using errcode = '22023';
  end if;

  -- Everything above ran without the lock. From here to COMMIT we hold it,
  -- and each statement below sees every append committed before we got it.
  -- A heavyweight lock queues its waiters and wakes one at a time.
  perform pg_advisory_xact_lock(7316200);
  select position, hash into v_base, v_prev from ledger.events order by position desc limit 1;
  if v_base is null then
    v_base := 0;
    v_prev := '\x0000000000000000000000000000000000000000000000000000000000000000';
  end if;
  v_at := clock_timestamp();
  v_at_text := convert_to(to_char(v_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), 'UTF8');

  -- Stream versions continue from each stream's current version.
  select array_agg((select coalesce(max(e.stream_version), 0) from ledger.events e
                     where e.stream_type = d.st and e.stream_id = d.si) order by d.k)
    into v_currents
    from unnest(v_distinct_types, v_distinct_ids) with ordinality as d(st, si, k);
  if p_expected_version is not null and v_currents[1] <> p_expected_version then
    raise exception 'version conflict on stream %/%: expected version %, current version %',
      v_stream_types[1], v_stream_ids[1], p_expected_version, v_currents[1]
      using errcode = 'RL409';
  end if;
  stream_versions := array_fill(null::bigint, array[v_count]);

  v_prev_hashes := array_fill(null::bytea, array[v_count]);
  v_hashes := array_fill(null::bytea, array[v_count]);
  for i in 1 .. v_count loop
    v_prev_hashes[i] := v_prev;
    stream_versions[i] := v_currents[v_stream_index[i]] + v_ranks[i];
    -- Must stay identical to ledger.event_hash(), which verify uses.
    v_prev := sha256(v_prev || int8send(v_base + i) || int8send(stream_versions[i]) || v_at_text || v_digests[i]);
    v_hashes[i] := v_prev;
  end loop;

  insert into ledger.events (position, stream_type, stream_id, stream_version, type, data, metadata,
                             recorded_at, prev_hash, hash)
  select v_base + n, st, si, sv, ty, da, me, v_at, ph, h
    from unnest(v_stream_types, v_stream_ids, stream_versions, v_types, v_datas, v_metas, v_prev_hashes, v_hashes)
         with ordinality as u(st, si, sv, ty, da, me, ph, h, n);

  first_position := v_base + 1;
end
$$;

-- Nobody but the owner writes the ledger directly.
revoke update, delete, truncate on ledger.events from public;
revoke execute on function ledger.append from public;

-- Auditors read the ledger and nothing else.
do $$
begin
  if not exists (select 1 from pg_roles where rolname = 'runledger_auditor') then
    create role runledger_auditor nologin;
  end if;
  execute format('grant connect on database %I to runledger_auditor', current_database());
  grant usage on schema ledger to runledger_auditor;
  grant select on ledger.events to runledger_auditor;
  grant execute on function ledger.content_digest, ledger.event_hash to runledger_auditor;
exception when insufficient_privilege then
  raise notice 'runledger_auditor role not created: %', sqlerrm;
end
$$;
