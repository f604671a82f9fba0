import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LedgerEvent } from '../../src/ledger/types.js';
import { createLedgerObserver } from '../../src/ops/metrics/ledger-observer.js';
import { createMetrics } from '../../src/ops/metrics/registry.js';

let position = 0;
function event(type: string, data: Record<string, unknown>, recordedAt: string): LedgerEvent {
  position += 1;
  return { position, streamType: 'job', streamId: String(data.jobId ?? 'x'), streamVersion: position, type, data, metadata: {}, recordedAt };
}

async function sample(metrics: ReturnType<typeof createMetrics>, name: string, labels: Record<string, string>): Promise<number | undefined> {
  // Histograms list their _count and _sum under the base name, each value naming its series.
  const base = name.replace(/_(count|sum)$/, '');
  const metric = (await metrics.registry.getMetricsAsJSON()).find((m) => m.name === name || m.name === base);
  const value = metric?.values.find(
    (v) => ((v as { metricName?: string }).metricName ?? name) === name && Object.entries(labels).every(([k, l]) => v.labels[k] === l),
  );
  return value?.value;
}

describe('metrics observed from applied ledger events', () => {
  it('counts events by type and measures schedule-to-start, step durations and alerts', async () => {
    const metrics = createMetrics();
    const observe = createLedgerObserver(metrics);
    const job = { jobId: 'j1', pipeline: 'video_clip' };
    observe([
      event('step.queued', { ...job, step: 'download', attempt: 1, queue: 'high', runAt: '2026-01-01T00:00:00.000Z' }, '2026-01-01T00:00:00.000Z'),
      event('step.started', { ...job, step: 'download', attempt: 1, queue: 'high', workerId: 'w' }, '2026-01-01T00:00:02.500Z'),
    ]);
    observe([
      event('step.completed', { ...job, step: 'download', attempt: 1, workerId: 'w', durationMs: 1500 }, '2026-01-01T00:00:04.000Z'),
      // A retry is due at its runAt, not when it was queued.
      event('step.retrying', { ...job, step: 'cut', attempt: 1, nextAttempt: 2, runAt: '2026-01-01T00:01:00.000Z' }, '2026-01-01T00:00:05.000Z'),
      event('step.started', { ...job, step: 'cut', attempt: 2, queue: 'high', workerId: 'w' }, '2026-01-01T00:01:00.250Z'),
      event('step.failed', { ...job, step: 'cut', attempt: 2, workerId: 'w', durationMs: 250, final: true }, '2026-01-01T00:01:00.500Z'),
      event('alert.raised', { alertId: 'a', kind: 'queue_depth', severity: 'critical', subject: 'high', message: 'm' }, '2026-01-01T00:01:01.000Z'),
      // Started without a step.queued this observer saw (queued before it led): not observed.
      event('step.started', { ...job, step: 'crop', attempt: 1, queue: 'high', workerId: 'w' }, '2026-01-01T00:01:02.000Z'),
    ]);

    assert.equal(await sample(metrics, 'runledger_events_appended_total', { type: 'step.started' }), 3);
    assert.equal(await sample(metrics, 'runledger_events_appended_total', { type: 'step.queued' }), 1);
    const labels = { queue: 'high', pipeline: 'video_clip' };
    assert.equal(await sample(metrics, 'runledger_step_schedule_to_start_seconds_count', labels), 2);
    assert.equal(await sample(metrics, 'runledger_step_schedule_to_start_seconds_sum', labels), 2.75);
    assert.equal(await sample(metrics, 'runledger_step_duration_seconds_sum', { step: 'download', outcome: 'completed' }), 1.5);
    assert.equal(await sample(metrics, 'runledger_step_duration_seconds_sum', { step: 'cut', outcome: 'failed' }), 0.25);
    assert.equal(await sample(metrics, 'runledger_alerts_raised_total', { kind: 'queue_depth', severity: 'critical' }), 1);
  });
});
