export interface Gate {
  /** Tasks allowed to run at once. */
  readonly limit: number;
  /** Runs `task` once fewer than the gate's limit of tasks are running; callers are let in in arrival order. */
  run<T>(task: () => Promise<T>): Promise<T>;
}

/** At most `limit` tasks at once; the rest wait in a FIFO queue, in this process, costing nothing while they wait. */
export function createGate(limit: number): Gate {
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`a gate's limit must be a whole number of at least 1, not ${limit}`);
  let running = 0;
  const waiting: (() => void)[] = [];
  return {
    limit,
    async run(task) {
      // A finishing task hands its place straight to the next in line, so
      // `running` never drops while anyone waits and nobody can slip past.
      if (running < limit) running += 1;
      else await new Promise<void>((enter) => waiting.push(enter));
      try {
        return await task();
      } finally {
        const next = waiting.shift();
        if (next) next();
        else running -= 1;
      }
    },
  };
}
