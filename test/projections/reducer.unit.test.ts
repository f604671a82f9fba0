import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import type { LedgerEvent } from '../../src/ledger/types.js';
import type { Delta } from '../../src/projections/delta.js';
import { eventToDeltas } from '../../src/projections/event-to-deltas.js';
import { DURATION_BUCKETS_MS, RECENT_ALERTS, durationBucket, durationPercentile, emptyModel, summarize } from '../../src/projections/model.js';
import { applyDeltas, matchesSlice } from '../../src/projections/reducer.js';

let position = 0;
const event = (type: string, data: Record<string, unknown>, recordedAt = '2026-01-01T10:00:00.000Z'): LedgerEvent => ({
  position: ++position, streamType: 'job', streamId: String(data.jobId ?? 'x'), streamVersion: 1, type, data, metadata: {}, recordedAt,
});
const ref = { jobId: 'j', pipeline: 'p' };

describe('reducer and deltas', () => {
  it('applies set, init, inc, max, add, del, dropBelow and existing in that order', () => {
    const model = emptyModel();
    const d = (patch: Delta['patch'], entity: Delta['entity'] = 'stats', id = 's'): Delta => ({ offset: 1, entity, id, patch, type: 't' });
    applyDeltas(model, [
      d({ inc: { a: 2, '2026-01-01T09:00': 1, '2026-01-01T10:00': 1 }, max: { m: 5 } }),
      d({ inc: { a: 3 }, max: { m: 4 }, dropBelow: '2026-01-01T09:30' }),
    ]);
    assert.deepEqual(model.stats.s, { a: 5, m: 5, '2026-01-01T10:00': 1 });
    applyDeltas(model, [
      d({ set: { status: 'running', startedAt: 'T1' }, add: { currentSteps: 'b' } }, 'job', 'j'),
      d({ init: { startedAt: 'T2', createdAt: 'T0' }, add: { currentSteps: 'a' } }, 'job', 'j'),
      d({ del: { currentSteps: 'b' }, add: { currentSteps: 'a' } }, 'job', 'j'),
      d({ set: { clearedAt: 'T' }, existing: true }, 'alert', 'missing'),
    ]);
    assert.equal(model.jobs.j!.startedAt, 'T1');
    assert.equal(model.jobs.j!.createdAt, 'T0');
    assert.deepEqual(model.jobs.j!.currentSteps, ['a']);
    assert.deepEqual(model.alerts, {});
  });

  it('keeps queue depth and job counts in step with status changes, and cancels unfinished steps', () => {
    const model = emptyModel();
    const deltas = [
      event('job.created', { ...ref, steps: ['a', 'b'], priority: 'high', inputBytes: 1 }),
      event('step.queued', { ...ref, step: 'a', attempt: 1, queue: 'high', inputsFrom: [] }),
      event('step.queued', { ...ref, step: 'b', attempt: 1, queue: 'high', inputsFrom: [] }),
      event('job.started', ref),
      event('step.started', { ...ref, step: 'a', attempt: 1, workerId: 'w', queue: 'high' }),
    ].flatMap(eventToDeltas);
    applyDeltas(model, deltas);
    assert.deepEqual(model.queues, { 'high/p': { queue: 'high', pipeline: 'p', depth: 1 } });
    assert.deepEqual(model.stats['jobs/p'], { running: 1 });
    assert.deepEqual(model.workers.w!.runningSteps, ['j/a']);
    applyDeltas(model, eventToDeltas(event('job.cancelled', { ...ref, reason: 'x' })));
    assert.deepEqual(model.queues, {});
    assert.deepEqual(model.stats['jobs/p'], { cancelled: 1 });
    assert.equal(model.steps['j/a']!.status, 'cancelled');
    assert.equal(model.steps['j/b']!.status, 'cancelled');
  });

  it('keeps only the most recent alerts and ignores clearing an alert that left the window', () => {
    const model = emptyModel();
    for (let i = 0; i < RECENT_ALERTS + 5; i += 1) {
      applyDeltas(model, eventToDeltas(event('alert.raised', { alertId: `a${i}`, kind: 'queue_depth', severity: 'warning', subject: 'q', message: 'm' })));
    }
    assert.equal(Object.keys(model.alerts).length, RECENT_ALERTS);
    assert.equal(model.alerts.a0, undefined);
    applyDeltas(model, eventToDeltas(event('alert.cleared', { alertId: 'a0', kind: 'queue_depth', subject: 'q' })));
    assert.equal(model.alerts.a0, undefined);
    applyDeltas(model, eventToDeltas(event('alert.cleared', { alertId: 'a9', kind: 'queue_depth', subject: 'q' })));
    assert.equal(model.alerts.a9!.clearedAt, '2026-01-01T10:00:00.000Z');
  });

  it('derives p50/p95 from fixed buckets and bounds throughput to a window of event time', () => {
    const model = emptyModel();
    const durations = [5, 40, 40, 90, 200, 300, 700, 2000, 2000, 9000];
    durations.forEach((durationMs, i) => {
      const at = new Date(Date.UTC(2026, 0, 1, 10, 0) + i * 20 * 60_000).toISOString();
      applyDeltas(model, eventToDeltas(event('step.completed', { ...ref, step: 'a', attempt: 1, workerId: 'w', durationMs, inputBytes: 1, outputBytes: 2, next: [] }, at)));
    });
    const row = model.stats['durations/p/a'];
    assert.equal(row!.count, 10);
    assert.equal(row!.maxMs, 9000);
    assert.equal(durationBucket(40), 2);
    assert.equal(durationBucket(1e9), DURATION_BUCKETS_MS.length);
    const p50 = durationPercentile(row, 50)!;
    const p95 = durationPercentile(row, 95)!;
    assert.ok(p50 >= 100 && p50 <= 250, `p50 ${p50} is in the bucket of the 5th value`);
    assert.ok(p95 > 5000 && p95 <= 9000, `p95 ${p95}`);
    assert.equal(durationPercentile(undefined, 50), null);
    const summary = summarize(model);
    assert.deepEqual(summary.durations, [{ pipeline: 'p', step: 'a', count: 10, p50, p95, maxMs: 9000 }]);
    assert.equal(Object.values(summary.stepsPerMinute).reduce((a, b) => a + b, 0), 3);
    // 10 completions 20 minutes apart: a 60-minute window holds the last 3.
    assert.deepEqual(Object.keys(model.stats['steps-per-minute/p']!).sort(), ['2026-01-01T12:20', '2026-01-01T12:40', '2026-01-01T13:00']);
  });

  it('yields nothing for unknown types or missing ids and never throws on malformed data', () => {
    assert.deepEqual(eventToDeltas(event('job.exploded', { jobId: 'j' })), []);
    assert.deepEqual(eventToDeltas(event('job.created', { pipeline: 'p' })), []);
    assert.deepEqual(eventToDeltas(event('step.completed', { jobId: 'j', pipeline: 'p' })), []);
    const odd = eventToDeltas(event('step.queued', { ...ref, step: 's', attempt: 'one', inputsFrom: 'nope', runAt: 'not a time' }));
    assert.equal(odd[0]!.patch.set!.attempt, 1);
    assert.deepEqual(odd[0]!.patch.set!.inputsFrom, []);
    assert.equal(odd[0]!.patch.set!.runAt, null);
    const model = applyDeltas(emptyModel(), eventToDeltas(event('job.created', { ...ref, steps: 'not a list' })));
    assert.deepEqual(model.jobs.j!.steps, []);
  });

  it('tags deltas by the slice their entity belongs to', () => {
    const deltas = eventToDeltas(event('step.completed', { ...ref, step: 'a', attempt: 1, workerId: 'w', durationMs: 5, inputBytes: 1, outputBytes: 2, next: [] }));
    const tags = deltas.map((delta) => [delta.entity, delta.jobId, delta.pipeline]);
    assert.deepEqual(tags, [
      ['step', 'j', 'p'], ['job', 'j', 'p'], ['worker', undefined, undefined], ['stats', undefined, 'p'], ['stats', undefined, 'p'],
    ]);
    assert.ok(matchesSlice(deltas[0]!, { jobId: 'j', pipeline: 'p' }));
    assert.ok(!matchesSlice(deltas[2]!, { pipeline: 'p' }));
    assert.ok(matchesSlice(deltas[3]!, { pipeline: 'p' }) && !matchesSlice(deltas[3]!, { jobId: 'j' }));
  });

  it('is dependency-free, so the browser can load it: the reducer imports only the model, which imports nothing', () => {
    const dir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/projections');
    const imports = (file: string) =>
      [...fs.readFileSync(path.join(dir, file), 'utf8').matchAll(/^\s*(?:import|export)\b[^;]*?from\s+['"]([^'"]+)['"]/gm)].map((m) => m[1]);
    assert.deepEqual(imports('reducer.js'), ['./model.js']);
    assert.deepEqual(imports('model.js'), []);
    assert.deepEqual(imports('delta.js'), []);
  });
});
