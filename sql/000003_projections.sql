-- The read model: tables derived from the ledger by the projector
-- (src/projections). They live in the schema `projection`; a rebuild creates
-- the same tables in a fresh schema with runledger.create_projection_tables()
-- and swaps the schemas by renaming them, so the DDL is written once, here.
-- Numbers that come from event data are double precision (the ledger does not
-- promise integers); counters the projector computes are integers. Times are
-- timestamptz with the millisecond precision of the events' recorded_at.

create schema if not exists runledger;

create function runledger.create_projection_tables(p_schema text) returns void
language plpgsql as $$
begin
  execute format('create schema %I', p_schema);
  execute format($ddl$
    create table %1$I.checkpoint (
      singleton boolean primary key default true check (singleton),
      position bigint not null,
      version int not null,
      rebuilt_at timestamptz
    );

    create table %1$I.jobs (
      id text primary key,
      pipeline text,
      status text not null,
      priority text,
      steps text[] not null,
      current_steps text[] not null,
      completed_steps int not null,
      total_steps int not null,
      progress int not null,
      attempts int not null,
      input_bytes double precision,
      output_bytes double precision,
      created_at timestamptz,
      started_at timestamptz,
      finished_at timestamptz,
      duration_ms double precision,
      error text,
      failed_step text,
      cancel_reason text,
      created_offset bigint,
      updated_offset bigint not null
    );
    create index jobs_status on %1$I.jobs (status, created_offset desc);
    create index jobs_pipeline_status on %1$I.jobs (pipeline, status, created_offset desc);
    create index jobs_created on %1$I.jobs (created_offset desc);

    create table %1$I.steps (
      job_id text not null,
      step text not null,
      pipeline text,
      status text not null,
      attempt double precision not null,
      queue text,
      priority text,
      worker_id text,
      agent_type text,
      queued_at timestamptz,
      run_at timestamptz,
      started_at timestamptz,
      finished_at timestamptz,
      duration_ms double precision,
      input_bytes double precision,
      output_bytes double precision,
      inputs_from jsonb not null,
      tokens double precision,
      cost_usd double precision,
      percent double precision,
      message text,
      error text,
      updated_offset bigint not null,
      primary key (job_id, step)
    );
    create index steps_pipeline_status on %1$I.steps (pipeline, status);
    create index steps_worker_running on %1$I.steps (worker_id) where status = 'running';

    create table %1$I.workers (
      id text primary key,
      status text not null,
      host text,
      pid double precision,
      concurrency double precision,
      pipelines text[] not null,
      started_at timestamptz,
      last_seen_at timestamptz,
      stopped_at timestamptz,
      stop_reason text,
      running_steps text[] not null,
      completed int not null,
      failed int not null,
      load_running double precision,
      load_rss_bytes double precision,
      load_cpu_percent double precision,
      load_at timestamptz,
      updated_offset bigint not null
    );

    create table %1$I.queues (
      queue text not null,
      pipeline text not null,
      depth int not null,
      primary key (queue, pipeline)
    );

    create table %1$I.pauses (
      pipeline text primary key,
      paused boolean not null,
      reason text,
      changed_at timestamptz,
      updated_offset bigint not null
    );

    create table %1$I.stats (
      id text primary key,
      kind text not null,
      pipeline text,
      fields jsonb not null
    );
    create index stats_pipeline on %1$I.stats (pipeline);

    create table %1$I.alerts (
      id text primary key,
      kind text,
      severity text,
      subject text,
      message text,
      value double precision,
      threshold double precision,
      raised_at timestamptz,
      raised_offset bigint not null,
      cleared_at timestamptz
    );
    create index alerts_raised on %1$I.alerts (raised_offset desc);
  $ddl$, p_schema);
  -- Version 0 never matches the code, so the first start-up rebuilds once.
  execute format('insert into %I.checkpoint (position, version) values (0, 0)', p_schema);
end
$$;

select runledger.create_projection_tables('projection');
