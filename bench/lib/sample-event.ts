// The single-event append the ledger benches measure: a step's progress on
// one of 997 job streams, the demo's shape.
import type { NewEvent } from '../../src/ledger/types.js';

export const sampleData = (i: number) => ({ jobId: `job-${i % 997}`, pipeline: 'video_clip', step: 'transcribe', attempt: 1, percent: i % 100 });

/** The i-th sample as one `append` call's events. */
export const sampleEvent = (i: number): NewEvent[] => [{ streamType: 'job', streamId: `job-${i % 997}`, type: 'step.progress', data: sampleData(i) }];

/** The same event as the JSON payload `ledger.append_at_commit` and friends take. */
export const samplePayload = (i: number): string =>
  JSON.stringify([{ stream_type: 'job', stream_id: `job-${i % 997}`, type: 'step.progress', data: sampleData(i) }]);
