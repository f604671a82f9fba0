import type { LedgerEvent } from '../../ledger/types.js';
import type { Metrics } from './registry.js';

/** Jobs whose waiting steps' due times are remembered; beyond this the oldest are forgotten (their starts go unobserved). */
const MAX_JOBS = 50_000;

/**
 * Turns applied ledger events into metrics: events by type, step durations,
 * schedule-to-start latency, alerts raised. Fed by the projector after each
 * committed batch, so across any number of processes each event is counted
 * once (by the leader of the moment): sum these over instances. Workers
 * append most of these events, so this is how their work is measured without
 * scraping every worker process.
 */
export function createLedgerObserver(metrics: Metrics): (events: readonly LedgerEvent[]) => void {
  // jobId → step → when it became due (queued, or its retry time), ms.
  const due = new Map<string, Map<string, number>>();
  const remember = (jobId: string, step: string, at: number) => {
    let steps = due.get(jobId);
    if (steps === undefined) {
      due.set(jobId, (steps = new Map()));
      if (due.size > MAX_JOBS) due.delete(due.keys().next().value!);
    }
    steps.set(step, at);
  };
  return function observeLedger(events) {
    // One inc() per type per batch: prom-client's labelled inc() costs ~0.7 µs.
    const byType = new Map<string, number>();
    for (const event of events) {
      byType.set(event.type, (byType.get(event.type) ?? 0) + 1);
      const data = event.data;
      const pipeline = String(data.pipeline ?? '');
      const jobId = String(data.jobId);
      const step = String(data.step);
      switch (event.type) {
        case 'step.queued':
        case 'step.retrying': {
          const at = Date.parse(String(data.runAt));
          remember(jobId, step, Number.isFinite(at) ? at : Date.parse(event.recordedAt));
          break;
        }
        case 'step.started': {
          const at = due.get(jobId)?.get(step);
          if (at === undefined) break;
          due.get(jobId)!.delete(step);
          const seconds = Math.max(0, (Date.parse(event.recordedAt) - at) / 1000);
          metrics.scheduleToStartSeconds.observe({ queue: String(data.queue ?? ''), pipeline }, seconds);
          break;
        }
        case 'step.completed':
        case 'step.failed':
          if (typeof data.durationMs === 'number') {
            const outcome = event.type === 'step.completed' ? 'completed' : 'failed';
            metrics.stepSeconds.observe({ pipeline, step, outcome }, data.durationMs / 1000);
          }
          break;
        case 'job.completed':
        case 'job.failed':
        case 'job.cancelled':
          // A job that ends forgets its waiting steps (a cancel leaves them unstarted).
          due.delete(jobId);
          break;
        case 'alert.raised':
          metrics.alertsRaised.inc({ kind: String(data.kind), severity: String(data.severity) });
          break;
      }
    }
    for (const [type, count] of byType) metrics.eventsAppended.inc({ type }, count);
  };
}
