import { spawn, type ChildProcess } from 'node:child_process';

export interface LineChild {
  readonly process: ChildProcess;
  /** Complete stdout lines so far. */
  readonly lines: string[];
  /** Resolves when the process has exited (at once if it already has). */
  exited(): Promise<void>;
}

/** Runs a Node script as a child process (stderr inherited), collecting its stdout lines. */
export function spawnNode(script: string, env: Record<string, string>): LineChild {
  const child = spawn(process.execPath, [script], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  const lines: string[] = [];
  let buffer = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    const parts = buffer.split('\n');
    buffer = parts.pop()!;
    lines.push(...parts);
  });
  const exit = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return { process: child, lines, exited: () => exit };
}
