import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runCli } from '../helpers/cli.js';

// Errors reach users as one line naming what failed and what to do; the
// stack only with --verbose or LOG_LEVEL=debug.
describe('CLI errors', () => {
  const unreachable = { DATABASE_URL: 'postgres://nobody:secret@127.0.0.1:1/nothing', LOG_LEVEL: 'warn' };

  it('an unreachable database: one line, exit 1, password hidden', async () => {
    const result = await runCli(['verify'], unreachable);
    assert.equal(result.code, 1);
    assert.equal(result.stdout, '');
    assert.match(result.stderr, /^runledger verify: cannot reach PostgreSQL at postgres:\/\/nobody:\*\*\*@127\.0\.0\.1:1\/nothing: .*Check DATABASE_URL\.\n$/);
  });

  it('LOG_LEVEL=debug prints the stack after the line', async () => {
    const result = await runCli(['verify'], { ...unreachable, LOG_LEVEL: 'debug' });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /^runledger verify: cannot reach PostgreSQL/);
    assert.match(result.stderr, /\n\s+at /);
  });

  it('a bad setting names the variable', async () => {
    const result = await runCli(['verify'], { ...unreachable, RUNLEDGER_POOL_SIZE: 'many' });
    assert.equal(result.code, 1);
    assert.equal(result.stderr, 'runledger verify: RUNLEDGER_POOL_SIZE must be a non-negative number, got "many"\n');
  });

  it('a pool too small for the projector is refused before anything starts', async () => {
    const result = await runCli(['serve'], { ...unreachable, RUNLEDGER_POOL_SIZE: '1' });
    assert.equal(result.code, 1);
    assert.equal(result.stderr, 'runledger serve: RUNLEDGER_POOL_SIZE must be at least 2, got 1\n');
  });
});
