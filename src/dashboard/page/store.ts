// The page's state: the read model kept by our stream client with the shared
// reducer, the events seen live (one row per ledger position), the history
// of deltas the time scrubber replays, and the samples the charts draw.
import { createStreamClient, type StreamClient, type StreamStatus } from '../../client/client.js';
import type { Delta } from '../../projections/delta.js';
import type { Model } from '../../projections/model.js';
import { applyDeltas } from '../../projections/reducer.js';
import { api, authToken } from './api.js';

export interface EventRow {
  readonly offset: number;
  readonly type: string;
  readonly jobId?: string;
  readonly pipeline?: string;
  /** The entities the event changed, e.g. `step job-7/transcribe`. */
  readonly entities: string[];
  /** When the page received it (ms since the epoch). */
  readonly receivedAt: number;
}

export interface Sample {
  readonly at: number;
  readonly offset: number;
  readonly completed: number;
  readonly failed: number;
  readonly depth: number;
  readonly running: number;
}

/** Events kept in the live list (the oldest drop off beyond this). */
export const MAX_EVENTS = 20_000;
/** Deltas kept for local replay; beyond this the oldest half folds into the base model. */
const MAX_HISTORY = 200_000;
const MAX_SAMPLES = 300;

export type Connection = 'connecting' | 'live' | 'replaying' | 'reconnecting' | 'sse' | 'offline';

type Listener = () => void;

export class Store {
  model: Model | undefined;
  offset = 0;
  head = 0;
  connection: Connection = 'connecting';
  transport: 'ws' | 'sse' = 'ws';
  error: string | undefined;
  readonly events: EventRow[] = [];
  /** The offset of the last snapshot: the event list holds the events after it. */
  snapshotOffset = 0;
  /** The model at `baseOffset`, and every delta after it: what the scrubber replays. */
  baseModel: Model | undefined;
  baseOffset = 0;
  history: Delta[] = [];
  readonly samples: Sample[] = [];
  /** Event time → received, ms, of recent live events whose deltas carry a time. */
  readonly latencies: { at: number; ms: number }[] = [];
  /** Receive times of recent events, for events per second. */
  private readonly recent: number[] = [];
  /** Job ids newest first (by the offset that created them). */
  jobOrder: string[] = [];
  private readonly known = new Set<string>();
  version = 0;
  /** Times the stream connection was lost and retried. */
  reconnects = 0;
  private client: StreamClient | undefined;
  private readonly listeners = new Set<Listener>();
  private scheduled = false;

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Re-render soon, once for everything that arrived meanwhile. */
  private changed(): void {
    this.version += 1;
    if (this.scheduled) return;
    this.scheduled = true;
    setTimeout(() => {
      this.scheduled = false;
      for (const listener of this.listeners) listener();
    }, 0);
  }

  start(wsUrl: string, sseUrl: string): void {
    this.client?.close();
    this.client = createStreamClient({
      url: wsUrl,
      sseUrl,
      token: authToken(),
      onStatus: (status, transport) => this.onStatus(status, transport),
      onChange: (model, deltas, offset) => this.onChange(model, deltas, offset),
      onCaughtUp: (offset) => {
        this.head = Math.max(this.head, offset);
        this.connection = this.transport === 'sse' ? 'sse' : 'live';
        this.changed();
      },
      onError: (error) => {
        this.error = `${error.code}: ${error.message}`;
        if (error.stopped) this.connection = 'offline';
        this.changed();
      },
    });
    setInterval(() => this.sample(), 1000);
  }

  stop(): void {
    this.client?.close();
  }

  private onStatus(status: StreamStatus, transport: 'ws' | 'sse'): void {
    this.transport = transport;
    if (status === 'open') {
      this.connection = 'replaying';
      this.error = undefined;
    } else if (status === 'reconnecting') {
      this.connection = 'reconnecting';
      this.reconnects += 1;
    }
    else if (status === 'stopped') this.connection = 'offline';
    else this.connection = 'connecting';
    this.changed();
  }

  private onChange(model: Model, deltas: readonly Delta[], offset: number): void {
    this.model = model;
    this.offset = offset;
    this.head = Math.max(this.head, offset);
    if (deltas.length === 0) {
      // A snapshot: the scrubber's local history starts again from here.
      performance.mark('runledger:snapshot');
      // The scrubber's base copy is taken after the first render (a 10,000-job
      // model takes a while to copy); its local history starts there.
      this.baseModel = undefined;
      this.history = [];
      setTimeout(() => {
        if (this.model !== model || this.baseModel) return;
        this.baseModel = structuredClone(model);
        this.baseOffset = this.offset;
        this.history = [];
      }, 500);
      this.baseOffset = offset;
      this.snapshotOffset = offset;
      this.indexJobs(true);
      performance.mark('runledger:indexed');
    } else {
      this.record(deltas);
      this.indexJobs(false, deltas);
    }
    this.changed();
  }

