// The minimal seal of ../shared/experiments/seal-at-commit.mjs, for the
// append bench's "where does the rest go" rows: single-stream appends, bodies
// with a digest and a per-stream version under a per-stream lock, and a
// deferred trigger that takes the ordering lock at commit to write one narrow
// block row. `append_unordered` does the same per-event work with no ordering
// lock. Not the ledger: a yardstick for it.
//
// `seal.floor_deferred` and `seal.floor_locked` bracket the ordering lock
// itself: the floor's own row (INSERT into a bare table) with its NOTIFY sent
// from a deferred constraint trigger instead of an immediate one, and the same
// with the trigger first taking the ordering lock, nothing else. The second
// minus the first is what handing one transaction-scoped lock from commit to
// commit costs, with no work done under it. `seal.floor_recorded` adds the
// least any ordering must write under the lock: read the head and insert one
// narrow row with a primary key (no hash, no second index).
// `append_recorded` does the per-event work of `append` and then, at commit,
// only that least position record: with `append` and `append_unordered` it
// tells the seal's own work under the lock apart from the CPU the writers'
// per-event work takes from whoever holds it.
/**
 * The experiment's per-event work before any ordering (a per-stream lock, a
 * version read, a digest, a row with two unique indexes), as function `name`
 * writing into `table`: each of the three differs only in what the table's
 * deferred trigger does at commit.
 */
const perEventWork = (name: string, table: string) => `
create function ${name}(p_events jsonb) returns bigint language plpgsql as $$
declare v_block bigint := nextval('seal.block_seq'); v_st text; v_si text; v_ver bigint;
begin
  v_st := p_events->0->>'stream_type'; v_si := p_events->0->>'stream_id';
  perform pg_advisory_xact_lock(7316298, hashtext(v_st || '/' || v_si));
  select coalesce(max(stream_version), 0) into v_ver from ${table} where stream_type = v_st and stream_id = v_si;
  insert into ${table} (block_id, ordinal, stream_type, stream_id, stream_version, type, data, metadata, digest)
  select v_block, n, e->>'stream_type', e->>'stream_id', v_ver + n, e->>'type', e->'data', coalesce(e->'metadata', '{}'),
         sha256(convert_to(jsonb_build_array(e->>'stream_type', e->>'stream_id', e->>'type', coalesce(e->'metadata','{}'), e->'data')::text, 'UTF8'))
    from jsonb_array_elements(p_events) with ordinality t(e, n);
  return v_block;
end $$;`;

export const MINIMAL_SEAL_SQL = `
create schema seal;
create sequence seal.block_seq;
create table seal.bodies (block_id bigint not null, ordinal int not null, stream_type text not null, stream_id text not null,
  stream_version bigint not null, type text not null, data jsonb not null, metadata jsonb not null default '{}',
  digest bytea not null, primary key (block_id, ordinal), unique (stream_type, stream_id, stream_version));
create table seal.blocks (last_position bigint primary key, first_position bigint not null, block_id bigint not null unique,
  n int not null, sealed_at timestamptz not null, root bytea not null, prev_hash bytea not null, hash bytea not null);
create function seal.seal() returns trigger language plpgsql as $$
declare v_n int; v_root bytea; v_last bigint; v_prev bytea; v_at timestamptz;
begin
  select count(*), sha256(string_agg(digest, ''::bytea order by ordinal)) into v_n, v_root from seal.bodies where block_id = new.block_id;
  perform pg_advisory_xact_lock(7316299);
  select last_position, hash into v_last, v_prev from seal.blocks order by last_position desc limit 1;
  v_last := coalesce(v_last, 0); v_prev := coalesce(v_prev, '\\x00'::bytea); v_at := clock_timestamp();
  insert into seal.blocks values (v_last + v_n, v_last + 1, new.block_id, v_n, v_at, v_root, v_prev,
    sha256(v_prev || int8send(v_last + 1) || int4send(v_n) || v_root));
  perform pg_notify('seal', (v_last + v_n)::text);
  return null;
end $$;
create constraint trigger seal after insert on seal.bodies deferrable initially deferred
  for each row when (new.ordinal = 1) execute function seal.seal();
create table seal.bodies2 (like seal.bodies including all);
create function seal.seal_nolock() returns trigger language plpgsql as $$
begin perform pg_notify('seal', new.block_id::text); return null; end $$;
create constraint trigger seal2 after insert on seal.bodies2 deferrable initially deferred
  for each row when (new.ordinal = 1) execute function seal.seal_nolock();
create table seal.floor_deferred (id bigserial primary key, type text not null, data jsonb not null);
create table seal.floor_locked (like seal.floor_deferred including all);
create function seal.notify_only() returns trigger language plpgsql as $$
begin perform pg_notify('floor', new.id::text); return null; end $$;
create function seal.lock_then_notify() returns trigger language plpgsql as $$
begin perform pg_advisory_xact_lock(7316297); perform pg_notify('floor', new.id::text); return null; end $$;
create table seal.floor_recorded (like seal.floor_deferred including all);
create table seal.positions (last_position bigint primary key, sealed_at timestamptz not null);
create function seal.record_then_notify() returns trigger language plpgsql as $$
declare v_last bigint;
begin
  perform pg_advisory_xact_lock(7316296);
  insert into seal.positions
    select coalesce((select last_position from seal.positions order by last_position desc limit 1), 0) + 1, clock_timestamp()
  returning last_position into v_last;
  perform pg_notify('floor', v_last::text);
  return null;
end $$;
create constraint trigger record_at_commit after insert on seal.floor_recorded deferrable initially deferred
  for each row execute function seal.record_then_notify();
create constraint trigger notify_at_commit after insert on seal.floor_deferred deferrable initially deferred
  for each row execute function seal.notify_only();
create constraint trigger lock_at_commit after insert on seal.floor_locked deferrable initially deferred
  for each row execute function seal.lock_then_notify();
create table seal.bodies3 (like seal.bodies including all);
create constraint trigger record_block_at_commit after insert on seal.bodies3 deferrable initially deferred
  for each row when (new.ordinal = 1) execute function seal.record_then_notify();
${perEventWork('seal.append', 'seal.bodies')}
${perEventWork('seal.append_unordered', 'seal.bodies2')}
${perEventWork('seal.append_recorded', 'seal.bodies3')}
`;
