import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { commands } from '../../src/commands/index.js';
import { runCli } from '../helpers/cli.js';

// --help needs no database: nothing is opened (an unreachable DATABASE_URL proves it).
const env = { DATABASE_URL: 'postgres://nobody@127.0.0.1:1/nothing', LOG_LEVEL: 'warn' };

describe('runledger --help', () => {
  it('lists every command with its summary and the global options', async () => {
    const result = await runCli(['--help'], env);
    assert.equal(result.code, 0);
    for (const [name, command] of Object.entries(commands)) {
      assert.ok(result.stdout.includes(`  ${name.padEnd(10)} ${command.summary}`), `missing ${name}`);
    }
    assert.match(result.stdout, /--verbose/);
  });

  for (const [name, command] of Object.entries(commands)) {
    it(`runledger ${name} --help prints its usage and options without touching the database`, async () => {
      const result = await runCli([name, '--help'], env);
      assert.equal(result.stderr, '');
      assert.equal(result.code, 0);
      assert.match(result.stdout, new RegExp(`^usage: runledger ${name}`));
      assert.ok(result.stdout.includes(command.summary));
      for (const option of command.options ?? []) assert.ok(result.stdout.includes(option), `${name}: ${option}`);
    });
  }

  it('an unknown command says so and exits 2', async () => {
    const result = await runCli(['frobnicate'], env);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /^runledger: unknown command "frobnicate"/);
  });
});