  private record(deltas: readonly Delta[]): void {
    const now = Date.now();
    let row: EventRow | undefined;
    for (const delta of deltas) {
      if (this.baseModel) this.history.push(delta);
      if (row === undefined || row.offset !== delta.offset) {
        row = { offset: delta.offset, type: delta.type, jobId: delta.jobId, pipeline: delta.pipeline, entities: [], receivedAt: now };
        this.events.push(row);
        this.recent.push(now);
      }
      row.entities.push(`${delta.entity} ${delta.id}`);
      const set = delta.patch.set;
      const at = set?.startedAt ?? set?.finishedAt ?? set?.queuedAt ?? delta.patch.init?.createdAt;
      if (typeof at === 'string' && (this.connection === 'live' || this.connection === 'sse')) {
        this.latencies.push({ at: now, ms: now - Date.parse(at) });
        if (this.latencies.length > 200) this.latencies.shift();
      }
      if (row.jobId === undefined && delta.jobId !== undefined) (row as { jobId?: string }).jobId = delta.jobId;
      if (row.pipeline === undefined && delta.pipeline !== undefined) (row as { pipeline?: string }).pipeline = delta.pipeline;
    }
    if (this.events.length > MAX_EVENTS) this.events.splice(0, this.events.length - MAX_EVENTS);
    if (this.history.length > MAX_HISTORY && this.baseModel) {
      // Fold the oldest half into the base, cutting at an event boundary.
      let cut = this.history.length >> 1;
      while (cut < this.history.length && this.history[cut]!.offset === this.history[cut - 1]!.offset) cut += 1;
      const folded = this.history.splice(0, cut);
      applyDeltas(this.baseModel, folded);
      this.baseOffset = folded[folded.length - 1]!.offset;
    }
  }

  private indexJobs(all: boolean, deltas: readonly Delta[] = []): void {
    const jobs = this.model!.jobs;
    if (all) {
      this.known.clear();
      this.jobOrder = newestFirst(jobs);
      for (const id of this.jobOrder) this.known.add(id);
      return;
    }
    const fresh: string[] = [];
    for (const delta of deltas) {
      if (delta.entity === 'job' && !this.known.has(delta.id) && jobs[delta.id]) {
        this.known.add(delta.id);
        fresh.push(delta.id);
      } else if (delta.entity === 'job' && this.known.has(delta.id) && !jobs[delta.id]) {
        // Archived out of the live window.
        this.known.delete(delta.id);
        this.jobOrder = this.jobOrder.filter((id) => id !== delta.id);
      }
    }
    if (fresh.length > 0) this.jobOrder = [...fresh.reverse(), ...this.jobOrder];
  }

  /** Events received in the last `ms` milliseconds, per second. */
  eventsPerSecond(ms = 5000): number {
    const since = Date.now() - ms;
    while (this.recent.length > 0 && this.recent[0]! < since) this.recent.shift();
    return (this.recent.length * 1000) / ms;
  }

  private sample(): void {
    const model = this.model;
    if (!model) return;
    let completed = 0;
    let failed = 0;
    let running = 0;
    for (const [id, row] of Object.entries(model.stats)) {
      if (!id.startsWith('jobs/')) continue;
      completed += row.completed ?? 0;
      failed += row.failed ?? 0;
      running += row.running ?? 0;
    }
    let depth = 0;
    for (const queue of Object.values(model.queues)) depth += queue.depth;
    this.samples.push({ at: Date.now(), offset: this.offset, completed, failed, depth, running });
    if (this.samples.length > MAX_SAMPLES) this.samples.shift();
    this.changed();
  }

  /** The model as of `offset`, replayed locally; undefined when it is before the local history. */
  modelAt(offset: number): Model | undefined {
    if (!this.baseModel || offset < this.baseOffset) return undefined;
    const model = structuredClone(this.baseModel);
    const upTo: Delta[] = [];
    for (const delta of this.history) {
      if (delta.offset > offset) break;
      upTo.push(delta);
    }
    return applyDeltas(model, upTo);
  }
}

/** The model as of `offset`: local replay when the page holds that history, else the server's as-of-N view. */
export async function modelAt(store: Store, offset: number): Promise<{ model: Model; source: 'local' | 'server' }> {
  const local = store.modelAt(offset);
  if (local) return { model: local, source: 'local' };
  const body = (await api(`/api/dashboard?at=${offset}`)) as { model?: Model; offset?: number } & Model;
  return { model: (body.model ?? body) as Model, source: 'server' };
}

/** Job ids newest first: by creation time (then id, for a stable order). */
export function newestFirst(jobs: Model['jobs']): string[] {
  // ISO-8601 UTC strings of one format sort as text; ids break ties.
  const keyed = Object.keys(jobs).map((id) => [jobs[id]!.createdAt ?? '', id] as const);
  keyed.sort((a, b) => (a[0] < b[0] ? 1 : a[0] > b[0] ? -1 : a[1] < b[1] ? -1 : 1));
  return keyed.map(([, id]) => id);
}
