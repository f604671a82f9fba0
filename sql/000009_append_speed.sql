-- Two costs every append paid for nothing (measured in docs/ledger.md).
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
