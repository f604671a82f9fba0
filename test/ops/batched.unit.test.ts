import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { batched } from '../../src/ops/batched.js';

const turn = () => new Promise((resolve) => setImmediate(resolve));

/** A batcher whose batches stay open until `release(n)` settles the n-th; records each batch's items. */
function recording(alone?: (item: number) => Promise<string>) {
  const batches: number[][] = [];
  const releases: (() => void)[] = [];
  const add = batched<number, string>({
    together: async (items) => {
      batches.push(items);
      await new Promise<void>((resolve) => releases.push(resolve));
      if (items.includes(-1)) throw new Error('a batch with -1 fails');
      return items.map((item) => `done ${item}`);
    },
    alone,
  });
  return { add, batches, release: (n: number) => releases[n]!() };
}

/** Sends 0 alone, then -1 and 5 while it is open, and lets 0's batch end: -1 and 5 share the next batch, still open. */
async function sharedBatchAfterFirst({ add, release }: ReturnType<typeof recording>): Promise<Promise<string>[]> {
  const first = add(0);
  const shared = [-1, 5].map((item) => add(item));
  await turn();
  release(0);
  await first;
  await turn();
  return shared;
}

describe('batched (group commit without a timer)', () => {
  it('sends the first item at once and the items that arrive meanwhile together, one batch in flight', async () => {
    const { add, batches, release } = recording();
    const results = [1, 2, 3].map((item) => add(item));
    await turn();
    assert.deepEqual(batches, [[1]]);
    release(0);
    await turn();
    assert.deepEqual(batches, [[1], [2, 3]]);
    release(1);
    assert.deepEqual(await Promise.all(results), ['done 1', 'done 2', 'done 3']);
    // Idle again: the next item goes out at once, alone.
    const later = add(4);
    await turn();
    assert.deepEqual(batches.at(-1), [4]);
    release(2);
    assert.equal(await later, 'done 4');
  });

  it('without `alone`, rejects every item of a failed batch; the next batch still runs', async () => {
    const batcher = recording();
    const { add, batches, release } = batcher;
    const shared = await sharedBatchAfterFirst(batcher);
    assert.deepEqual(batches, [[0], [-1, 5]]);
    release(1);
    for (const result of shared) await assert.rejects(result, /a batch with -1 fails/);
    const later = add(6);
    await turn();
    release(2);
    assert.equal(await later, 'done 6');
  });

  it('with `alone`, tries a failed batch again item by item, so one item keeps its error to itself', async () => {
    const batcher = recording(async (item) => {
      if (item === -1) throw new Error('-1 alone fails');
      return `alone ${item}`;
    });
    const shared = await sharedBatchAfterFirst(batcher);
    batcher.release(1);
    await assert.rejects(shared[0]!, /-1 alone fails/);
    assert.equal(await shared[1], 'alone 5');
  });
});
