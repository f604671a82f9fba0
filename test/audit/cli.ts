import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type pg from 'pg';
import { randomJsonText, seeded } from './random-json.js';
import { demoSource } from '../projections/helpers.js';

const run = promisify(execFile);

/** Runs `runledger <args>` against `url`; resolves with its exit code and output, never rejects on a non-zero exit. */
export async function runledger(url: string | undefined, args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const childEnv: Record<string, string | undefined> = { ...process.env, LOG_LEVEL: 'silent', ...env };
  if (url === undefined) delete childEnv.DATABASE_URL;
  else childEnv.DATABASE_URL = url;
  return run(process.execPath, ['dist/src/cli.js', ...args], { env: childEnv, maxBuffer: 256 * 1024 * 1024 }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, stdout: error.stdout, stderr: error.stderr }),
  );
}

/** Demo events plus events with tricky bodies (unicode, escapes, big and tiny numbers, odd key orders). */
export async function appendMixedLedger(pool: pg.Pool, demo = 600, tricky = 200): Promise<void> {
  await demoSource({ seed: 7 })(pool, demo, 50);
  const random = seeded(99);
  for (let batch = 0; batch < tricky / 20; batch += 1) {
    const events: string[] = [];
    for (let index = 0; index < 20; index += 1) {
      let data = randomJsonText(random);
      if (!data.startsWith('{')) data = `{"v": ${data}, "b": 1.50, "a": 1e2}`;
      events.push(`{"stream_type": "audit", "stream_id": "odd-${batch}-é\\t\\"", "type": "audit.tricky", "data": ${data}, "metadata": {"actor": "日本", "n": 5e-324}}`);
    }
    await pool.query('select ledger.append($1::jsonb)', [`[${events.join(',')}]`]);
  }
}
