import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnNode } from '../helpers/child.js';
import { eventually } from '../helpers/ordering-harness.js';

const FIXTURE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'projector-child.js');

export interface ProjectorChild {
  readonly process: ChildProcess;
  readonly lines: string[];
  /** Waits until the child printed a line starting with `prefix`. */
  waitFor(prefix: string): Promise<void>;
  kill(signal: NodeJS.Signals): Promise<void>;
}

export async function spawnProjector(url: string, env: Record<string, string> = {}): Promise<ProjectorChild> {
  const { process: child, lines, exited } = spawnNode(FIXTURE, { DATABASE_URL: url, ...env });
  const handle: ProjectorChild = {
    process: child,
    lines,
    waitFor: (prefix) => eventually(() => lines.some((line) => line.startsWith(prefix)), 30_000, `child line "${prefix}"`),
    async kill(signal) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited();
    },
  };
  await handle.waitFor('ready');
  return handle;
}

/** The `applied` lines of children: [first, last, distinct offsets]. */
export function appliedRanges(children: readonly ProjectorChild[]): [number, number, number][] {
  return children
    .flatMap((child) => child.lines)
    .filter((line) => line.startsWith('applied '))
    .map((line) => line.split(' ').slice(1).map(Number) as [number, number, number]);
}
