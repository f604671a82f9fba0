import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { eventually } from './ordering-harness.js';

const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/cli.js');

export interface ServeProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly httpPort: number;
  readonly wsPort: number;
  /** Every JSON log line the process printed. */
  readonly logs: Record<string, unknown>[];
  /** Resident set size now, from /proc, in bytes. */
  rss(): number;
  /** Sends `signal` and waits for the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Runs `runledger serve` (or `command`, e.g. `start`) as a child process on free ports against `databaseUrl`. */
export async function spawnServe(databaseUrl: string, env: Record<string, string> = {}, command = 'serve'): Promise<ServeProcess> {
  const child = spawn(process.execPath, [CLI, command], {
    env: { ...process.env, DATABASE_URL: databaseUrl, PORT: '0', WS_PORT: '0', LOG_LEVEL: 'info', RUNLEDGER_TAIL_POLL_MS: '500', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Record<string, unknown>[] = [];
  let stderr = '';
  let exit: number | null | undefined;
  child.on('exit', (code) => (exit = code));
  let partial = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    partial += chunk.toString();
    const lines = partial.split('\n');
    partial = lines.pop()!;
    for (const line of lines) {
      try {
        logs.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        logs.push({ msg: line });
      }
    }
  });
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  await eventually(
    () => {
      if (exit !== undefined) throw new Error(`runledger serve exited with ${exit}: ${stderr}`);
      return logs.some((line) => line.msg === 'listening');
    },
    30_000,
    'runledger serve to listen',
  );
  const listening = logs.find((line) => line.msg === 'listening')!;
  return {
    child,
    pid: child.pid!,
    httpPort: listening.httpPort as number,
    wsPort: listening.wsPort as number,
    logs,
    rss() {
      const status = fs.readFileSync(`/proc/${child.pid}/status`, 'utf8');
      return Number(/VmRSS:\s+(\d+)/.exec(status)![1]) * 1024;
    },
    async stop(signal = 'SIGTERM') {
      if (exit === undefined) child.kill(signal);
      await eventually(() => exit !== undefined, 30_000, 'runledger serve to exit');
      return exit ?? null;
    },
  };
}
