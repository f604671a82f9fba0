import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { ensureDatabaseExists, startEmbedded, type Database } from '../../src/ops/database.js';
import { migrate } from '../../src/ops/migrate.js';
import { createPool } from '../../src/ops/pool.js';

export interface BenchContext {
  /** Server-level connection string (DATABASE_URL, or the embedded server this run started). */
  readonly serverUrl: string;
  /** Command-line arguments after the bench name, `--json` removed. */
  readonly args: readonly string[];
  /** Creates a fresh, migrated database for one measurement and returns its URL. */
  freshDatabase(name: string): Promise<string>;
  /** Progress lines go to stderr so `--json` output stays one object on stdout. */
  log(message: string): void;
}

export interface BenchResult {
  /** Rows of the printed table: metric, value, unit, target/floor note. */
  readonly rows: readonly (readonly [metric: string, value: number | string, unit: string, note?: string])[];
  /** The keys the issue names, printed as one JSON object with --json. */
  readonly json: Record<string, number | string | boolean | null>;
}

export async function openBenchContext(args: readonly string[]): Promise<{ context: BenchContext; close(): Promise<void> }> {
  let database: Database | undefined;
  let serverUrl = process.env.DATABASE_URL;
  if (!serverUrl) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'runledger-bench-pg-'));
    fs.chmodSync(dir, 0o777);
    database = await startEmbedded({ dataDir: path.join(dir, 'data'), port: 0, throwaway: true });
    serverUrl = database.url;
  }
  const created: string[] = [];
  const context: BenchContext = {
    serverUrl,
    args,
    async freshDatabase(name) {
      const url = new URL(serverUrl!);
      const dbName = `bench_${name}_${process.pid}`;
      url.pathname = `/${dbName}`;
      const admin = new pg.Client({ connectionString: serverUrl });
      await admin.connect();
      await admin.query(`drop database if exists ${dbName} with (force)`);
      await admin.end();
      await ensureDatabaseExists(url.toString());
      created.push(dbName);
      const pool = createPool(url.toString(), 2, 'runledger-bench');
      await migrate(pool);
      await pool.end();
      return url.toString();
    },
    log: (message) => process.stderr.write(`${message}\n`),
  };
  return {
    context,
    async close() {
      if (database) {
        await database.stop();
        return;
      }
      const admin = new pg.Client({ connectionString: serverUrl });
      await admin.connect();
      for (const name of created) await admin.query(`drop database if exists ${name} with (force)`);
      await admin.end();
    },
  };
}
