-- The schema version, readable by every role that may use the ledger
-- (auditors included, who may read nothing in the runledger schema): the
-- read-only commands (verify, tail) compare it with the newest migration
-- they know instead of migrating, which an auditor's role may not do.
create function ledger.schema_version() returns int
  language sql stable security definer
  set search_path = pg_catalog
as $$ select coalesce(max(id), 0)::int from runledger.migrations $$;

grant execute on function ledger.schema_version() to public;
