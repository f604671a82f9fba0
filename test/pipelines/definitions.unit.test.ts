import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { AppError } from '../../src/ops/errors.js';
import { definePipeline } from '../../src/pipelines/index.js';
import { contentAgents, videoClip } from '../../src/pipelines/demo/index.js';

const noop = async () => null;
const refused = (pattern: RegExp) => (error: unknown) => {
  assert.ok(error instanceof AppError, `expected an AppError, got ${String(error)}`);
  assert.equal(error.code, 'invalid_pipeline');
  assert.match(error.message, pattern);
  return true;
};

describe('pipeline definitions', () => {
  it('a plain list runs in order; needs make a DAG with roots and dependents', () => {
    const linear = definePipeline({ name: 'l', input: z.object({}), steps: [{ name: 'a', handler: noop }, { name: 'b', handler: noop }, { name: 'c', handler: noop }] });
    assert.deepEqual(linear.steps.map((s) => [s.name, s.needs, s.dependents]), [['a', [], ['b']], ['b', ['a'], ['c']], ['c', ['b'], []]]);
    assert.deepEqual(linear.roots, ['a']);
    assert.deepEqual(contentAgents.byName.get('review')!.needs, ['write_introduction', 'write_body', 'write_conclusion']);
    assert.deepEqual(contentAgents.byName.get('ingest_knowledge')!.dependents, ['write_introduction', 'write_body', 'write_conclusion']);
    assert.deepEqual(videoClip.steps.map((s) => s.name), ['download', 'transcribe', 'detect_moments', 'detect_faces', 'crop', 'cut']);
    const defaults = linear.steps[0]!;
    assert.deepEqual([defaults.maxAttempts, defaults.backoffMs, defaults.maxBackoffMs, defaults.timeoutMs], [3, 1000, 60_000, 300_000]);
  });

  it('refuses cycles, naming the steps in the cycle', () => {
    assert.throws(
      () =>
        definePipeline({
          name: 'loop',
          input: z.object({}),
          steps: [
            { name: 'a', needs: [], handler: noop },
            { name: 'b', needs: ['a', 'd'], handler: noop },
            { name: 'c', needs: ['b'], handler: noop },
            { name: 'd', needs: ['c'], handler: noop },
          ],
        }),
      refused(/^pipeline "loop": steps form a cycle: (b -> c -> d -> b|c -> d -> b -> c|d -> b -> c -> d)$/),
    );
    assert.throws(() => definePipeline({ name: 'self', input: z.object({}), steps: [{ name: 'a', needs: ['a'], handler: noop }] }), refused(/"a" needs itself/));
  });

  it('refuses unknown and duplicate steps, bad names, no steps, bad policies', () => {
    const input = z.object({});
    assert.throws(
      () => definePipeline({ name: 'p', input, steps: [{ name: 'a', handler: noop }, { name: 'b', needs: ['x'], handler: noop }] }),
      refused(/step "b" needs unknown step "x"/),
    );
    assert.throws(() => definePipeline({ name: 'p', input, steps: [{ name: 'a', handler: noop }, { name: 'a', handler: noop }] }), refused(/duplicate step name "a"/));
    assert.throws(() => definePipeline({ name: 'Bad Name', input, steps: [{ name: 'a', handler: noop }] }), refused(/name must be lower-case/));
    assert.throws(() => definePipeline({ name: 'p', input, steps: [{ name: 'A-1', handler: noop }] }), refused(/step 1 \("A-1"\): name/));
    assert.throws(() => definePipeline({ name: 'p', input, steps: [] }), refused(/at least one step/));
    assert.throws(() => definePipeline({ name: 'p', input, steps: [{ name: 'a', handler: noop, retry: { maxAttempts: 0 } }] }), refused(/retry.maxAttempts/));
    assert.throws(() => definePipeline({ name: 'p', input, steps: [{ name: 'a', handler: noop, timeoutMs: -1 }] }), refused(/timeoutMs/));
    assert.throws(() => definePipeline({ name: 'p', input, steps: [{ name: 'a', handler: 'nope' as never }] }), refused(/handler must be a function/));
    assert.throws(() => definePipeline({ name: 'p', input, steps: [{ name: 'a', handler: noop, priority: 'urgent' as never }] }), refused(/priority/));
    assert.throws(() => definePipeline({ name: 'p', input: {} as never, steps: [{ name: 'a', handler: noop }] }), refused(/zod schema/));
  });
});
