import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createGate } from '../../src/ops/gate.js';

/** A promise and the function that settles it. */
function deferred(): { promise: Promise<void>; resolve: () => void; reject: (error: Error) => void } {
  let resolve!: () => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('gate', () => {
  it('runs at most its limit at once and lets the others in in arrival order, also past a failing task', async () => {
    const gate = createGate(2);
    assert.equal(gate.limit, 2);
    const tasks = Array.from({ length: 5 }, deferred);
    const entered: number[] = [];
    const runs = tasks.map((task, i) => gate.run(async () => (entered.push(i), task.promise)));
    runs.forEach((run) => run.catch(() => {}));
    await turn();
    assert.deepEqual(entered, [0, 1]);
    tasks[1]!.reject(new Error('task 1 failed'));
    await turn();
    assert.deepEqual(entered, [0, 1, 2]);
    await assert.rejects(runs[1]!, /task 1 failed/);
    tasks[0]!.resolve();
    tasks[2]!.resolve();
    await turn();
    assert.deepEqual(entered, [0, 1, 2, 3, 4]);
    tasks[3]!.resolve();
    tasks[4]!.resolve();
    await Promise.all([runs[0], runs[2], runs[3], runs[4]]);
    // Every place was handed back: a new task enters at once.
    const again = Array.from({ length: 2 }, deferred);
    const more = again.map((task, i) => gate.run(async () => (entered.push(5 + i), task.promise)));
    await turn();
    assert.deepEqual(entered, [0, 1, 2, 3, 4, 5, 6]);
    again.forEach((task) => task.resolve());
    await Promise.all(more);
  });

  it('refuses a limit that is not a whole number of at least 1', () => {
    for (const limit of [0, -1, 1.5, Number.NaN]) assert.throws(() => createGate(limit), /whole number of at least 1/);
  });
});
