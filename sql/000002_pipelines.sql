-- Pipelines: the operational state the step runner needs besides the ledger
-- and graphile-worker's own tables. Nothing here is a read model: the ledger
-- is still the record of what happened; these rows are what the runner locks
-- and checks so each step's effects happen once.

create schema if not exists pipelines;

-- One row per pipeline run. `plan` is a snapshot of the definition taken at
-- creation ([{name, needs, priority, maxAttempts}]), so retry and cancel work
-- in any process, with or without the definition loaded.
create table pipelines.jobs (
  job_id uuid primary key,
  pipeline text not null,
  priority text not null check (priority in ('high', 'normal', 'background')),
  input jsonb not null,
  plan jsonb not null,
  state text not null default 'queued'
    check (state in ('queued', 'running', 'completed', 'failed', 'cancelled')),
  created_at timestamptz not null default now(),
  started_at timestamptz,
  finished_at timestamptz,
  failed_step text,
  error text
);

create index jobs_dead_letters on pipelines.jobs (finished_at desc) where state = 'failed';

-- The step-run marker: written in the step's own transaction, together with
-- the handler's writes and its events. A re-delivered step finds it and does
-- nothing. It also carries the output that flows to the steps that need it.
create table pipelines.step_runs (
  job_id uuid not null references pipelines.jobs on delete cascade,
  step text not null,
  attempt int not null,
  worker_id text not null,
  output jsonb not null,
  output_bytes int not null,
  completed_at timestamptz not null default now(),
  primary key (job_id, step)
);

-- Paused pipelines; '*' pauses everything.
create table pipelines.pauses (
  pipeline text primary key,
  reason text,
  paused_at timestamptz not null default now()
);

-- Worker liveness: one row per worker process, its heartbeat updated in place
-- (never one ledger event per beat). gw_worker_ids are graphile-worker's own
-- worker ids inside that process, which the sweeper force-unlocks.
create table pipelines.workers (
  worker_id text primary key,
  host text not null,
  pid int not null,
  concurrency int not null,
  pipelines text[] not null,
  gw_worker_ids text[] not null default '{}',
  state text not null check (state in ('online', 'offline', 'stopped')),
  started_at timestamptz not null default now(),
  last_seen_at timestamptz not null default now()
);

create index workers_online on pipelines.workers (last_seen_at) where state = 'online';

-- The current alert per (kind, subject); severity null means clear. Sweepers
-- lock the row, so each crossing is recorded once however many sweep.
create table pipelines.alerts (
  kind text not null,
  subject text not null,
  severity text check (severity in ('warning', 'critical')),
  alert_id uuid,
  changed_at timestamptz not null default now(),
  primary key (kind, subject)
);

-- Called in its own short transaction before steps' handlers run, for one
-- or more steps at once (a worker batches the starts that arrive while its
-- previous call is in flight, so one append covers them). Takes the pause lock
-- shared (pause takes it exclusively), so once `queue.paused` has committed no
-- step can start; appends each item's events (step.started, and job.started
-- for a job's first step) only for the steps that really start.
-- p_items: [{jobId, step, needs, events, jobStarted, spec}]. Returns one
-- {status, priority, input, outputs} per item: status is 'started', 'done'
-- (marker exists: a duplicate delivery), 'paused' (spec, the step job, was
-- queued again), 'missing', or the job's final state.
create function pipelines.start_steps(p_items jsonb) returns jsonb
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
  -- Only jobs that need a state change or a re-queue are locked (a running
  -- job's later steps are not), in one order so batches cannot deadlock.
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
      -- Queue the step again under the job's row lock (a cancel cannot miss
      -- it); the delivery in hand completes without running it.
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
    perform ledger.append(v_events);
  end if;
  return v_results;
end
$$;

-- Called inside the step transaction after the handler's writes: locks the
-- job, writes the marker and says which steps became ready. Returns
-- {status, ready: [names], bytes: {step: output bytes of every completed
-- step}, completed, durationMs}; status 'ok', 'duplicate' (another delivery
-- already committed this step) or the job's state when it is no longer
-- running (the caller rolls back).
create function pipelines.finish_step(
  p_job_id uuid, p_step text, p_attempt int, p_worker_id text, p_output jsonb, p_output_bytes int
) returns jsonb
language plpgsql as $$
declare
  v_job pipelines.jobs;
  v_bytes jsonb;
  v_ready jsonb;
  v_done int;
  v_total int;
begin
  select * into v_job from pipelines.jobs where job_id = p_job_id for update;
  if not found then
    return jsonb_build_object('status', 'missing');
  end if;
  if v_job.state <> 'running' then
    return jsonb_build_object('status', v_job.state);
  end if;
  insert into pipelines.step_runs (job_id, step, attempt, worker_id, output, output_bytes)
    values (p_job_id, p_step, p_attempt, p_worker_id, p_output, p_output_bytes)
    on conflict do nothing;
  if not found then
    return jsonb_build_object('status', 'duplicate');
  end if;
  select jsonb_object_agg(step, output_bytes), count(*) into v_bytes, v_done
    from pipelines.step_runs where job_id = p_job_id;
  v_total := jsonb_array_length(v_job.plan);
  -- Ready: steps that need this one and whose needs are all complete now.
  select coalesce(jsonb_agg(s->>'name'), '[]') into v_ready
    from jsonb_array_elements(v_job.plan) s
   where s->'needs' ? p_step
     and not exists (
       select 1 from jsonb_array_elements_text(s->'needs') n(name) where not (v_bytes ? n.name));
  if v_done = v_total then
    update pipelines.jobs set state = 'completed', finished_at = now() where job_id = p_job_id;
  end if;
  return jsonb_build_object(
    'status', 'ok', 'ready', v_ready, 'bytes', v_bytes, 'completed', v_done = v_total,
    'durationMs', round(extract(epoch from (clock_timestamp() - coalesce(v_job.started_at, v_job.created_at))) * 1000));
end
$$;

-- The last statements of a step transaction: queue the ready steps, then
-- append (the ledger lock is taken last and held only until COMMIT). Returns
-- the position of the first event appended.
create function pipelines.commit_step(p_specs json, p_events jsonb) returns bigint
language plpgsql as $$
begin
  if json_array_length(p_specs) > 0 then
    perform graphile_worker.add_jobs(
      array(select json_populate_record(null::graphile_worker.job_spec, s) from json_array_elements(p_specs) s));
  end if;
  return (select first_position from ledger.append(p_events));
end
$$;

-- Queues a step job again unchanged (a worker shutting down hands back its
-- running steps), unless the job has meanwhile been cancelled or has failed.
create function pipelines.hand_back(p_job_id uuid, p_spec json) returns boolean
language plpgsql as $$
begin
  perform 1 from pipelines.jobs where job_id = p_job_id and state in ('queued', 'running') for update;
  if not found then
    return false;
  end if;
  perform graphile_worker.add_jobs(array[json_populate_record(null::graphile_worker.job_spec, p_spec)]);
  return true;
end
$$;
