-- The operators' API: idempotency keys of POST /api/jobs, single-use stream
-- tickets, and run-time throttles of pipelines and queues enforced at step
-- start across every worker. Pauses of a queue (high / normal / background)
-- are rows 'queue:<name>' of pipelines.pauses: a pipeline name never holds a
-- colon, so pipelines.start_steps never mistakes them for a pipeline.

-- The API's own rows live in the schema `runledger` (created by 000003).

-- One row per (actor, key): the request's body hash and, once the job is
-- created, the answer given. A concurrent request with the same key waits on
-- the unique index until the first one commits, then reads its answer.
create table runledger.idempotency_keys (
  actor text not null,
  key text not null,
  request_hash text not null,
  response jsonb not null,
  created_at timestamptz not null default now(),
  primary key (actor, key)
);
create index idempotency_keys_created on runledger.idempotency_keys (created_at);

-- A ticket lets a browser's WebSocket or EventSource, which cannot send an
-- Authorization header, authenticate once: it is stored hashed, expires
-- quickly and is deleted when redeemed.
create table runledger.stream_tickets (
  ticket_hash text primary key,
  actor text not null,
  role text not null check (role in ('admin', 'read')),
  expires_at timestamptz not null
);

-- Run-time limits. scope is 'pipeline:<name>' or 'queue:<name>'. tokens and
-- refilled_at are the starts-per-second bucket (its size is
-- max(1, starts_per_second)); null limits are not enforced.
create table pipelines.throttles (
  scope text primary key,
  max_running int check (max_running >= 0),
  starts_per_second double precision check (starts_per_second > 0),
  tokens double precision not null default 0,
  refilled_at timestamptz not null default now(),
  reason text,
  set_at timestamptz not null default now()
);

-- Steps running under a throttle, one row each from its start until the
-- worker finishes with it. Rows of a worker that is no longer online are
-- stale (it crashed) and are ignored and removed.
create table pipelines.step_slots (
  job_id uuid not null,
  step text not null,
  pipeline text not null,
  queue text not null,
  worker_id text not null,
  started_at timestamptz not null default now(),
  primary key (job_id, step)
);
create index step_slots_pipeline on pipelines.step_slots (pipeline);
create index step_slots_queue on pipelines.step_slots (queue);

-- The step start of workers: applies queue pauses and throttles, then
-- pipelines.start_steps on the steps admitted, all in one transaction. The
-- throttle rows concerned are locked, so workers' starts under one throttle
-- are serialised and its limits hold across all of them. A step not admitted
-- is queued again (pipelines.hand_back: not for a finished job) to run after
-- a short delay, and its result is {status: 'throttled'}. A started step that
-- took a slot has slot: true in its result; the worker deletes the slot when
-- the step ends. Without throttles or queue pauses this is start_steps itself.
create function pipelines.admit_steps(p_items jsonb, p_worker_id text) returns jsonb
language plpgsql as $$
declare
  v_item jsonb;
  v_i int := 0;
  v_scopes text[];
  v_scope text;
  v_throttle pipelines.throttles;
  v_left jsonb := '{}';
  v_admit boolean;
  v_delay double precision;
  v_admitted jsonb := '[]';
  v_index int[] := '{}';
  v_started jsonb;
  v_results jsonb;
  v_result jsonb;
  v_n int := jsonb_array_length(p_items);
  v_running int;
  v_queue text;
  v_pipeline text;
  v_out jsonb[];
