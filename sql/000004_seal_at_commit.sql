-- The ledger, sealed at commit: only O(1) work under the ordering lock.
-- (docs/ledger.md explains the design, why it is safe and the measurements.)
--
-- An append writes its events' bodies (content, per-stream versions, a
-- digest per event) into ledger.bodies as one "block", in parallel with every
-- other writer; per-stream advisory locks make version conflicts fail at
-- once. A DEFERRABLE INITIALLY DEFERRED constraint trigger, firing once per
-- block at COMMIT, takes the ordering lock, reads the head, writes one narrow
-- row to ledger.blocks (first/last position, the root over the block's
-- digests, previous hash, hash) and NOTIFYs. PostgreSQL fires deferred
-- triggers before PreCommit_Notify and the commit record, and releases
-- transaction locks only after ProcArrayEndTransaction, so the lock spans
-- just the commit and position order is still commit order.
--
-- ledger.events is now a view with the same columns as before (prev_hash and
-- hash are the block's) plus digest, block_first, block_last, hash_scheme.
-- Existing events are migrated as one-event blocks of hash_scheme 1: their
-- old per-event hashes stay valid, and the first new block chains from them.

create sequence ledger.block_ids;

create table ledger.bodies (
  block_id bigint not null,
  ordinal int not null check (ordinal > 0),
  stream_type text not null check (stream_type ~ '^[a-z][a-z0-9_.-]{0,63}$'),
  stream_id text not null check (length(stream_id) between 1 and 200),
  stream_version bigint not null check (stream_version > 0),
  type text not null check (type ~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$' and length(type) <= 100),
  data jsonb not null check (jsonb_typeof(data) = 'object'),
  metadata jsonb not null default '{}' check (jsonb_typeof(metadata) = 'object'),
  digest bytea not null,
  -- Set on ordinal 1 only: what the seal needs, so it reads nothing.
  block_size int,
  block_root bytea,
  primary key (block_id, ordinal),
  unique (stream_type, stream_id, stream_version)
);

create table ledger.blocks (
  last_position bigint primary key,
  first_position bigint not null check (first_position > 0 and first_position <= last_position),
  block_id bigint not null unique,
  sealed_at timestamptz not null,
  root bytea not null,
  prev_hash bytea not null,
  hash bytea not null,
  -- 1: an event written before this migration (hash = ledger.event_hash);
  -- 2: a block (hash = ledger.block_hash).
  hash_scheme smallint not null check (hash_scheme in (1, 2))
);

-- The digest of one event (hash_scheme 2). The short fields are
-- length-prefixed and data, last, is not, so data is rendered once and only
-- data and metadata need PostgreSQL's rendering (jsonb::text):
--   sha256(int8(stream_version) || f(stream_type) || f(stream_id) || f(type)
--          || f(metadata::text) || utf8(data::text)),  f(s) = int4(octets(utf8 s)) || utf8 s
create function ledger.event_digest(
  p_stream_type text, p_stream_id text, p_stream_version bigint, p_type text, p_metadata jsonb, p_data jsonb
) returns bytea
language sql immutable parallel safe as $$
  select sha256(int8send(p_stream_version)
    || int4send(octet_length(convert_to(p_stream_type, 'UTF8'))) || convert_to(p_stream_type, 'UTF8')
    || int4send(octet_length(convert_to(p_stream_id, 'UTF8'))) || convert_to(p_stream_id, 'UTF8')
    || int4send(octet_length(convert_to(p_type, 'UTF8'))) || convert_to(p_type, 'UTF8')
    || int4send(octet_length(convert_to(p_metadata::text, 'UTF8'))) || convert_to(p_metadata::text, 'UTF8')
    || convert_to(p_data::text, 'UTF8'))
$$;

-- A block's hash: root = sha256(digest_1 || ... || digest_n) in position order.
create function ledger.block_hash(
  p_prev_hash bytea, p_first bigint, p_last bigint, p_sealed_at timestamptz, p_root bytea
) returns bytea
language sql immutable parallel safe as $$
  select sha256(p_prev_hash || int8send(p_first) || int8send(p_last)
                || convert_to(to_char(p_sealed_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), 'UTF8')
                || p_root)
$$;

-- Existing events become one-event blocks with their own hashes (scheme 1).
insert into ledger.bodies (block_id, ordinal, stream_type, stream_id, stream_version, type, data, metadata, digest)
select -position, 1, stream_type, stream_id, stream_version, type, data, metadata,
       ledger.content_digest(stream_type, stream_id, type, metadata, data)
  from ledger.events;
insert into ledger.blocks (last_position, first_position, block_id, sealed_at, root, prev_hash, hash, hash_scheme)
select position, position, -position, recorded_at,
       ledger.content_digest(stream_type, stream_id, type, metadata, data), prev_hash, hash, 1
  from ledger.events;
drop table ledger.events;
drop function ledger.ring_doorbell();

-- The relation auditors and readers query. Reading by position range is fast
-- when the query also bounds block_last and orders by (block_last, position):
-- `where block_last > $after and position > $after order by block_last, position`
-- (an index scan of the blocks and an incremental sort within each block).
create view ledger.events as
select k.first_position + b.ordinal - 1 as position,
       b.stream_type, b.stream_id, b.stream_version, b.type, b.data, b.metadata,
       k.sealed_at as recorded_at,
       k.prev_hash, k.hash, b.digest,
       k.first_position as block_first, k.last_position as block_last, k.hash_scheme
  from ledger.blocks k
  join ledger.bodies b on b.block_id = k.block_id;

-- The same rows for positions in (p_after, p_until] (p_until null: to the
-- head), in position order, by a plan that touches only those blocks: the
-- range of blocks from the index, then each block's bodies by their key (the
-- OFFSET 0 keeps the planner from joining the whole tables). Readers use it
-- with a LIMIT and their own filters.
create function ledger.events_between(p_after bigint, p_until bigint default null)
returns setof ledger.events
language sql stable as $$
  select k.first_position + b.ordinal - 1, b.stream_type, b.stream_id, b.stream_version, b.type, b.data, b.metadata,
         k.sealed_at, k.prev_hash, k.hash, b.digest, k.first_position, k.last_position, k.hash_scheme
    from ledger.blocks k
    cross join lateral (
      select * from ledger.bodies b
       where b.block_id = k.block_id
         and b.ordinal > p_after - k.first_position + 1
         and (p_until is null or b.ordinal <= p_until - k.first_position + 1)
       order by b.ordinal offset 0) b
   where k.last_position > p_after
     and (p_until is null
          or k.last_position <= coalesce((select min(last_position) from ledger.blocks where last_position >= p_until),
                                         9223372036854775807))
   order by k.last_position, b.ordinal
$$;

comment on view ledger.events is
  'The runledger ledger (append-only). Events are sealed in blocks; prev_hash and hash are the block''s. '
  'See docs/ledger.md for the hash scheme; verify with `runledger verify`.';

-- Append-only, enforced by the database itself, on the tables and the view.
create trigger bodies_no_update before update on ledger.bodies
  for each statement execute function ledger.refuse_change();
create trigger bodies_no_delete before delete on ledger.bodies
  for each statement execute function ledger.refuse_change();
create trigger bodies_no_truncate before truncate on ledger.bodies
  for each statement execute function ledger.refuse_change();
create trigger blocks_no_update before update on ledger.blocks
  for each statement execute function ledger.refuse_change();
create trigger blocks_no_delete before delete on ledger.blocks
  for each statement execute function ledger.refuse_change();
create trigger blocks_no_truncate before truncate on ledger.blocks
  for each statement execute function ledger.refuse_change();
create trigger events_no_change instead of update or delete or insert on ledger.events
  for each row execute function ledger.refuse_change();

-- The seal: once per block, at COMMIT (or at SET CONSTRAINTS ... IMMEDIATE).
-- Everything per event was done by the append; this is the only code that
-- runs under the ordering lock, and it does the same work for 1 event or 1,000.
create function ledger.seal() returns trigger
language plpgsql as $$
declare
  v_last bigint;
  v_prev bytea;
  v_at timestamptz;
begin
  -- Held until the transaction's locks are released, after its commit is
  -- visible: the next sealer reads a head that includes this block.
  perform pg_advisory_xact_lock(7316200);
  select last_position, hash into v_last, v_prev from ledger.blocks order by last_position desc limit 1;
  if v_last is null then
    v_last := 0;
    v_prev := '\x0000000000000000000000000000000000000000000000000000000000000000';
  end if;
  v_at := clock_timestamp();
  -- Must stay identical to ledger.block_hash(), which verify uses.
  insert into ledger.blocks (last_position, first_position, block_id, sealed_at, root, prev_hash, hash, hash_scheme)
  values (v_last + new.block_size, v_last + 1, new.block_id, v_at, new.block_root, v_prev,
          sha256(v_prev || int8send(v_last + 1) || int8send(v_last + new.block_size)
                 || convert_to(to_char(v_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), 'UTF8')
                 || new.block_root),
          2);
  -- The doorbell: only the newest position, never the events.
  perform pg_notify('ledger_events', (v_last + new.block_size)::text);
  return null;
end
$$;

create constraint trigger seal after insert on ledger.bodies
  deferrable initially deferred
  for each row when (new.ordinal = 1) execute function ledger.seal();

-- Writes a block of events, to be sealed at COMMIT; returns each event's
-- stream version (the positions exist once the block is sealed: read
-- ledger.blocks where block_id = currval('ledger.block_ids') after COMMIT).
-- p_events is a JSON array of objects with keys stream_type, stream_id, type,
-- data, metadata (optional). When p_expected_version is given, every event
-- must belong to one stream whose current version must equal it.
create function ledger.append_at_commit(p_events jsonb, p_expected_version bigint default null)
returns bigint[]
language plpgsql as $$
declare
  v_count int := jsonb_array_length(p_events);
  v_stream_types text[];
  v_stream_ids text[];
  v_types text[];
  v_datas jsonb[];
  v_metas jsonb[];
  v_ranks bigint[];
  v_stream_index int[];
  v_distinct_types text[];
  v_distinct_ids text[];
  v_currents bigint[];
  v_versions bigint[];
  v_digests bytea[];
  v_root bytea;
  v_root_version bigint;
  v_block bigint;
begin
  if v_count = 0 then
    return '{}';
  end if;
  -- The seal must see what the previous holder of the lock committed.
  if current_setting('transaction_isolation') <> 'read committed' then
    raise exception 'ledger.append must run in a READ COMMITTED transaction, not %',
      current_setting('transaction_isolation') using errcode = '25001';
  end if;

  if v_count = 1 and p_events->0->>'stream_type' is not null and p_events->0->>'stream_id' is not null then
    -- The common case (a progress event, an API call), without the arrays.
    v_stream_types := array[p_events->0->>'stream_type'];
    v_stream_ids := array[p_events->0->>'stream_id'];
    perform pg_advisory_xact_lock(7316204, hashtext(v_stream_types[1] || '/' || v_stream_ids[1]));
    select coalesce(max(b.stream_version), 0) into v_root_version from ledger.bodies b
     where b.stream_type = v_stream_types[1] and b.stream_id = v_stream_ids[1];
    if p_expected_version is not null and v_root_version <> p_expected_version then
      raise exception 'version conflict on stream %/%: expected version %, current version %',
        v_stream_types[1], v_stream_ids[1], p_expected_version, v_root_version
        using errcode = 'RL409';
    end if;
    v_root_version := v_root_version + 1;
    insert into ledger.bodies (block_id, ordinal, stream_type, stream_id, stream_version, type, data, metadata,
                               digest, block_size, block_root)
    select nextval('ledger.block_ids'), 1, v_stream_types[1], v_stream_ids[1], v_root_version, t, d, m, g, 1, sha256(g)
      from (select p_events->0->>'type' as t, p_events->0->'data' as d, coalesce(p_events->0->'metadata', '{}'::jsonb) as m) e,
           lateral (select ledger.event_digest(v_stream_types[1], v_stream_ids[1], v_root_version, e.t, e.m, e.d) as g) dg;
    return array[v_root_version];
  end if;

  select array_agg(e->>'stream_type' order by n), array_agg(e->>'stream_id' order by n),
         array_agg(e->>'type' order by n), array_agg(e->'data' order by n),
         array_agg(coalesce(e->'metadata', '{}'::jsonb) order by n)
    into v_stream_types, v_stream_ids, v_types, v_datas, v_metas
    from jsonb_array_elements(p_events) with ordinality as t(e, n);
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
  if p_expected_version is not null and cardinality(v_distinct_types) <> 1 then
    raise exception 'expected_version applies to one stream, but the batch spans several'
      using errcode = '22023';
  end if;
  if v_stream_types[1] is null or v_stream_ids[1] is null then
    raise exception 'events[0]: stream_type and stream_id are required' using errcode = '23514';
  end if;

  -- One lock per stream, held to the end of the transaction, taken in one
  -- order so two batches cannot deadlock; the version reads below (new
  -- statements, new snapshots) then see every committed event of the stream.
  perform pg_advisory_xact_lock(7316204, k)
     from (select distinct hashtext(st || '/' || si) as k
             from unnest(v_distinct_types, v_distinct_ids) as d(st, si) order by 1) locks;
  select array_agg((select coalesce(max(b.stream_version), 0) from ledger.bodies b
                     where b.stream_type = d.st and b.stream_id = d.si) order by d.k)
    into v_currents
    from unnest(v_distinct_types, v_distinct_ids) with ordinality as d(st, si, k);
  if p_expected_version is not null and v_currents[1] <> p_expected_version then
    raise exception 'version conflict on stream %/%: expected version %, current version %',
      v_stream_types[1], v_stream_ids[1], p_expected_version, v_currents[1]
      using errcode = 'RL409';
  end if;

  select array_agg(v_currents[si] + r order by n) into v_versions
    from unnest(v_stream_index, v_ranks) with ordinality as u(si, r, n);
  select array_agg(ledger.event_digest(st, sid, sv, ty, me, da) order by n) into v_digests
    from unnest(v_stream_types, v_stream_ids, v_versions, v_types, v_metas, v_datas)
         with ordinality as u(st, sid, sv, ty, me, da, n);
  if v_count = 1 then
    v_root := sha256(v_digests[1]);
  else
    select sha256(string_agg(d, ''::bytea order by n)) into v_root
      from unnest(v_digests) with ordinality as u(d, n);
  end if;

  v_block := nextval('ledger.block_ids');
  insert into ledger.bodies (block_id, ordinal, stream_type, stream_id, stream_version, type, data, metadata,
                             digest, block_size, block_root)
  select v_block, n, st, sid, sv, ty, da, me, dg,
         case when n = 1 then v_count end, case when n = 1 then v_root end
    from unnest(v_stream_types, v_stream_ids, v_versions, v_types, v_datas, v_metas, v_digests)
         with ordinality as u(st, sid, sv, ty, da, me, dg, n);
  return v_versions;
end
$$;

-- The interface other languages use, unchanged: appends and seals at once,
-- so it can return the positions. The ordering lock is then held from here
-- to COMMIT, as before: call it last, or use ledger.append_at_commit.
drop function ledger.append(jsonb, bigint);
create function ledger.append(p_events jsonb, p_expected_version bigint default null,
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
  select b.first_position into first_position from ledger.blocks b where b.block_id = currval('ledger.block_ids');
end
$$;

-- Starts and step transactions append at commit (positions are not needed).
create or replace function pipelines.start_steps(p_items jsonb) returns jsonb
language plpgsql as $$
declare
  v_item jsonb;
  v_job pipelines.jobs;
  v_results jsonb := '[]';
  v_events jsonb := '[]';
  v_result jsonb;
  v_outputs jsonb;
begin
  perform pg_advisory_xact_lock_shared(7316202);
  perform 1 from pipelines.jobs
    where job_id in (select (i->>'jobId')::uuid from jsonb_array_elements(p_items) i)
      and (state = 'queued' or exists (select 1 from pipelines.pauses where pipeline in (jobs.pipeline, '*')))
    order by job_id for update;
  for v_item in select value from jsonb_array_elements(p_items) loop
    select * into v_job from pipelines.jobs where job_id = (v_item->>'jobId')::uuid;
    if not found then
      v_result := jsonb_build_object('status', 'missing');
    elsif v_job.state not in ('queued', 'running') then
      v_result := jsonb_build_object('status', v_job.state);
    elsif exists (select 1 from pipelines.step_runs where job_id = v_job.job_id and step = v_item->>'step') then
      v_result := jsonb_build_object('status', 'done');
    elsif exists (select 1 from pipelines.pauses where pipeline in (v_job.pipeline, '*')) then
      perform graphile_worker.add_jobs(array[json_populate_record(null::graphile_worker.job_spec, (v_item->'spec')::json)]);
      v_result := jsonb_build_object('status', 'paused');
    else
      if v_job.state = 'queued' then
        update pipelines.jobs set state = 'running', started_at = now() where job_id = v_job.job_id;
        v_events := v_events || (v_item->'jobStarted');
      end if;
      v_events := v_events || (v_item->'events');
      select coalesce(jsonb_object_agg(step, output), '{}') into v_outputs
        from pipelines.step_runs
       where job_id = v_job.job_id and step in (select jsonb_array_elements_text(v_item->'needs'));
      v_result := jsonb_build_object('status', 'started', 'priority', v_job.priority, 'input', v_job.input, 'outputs', v_outputs);
    end if;
    v_results := v_results || jsonb_build_array(v_result);
  end loop;
  if jsonb_array_length(v_events) > 0 then
    perform ledger.append_at_commit(v_events);
  end if;
  return v_results;
end
$$;

-- p_at_commit: the caller commits right after and needs no position (the
-- step transaction): the events are sealed at COMMIT and null is returned.
drop function pipelines.commit_step(json, jsonb);
create function pipelines.commit_step(p_specs json, p_events jsonb, p_at_commit boolean default false) returns bigint
language plpgsql as $$
begin
  if json_array_length(p_specs) > 0 then
    perform graphile_worker.add_jobs(
      array(select json_populate_record(null::graphile_worker.job_spec, s) from json_array_elements(p_specs) s));
  end if;
  if p_at_commit then
    perform ledger.append_at_commit(p_events);
    return null;
  end if;
  return (select first_position from ledger.append(p_events));
end
$$;

revoke all on ledger.bodies, ledger.blocks from public;
revoke update, delete, truncate, insert on ledger.events from public;
revoke execute on function ledger.append(jsonb, bigint), ledger.append_at_commit(jsonb, bigint) from public;

do $$
begin
  -- The view and the two tables it reads are the ledger.
  grant select on ledger.events, ledger.bodies, ledger.blocks to runledger_auditor;
  grant execute on function ledger.event_digest, ledger.block_hash, ledger.events_between to runledger_auditor;
exception when undefined_object or insufficient_privilege then
  raise notice 'runledger_auditor grants skipped: %', sqlerrm;
end
$$;
