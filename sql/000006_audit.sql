-- Auditors (docs/auditing.md): signed checkpoints of the hash chain, stored
-- model snapshots for the read model as of any offset, and what the
-- runledger_auditor role may read.

-- A checkpoint is the server's Ed25519 signature over (position, head hash,
-- time). An auditor who saved one can later prove the ledger still extends
-- exactly that history: rewriting anything before it changes the hash at its
-- position, even when the rest of the chain is re-hashed.
create table ledger.checkpoints (
  position bigint primary key check (position >= 0),
  hash bytea not null check (length(hash) = 32),
  signed_at timestamptz not null,
  -- Raw 32-byte Ed25519 public key; keys may be rotated, each row names its own.
  public_key bytea not null check (length(public_key) = 32),
  signature bytea not null check (length(signature) = 64)
);

comment on table ledger.checkpoints is
  'Signed checkpoints of the ledger''s hash chain. Append-only. The signed message is '
  '"runledger-checkpoint/1 <position> <hash hex> <signed_at ISO-8601 UTC with milliseconds>".';

create function ledger.refuse_checkpoint_change() returns trigger
language plpgsql as $$
begin
  raise exception 'ledger.checkpoints is append-only: % is not allowed', tg_op
    using errcode = 'insufficient_privilege';
end
$$;

create trigger checkpoints_no_update before update on ledger.checkpoints
  for each statement execute function ledger.refuse_checkpoint_change();
create trigger checkpoints_no_delete before delete on ledger.checkpoints
  for each statement execute function ledger.refuse_checkpoint_change();
create trigger checkpoints_no_truncate before truncate on ledger.checkpoints
  for each statement execute function ledger.refuse_checkpoint_change();
revoke update, delete, truncate on ledger.checkpoints from public;

-- The read model as it was at `position`, every K events (src/projections/model-snapshots.ts):
-- the as-of-N endpoint starts from the nearest one at or below N and applies
-- at most K events. `model` is gzip'd JSON of the in-memory model; `version`
-- is the projection code's version (snapshots of another version are ignored).
create table runledger.model_snapshots (
  position bigint not null check (position > 0),
  version int not null,
  model bytea not null,
  taken_at timestamptz not null default now(),
  primary key (position, version)
);

-- Auditors read the ledger, the checkpoints, the snapshots and the read model,
-- and write nothing. The read model's schema is recreated by every rebuild,
-- so the grants on it are default privileges of the role that owns it (the
-- one running migrations and rebuilds): every schema and table it creates
-- from now on is readable by auditors.
do $$
begin
  if not exists (select 1 from pg_roles where rolname = 'runledger_auditor') then
    create role runledger_auditor nologin;
  end if;
  grant select on ledger.checkpoints to runledger_auditor;
  grant usage on schema runledger to runledger_auditor;
  grant select on runledger.model_snapshots to runledger_auditor;
  grant usage on schema projection to runledger_auditor;
  grant select on all tables in schema projection to runledger_auditor;
  alter default privileges grant usage on schemas to runledger_auditor;
  alter default privileges grant select on tables to runledger_auditor;
exception when insufficient_privilege then
  raise notice 'runledger_auditor grants not made: %', sqlerrm;
end
$$;