begin
  perform pg_advisory_xact_lock_shared(7316202);
  if not exists (select 1 from pipelines.throttles)
     and not exists (select 1 from pipelines.pauses where pipeline like 'queue:%') then
    return pipelines.start_steps(p_items);
  end if;
  v_out := array_fill(null::jsonb, array[v_n]);
  -- Lock the throttles these items fall under, in one order (no deadlocks),
  -- and compute what each allows now: running slots left and bucket tokens.
  select array_agg(distinct s order by s) into v_scopes from (
    select 'pipeline:' || substr(i->'spec'->>'identifier', 9) as s from jsonb_array_elements(p_items) i
    union all
    select 'queue:' || (i->'spec'->'payload'->>'queue') from jsonb_array_elements(p_items) i) x;
  for v_throttle in select * from pipelines.throttles where scope = any(v_scopes) order by scope for update loop
    v_running := 0;
    if v_throttle.max_running is not null then
      -- Slots of workers that are gone free themselves here.
      delete from pipelines.step_slots s
       where not exists (select 1 from pipelines.workers w where w.worker_id = s.worker_id and w.state = 'online');
      if v_throttle.scope like 'pipeline:%' then
        select count(*) into v_running from pipelines.step_slots where pipeline = substr(v_throttle.scope, 10);
      else
        select count(*) into v_running from pipelines.step_slots where queue = substr(v_throttle.scope, 7);
      end if;
    end if;
    if v_throttle.starts_per_second is not null then
      v_throttle.tokens := least(greatest(1, v_throttle.starts_per_second),
        v_throttle.tokens + extract(epoch from (clock_timestamp() - v_throttle.refilled_at)) * v_throttle.starts_per_second);
      update pipelines.throttles set tokens = v_throttle.tokens, refilled_at = clock_timestamp() where scope = v_throttle.scope;
    end if;
    v_left := v_left || jsonb_build_object(v_throttle.scope, jsonb_build_object(
      'running', case when v_throttle.max_running is null then null else v_throttle.max_running - v_running end,
      'tokens', case when v_throttle.starts_per_second is null then null else v_throttle.tokens end,
      'rate', v_throttle.starts_per_second));
  end loop;

  for v_item in select value from jsonb_array_elements(p_items) loop
    v_i := v_i + 1;
    v_pipeline := substr(v_item->'spec'->>'identifier', 9);
    v_queue := v_item->'spec'->'payload'->>'queue';
    v_admit := true;
    v_delay := 0;
    if exists (select 1 from pipelines.pauses where pipeline = 'queue:' || v_queue) then
      v_admit := false;
      v_delay := 1;
    else
      foreach v_scope in array array['pipeline:' || v_pipeline, 'queue:' || v_queue] loop
        continue when not v_left ? v_scope;
        if (v_left->v_scope->>'running')::int <= 0 then
          v_admit := false;
          v_delay := greatest(v_delay, 0.25);
        end if;
        if (v_left->v_scope->>'tokens')::float8 < 1 then
          v_admit := false;
          v_delay := greatest(v_delay, (1 - (v_left->v_scope->>'tokens')::float8) / (v_left->v_scope->>'rate')::float8);
        end if;
      end loop;
    end if;
    if v_admit then
      foreach v_scope in array array['pipeline:' || v_pipeline, 'queue:' || v_queue] loop
        continue when not v_left ? v_scope;
        v_left := jsonb_set(v_left, array[v_scope], (v_left->v_scope) || jsonb_build_object(
          'running', (v_left->v_scope->>'running')::int - 1,
          'tokens', (v_left->v_scope->>'tokens')::float8 - 1));
      end loop;
      v_admitted := v_admitted || jsonb_build_array(v_item);
      v_index := v_index || v_i;
    else
      perform pipelines.hand_back((v_item->>'jobId')::uuid,
        jsonb_set(v_item->'spec', '{run_at}', to_jsonb(clock_timestamp() + make_interval(secs => v_delay)))::json);
      v_out[v_i] := jsonb_build_object('status', 'throttled', 'delaySeconds', v_delay);
    end if;
  end loop;

  if jsonb_array_length(v_admitted) > 0 then
    v_started := pipelines.start_steps(v_admitted);
    for v_i in 1 .. jsonb_array_length(v_admitted) loop
      v_result := v_started->(v_i - 1);
      v_item := v_admitted->(v_i - 1);
      if v_result->>'status' = 'started' then
        v_pipeline := substr(v_item->'spec'->>'identifier', 9);
        v_queue := v_item->'spec'->'payload'->>'queue';
        if v_left ? ('pipeline:' || v_pipeline) or v_left ? ('queue:' || v_queue) then
          insert into pipelines.step_slots (job_id, step, pipeline, queue, worker_id)
            values ((v_item->>'jobId')::uuid, v_item->>'step', v_pipeline, v_queue, p_worker_id)
            on conflict (job_id, step) do update set worker_id = excluded.worker_id, started_at = now();
          update pipelines.throttles set tokens = tokens - 1
           where scope in ('pipeline:' || v_pipeline, 'queue:' || v_queue) and starts_per_second is not null;
          v_result := v_result || '{"slot": true}';
        end if;
      end if;
      v_out[v_index[v_i]] := v_result;
    end loop;
  end if;
  select coalesce(jsonb_agg(r order by n), '[]') into v_results from unnest(v_out) with ordinality u(r, n);
  return v_results;
end
$$;
