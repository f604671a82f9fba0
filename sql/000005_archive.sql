-- Retention of the read model (src/projections, docs/projections.md): the
-- live tables hold what a dashboard shows; a finished job leaves them through
-- a `job.archived` ledger event, and it and its steps move to archive tables
-- of the same shape, in the same schema, so a rebuild builds and swaps both
-- together. The API reads the union of both; snapshots read the live ones.

alter function runledger.create_projection_tables(text) rename to create_projection_tables_v1;

create function runledger.create_archive_tables(p_schema text) returns void
language plpgsql as $$
begin
  execute format($ddl$
    create table %1$I.archive_jobs (like %1$I.jobs including defaults including constraints);
    alter table %1$I.archive_jobs add primary key (id);
    create index archive_jobs_status on %1$I.archive_jobs (status, created_offset desc);
    create index archive_jobs_pipeline_status on %1$I.archive_jobs (pipeline, status, created_offset desc);
    create index archive_jobs_created on %1$I.archive_jobs (created_offset desc);
    create index archive_jobs_created_at on %1$I.archive_jobs (created_at);

    create table %1$I.archive_steps (like %1$I.steps including defaults including constraints);
    alter table %1$I.archive_steps add primary key (job_id, step);

    -- The retention task takes the live window's finished jobs oldest first.
    create index jobs_finished on %1$I.jobs (finished_at, id) where status in ('completed', 'failed', 'cancelled');
    create index jobs_created_at on %1$I.jobs (created_at);
  $ddl$, p_schema);
end
$$;

create function runledger.create_projection_tables(p_schema text) returns void
language plpgsql as $$
begin
  perform runledger.create_projection_tables_v1(p_schema);
  perform runledger.create_archive_tables(p_schema);
end
$$;

select runledger.create_archive_tables('projection');
