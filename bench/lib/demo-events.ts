// A deterministic generator of ledgers shaped like the demo pipelines, for
// tests and benches: video clips (download → transcribe → detect moments →
// detect faces → crop → cut) and content agents (topic identification →
// knowledge-base ingestion → three section writers in parallel → reviewer),
// with progress, failures, retries with backoff, dead letters and their
// retries, cancels, workers starting, stopping, going offline and back,
// load samples, pauses and alerts. Same seed, same events.
import { append } from '../../src/ledger/append.js';
import type { Queryable } from '../../src/ledger/types.js';
import type { EventData, EventType, Priority, TypedNewEvent } from '../../src/events/catalogue.js';

interface StepDef {
  readonly name: string;
  readonly after: readonly string[];
  readonly agent?: boolean;
  /** Typical duration, ms. */
  readonly ms: number;
}

const PIPELINES: Record<string, readonly StepDef[]> = {
  video_clip: [
    { name: 'download', after: [], ms: 800 },
    { name: 'transcribe', after: ['download'], ms: 4000 },
    { name: 'detect_moments', after: ['transcribe'], ms: 1500 },
    { name: 'detect_faces', after: ['detect_moments'], ms: 2500 },
    { name: 'crop', after: ['detect_faces'], ms: 600 },
    { name: 'cut', after: ['crop'], ms: 900 },
  ],
  content_agents: [
    { name: 'topic_identification', after: [], ms: 1200, agent: true },
    { name: 'knowledge_ingestion', after: ['topic_identification'], ms: 3000, agent: true },
    { name: 'write_introduction', after: ['knowledge_ingestion'], ms: 5000, agent: true },
    { name: 'write_body', after: ['knowledge_ingestion'], ms: 9000, agent: true },
    { name: 'write_conclusion', after: ['knowledge_ingestion'], ms: 4000, agent: true },
    { name: 'review', after: ['write_introduction', 'write_body', 'write_conclusion'], ms: 2500, agent: true },
  ],
};
const PIPELINE_NAMES = Object.keys(PIPELINES);
const AGENTS = [
  { type: 'fast-small', tokensPerMs: 0.4, usdPerToken: 0.000_000_5 },
  { type: 'balanced', tokensPerMs: 0.25, usdPerToken: 0.000_003 },
  { type: 'deep-large', tokensPerMs: 0.1, usdPerToken: 0.000_015 },
];
const PRIORITIES: Priority[] = ['high', 'normal', 'normal', 'normal', 'background'];
const MAX_ATTEMPTS = 3;
const BASE_TIME = Date.UTC(2026, 0, 1);

export interface DemoOptions {
  /** (Default: 1) */
  readonly seed?: number;
  /** Worker processes simulated. (Default: 6) */
  readonly workers?: number;
  /** Chance that one step attempt fails. (Default: 0.06) */
  readonly failureRate?: number;
  /** Jobs in flight at once. (Default: 30) */
  readonly concurrentJobs?: number;
  /**
   * Emulate the retention task: after every `every` events, `job.archived`
   * for the finished jobs beyond the newest `keepFinished` (oldest first).
   * An archived dead letter is no longer retried. (Default: no archiving)
   */
  readonly archive?: { readonly every: number; readonly keepFinished: number };
}

/** mulberry32: small, fast, and the same everywhere. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const ev = <T extends EventType>(streamType: TypedNewEvent['streamType'], streamId: string, type: T, data: EventData[T]): TypedNewEvent =>
  ({ streamType, streamId, type, data }) as TypedNewEvent;

interface Worker {
  readonly id: string;
  state: 'online' | 'offline' | 'stopped';
}

interface DeadJob {
  readonly jobId: string;
  readonly pipeline: string;
  readonly priority: Priority;
  readonly done: ReadonlySet<string>;
  readonly attempts: ReadonlyMap<string, number>;
}

/**
 * An endless, deterministic stream of demo events in ledger order. Take as
 * many as you need (see `appendDemoEvents`); consecutive calls continue.
 */
export function* demoEvents(options: DemoOptions = {}): Generator<TypedNewEvent, never> {
  const random = prng(options.seed ?? 1);
  const failureRate = options.failureRate ?? 0.06;
  const concurrent = options.concurrentJobs ?? 30;
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  let tick = 0;
  const time = () => new Date(BASE_TIME + tick * 37).toISOString();
  const workers: Worker[] = [];
  let workerSerial = 0;
  let jobSerial = 0;
  let alertSerial = 0;
  const openAlerts: { alertId: string; kind: 'queue_depth' | 'worker_offline'; subject: string }[] = [];
  const deadLetters: DeadJob[] = [];
  const paused = new Set<string>();

  const startWorker = (): TypedNewEvent => {
    const worker: Worker = { id: `worker-${++workerSerial}`, state: 'online' };
    workers.push(worker);
    return ev('worker', worker.id, 'worker.started', {
      workerId: worker.id, host: `host-${workerSerial % 3}`, pid: 1000 + workerSerial, concurrency: 8, pipelines: PIPELINE_NAMES,
    });
  };
  const onlineWorker = () => {
    const online = workers.filter((w) => w.state === 'online');
    return online.length > 0 ? pick(online).id : workers[0]!.id;
  };

  /** One job's events, from creation (or from a dead-letter retry) to its end. */
  function* job(
    jobId: string,
    pipeline: string,
    priority: Priority,
    resume?: DeadJob,
  ): Generator<TypedNewEvent, DeadJob | undefined> {
    const defs = PIPELINES[pipeline]!;
    const ref = { jobId, pipeline };
    const done = new Set(resume?.done ?? []);
    const attempts = new Map(resume?.attempts ?? []);
    const outputBytes = new Map<string, number>();
    const inputBytes = 1000 + Math.floor(random() * 50_000);
    const started = tick;
    if (!resume) {
      yield ev('job', jobId, 'job.created', { ...ref, input: { url: `https://example.test/${jobId}` }, inputBytes, priority, steps: defs.map((d) => d.name) });
    }
    let jobStarted = resume !== undefined;
    while (done.size < defs.length) {
      const ready = defs.filter((d) => !done.has(d.name) && d.after.every((a) => done.has(a)));
      for (const def of ready) {
        const attempt = (attempts.get(def.name) ?? 0) + 1;
        attempts.set(def.name, attempt);
        const inputsFrom = def.after.map((a) => ({ step: a, bytes: outputBytes.get(a) ?? 0 }));
        yield ev('job', jobId, 'step.queued', {
          ...ref, step: def.name, attempt, queue: priority, priority, runAt: time(), inputsFrom,
          inputBytes: inputsFrom.reduce((sum, i) => sum + i.bytes, 0) || inputBytes,
        });
      }
      if (random() < 0.015) {
        yield ev('job', jobId, 'job.cancelled', { ...ref, reason: 'cancelled by operator' });
        return undefined;
      }
      // The steps of one wave run side by side: start them all, then finish them in random order.
      const running = [...ready];
      for (const def of running) {
        const attempt = attempts.get(def.name)!;
        if (!jobStarted) {
          jobStarted = true;
          yield ev('job', jobId, 'job.started', ref);
        }
        const agent = def.agent ? pick(AGENTS) : undefined;
        yield ev('job', jobId, 'step.started', {
          ...ref, step: def.name, attempt, workerId: onlineWorker(), queue: priority, ...(agent ? { agentType: agent.type } : {}),
        });
      }
      while (running.length > 0) {
        const def = running.splice(Math.floor(random() * running.length), 1)[0]!;
        let attempt = attempts.get(def.name)!;
        for (;;) {
          const workerId = onlineWorker();
          if (random() < 0.5) yield ev('job', jobId, 'step.progress', { ...ref, step: def.name, attempt, percent: Math.floor(random() * 100) });
          const durationMs = Math.round(def.ms * (0.3 + random() * 1.7) * 10) / 10;
          // A step that failed once is likelier to fail again, so some run out of attempts.
          if (random() >= (attempt === 1 ? failureRate : 0.35)) {
            const bytes = Math.floor(500 + random() * 200_000);
            outputBytes.set(def.name, bytes);
            const agent = def.agent ? pick(AGENTS) : undefined;
            const tokens = agent ? Math.round(durationMs * agent.tokensPerMs) : undefined;
            yield ev('job', jobId, 'step.completed', {
              ...ref, step: def.name, attempt, workerId, durationMs, inputBytes, outputBytes: bytes,
              next: defs.filter((d) => d.after.includes(def.name)).map((d) => d.name),
              ...(agent ? { agentType: agent.type, tokens, costUsd: Math.round(tokens! * agent.usdPerToken * 1e6) / 1e6 } : {}),
            });
            done.add(def.name);
            break;
          }
          const final = attempt >= MAX_ATTEMPTS;
          yield ev('job', jobId, 'step.failed', { ...ref, step: def.name, attempt, workerId, durationMs, error: 'simulated failure', final });
          if (final) {
            yield ev('job', jobId, 'job.failed', { ...ref, step: def.name, error: 'simulated failure', attempts: attempt });
            return { jobId, pipeline, priority, done, attempts };
          }
          const delayMs = 1000 * 2 ** (attempt - 1);
          yield ev('job', jobId, 'step.retrying', { ...ref, step: def.name, attempt, nextAttempt: attempt + 1, runAt: time(), delayMs });
          attempt += 1;
          attempts.set(def.name, attempt);
          yield ev('job', jobId, 'step.started', { ...ref, step: def.name, attempt, workerId: onlineWorker(), queue: priority });
        }
      }
    }
    yield ev('job', jobId, 'job.completed', { ...ref, durationMs: (tick - started) * 37, outputBytes: [...outputBytes.values()].reduce((a, b) => a + b, 0) });
    return undefined;
  }

  for (let i = 0; i < (options.workers ?? 6); i += 1) {
    tick += 1;
    yield startWorker();
  }
  const active: Generator<TypedNewEvent, DeadJob | undefined>[] = [];
  const archive = options.archive;
  /** Finished jobs not archived yet, oldest first. */
  const finished = new Map<string, string>();
  let sinceArchive = 0;
  for (;;) {
    if (archive && sinceArchive >= archive.every) {
      sinceArchive = 0;
      let excess = finished.size - archive.keepFinished;
      for (const [jobId, pipeline] of finished) {
        if (excess-- <= 0) break;
        finished.delete(jobId);
        const dead = deadLetters.findIndex((d) => d.jobId === jobId);
        if (dead >= 0) deadLetters.splice(dead, 1);
        yield ev('job', jobId, 'job.archived', { jobId, pipeline, reason: 'max_jobs' });
      }
    }
    tick += 1;
    const roll = random();
    if (active.length < concurrent && roll < 0.08) {
      const pipeline = pick(PIPELINE_NAMES);
      active.push(job(`job-${++jobSerial}`, pipeline, pick(PRIORITIES)));
      continue;
    }
    if (roll > 0.97) {
      const event = sideEvent();
      if (event) {
        sinceArchive += 1;
        yield event;
        continue;
      }
    }
    if (active.length === 0) continue;
    const index = Math.floor(random() * active.length);
    const next = active[index]!.next();
    if (next.done) {
      active.splice(index, 1);
      if (next.value) deadLetters.push(next.value);
      continue;
    }
    sinceArchive += 1;
    const event = next.value;
    if (archive && (event.type === 'job.completed' || event.type === 'job.failed' || event.type === 'job.cancelled')) {
      const { jobId, pipeline } = event.data as { jobId: string; pipeline: string };
      finished.set(jobId, pipeline);
    } else if (archive && event.type === 'job.retried') {
      finished.delete((event.data as { jobId: string }).jobId);
    }
    yield event;
  }

  function sideEvent(): TypedNewEvent | undefined {
    const roll = random();
    const online = workers.filter((w) => w.state === 'online');
    if (roll < 0.45 && online.length > 0) {
      const worker = pick(online);
      return ev('worker', worker.id, 'worker.load', {
        workerId: worker.id, runningSteps: Math.floor(random() * 8), rssBytes: Math.floor(80e6 + random() * 200e6), cpuPercent: Math.round(random() * 1000) / 10,
      });
    }
    if (roll < 0.52 && online.length > 2) {
      const worker = pick(online);
      worker.state = 'offline';
      return ev('worker', worker.id, 'worker.offline', { workerId: worker.id, lastSeenAt: new Date(BASE_TIME + (tick - 800) * 37).toISOString(), releasedSteps: Math.floor(random() * 3) });
    }
    if (roll < 0.58) {
      const worker = workers.find((w) => w.state === 'offline');
      if (worker) {
        worker.state = 'online';
        return ev('worker', worker.id, 'worker.online', { workerId: worker.id });
      }
    }
    if (roll < 0.62 && online.length > 2) {
      const worker = pick(online);
      worker.state = 'stopped';
      return ev('worker', worker.id, 'worker.stopped', { workerId: worker.id, reason: 'SIGTERM' });
    }
    if (roll < 0.66) return startWorker();
    if (roll < 0.72) {
      const pipeline = random() < 0.2 ? null : pick(PIPELINE_NAMES);
      const key = pipeline ?? '*';
      if (paused.has(key)) {
        paused.delete(key);
        return ev('queue', key, 'queue.resumed', { pipeline });
      }
      paused.add(key);
      return ev('queue', key, 'queue.paused', { pipeline, reason: 'maintenance' });
    }
    if (roll < 0.82) {
      const kind = random() < 0.6 ? 'queue_depth' : 'worker_offline';
      const subject = kind === 'queue_depth' ? pick(['high', 'normal', 'background']) : pick(workers).id;
      const alertId = `alert-${++alertSerial}`;
      openAlerts.push({ alertId, kind, subject });
      const critical = random() < 0.3;
      return ev('alert', alertId, 'alert.raised', {
        alertId, kind, severity: critical ? 'critical' : 'warning', subject, message: `${kind} on ${subject}`,
        ...(kind === 'queue_depth' ? { value: critical ? 600 : 150, threshold: critical ? 500 : 100 } : {}),
      });
    }
    if (roll < 0.9 && openAlerts.length > 0) {
      const { alertId, kind, subject } = openAlerts.splice(Math.floor(random() * openAlerts.length), 1)[0]!;
      return ev('alert', alertId, 'alert.cleared', { alertId, kind, subject });
    }
    if (deadLetters.length > 0) {
      const dead = deadLetters.splice(Math.floor(random() * deadLetters.length), 1)[0]!;
      finished.delete(dead.jobId);
      const steps = PIPELINES[dead.pipeline]!.filter((d) => !dead.done.has(d.name) && d.after.every((a) => dead.done.has(a))).map((d) => d.name);
      active.push(
        (function* (): Generator<TypedNewEvent, DeadJob | undefined> {
          yield ev('job', dead.jobId, 'job.retried', { jobId: dead.jobId, pipeline: dead.pipeline, steps });
          return yield* job(dead.jobId, dead.pipeline, dead.priority, dead);
        })(),
      );
    }
    return undefined;
  }
}

/**
 * Appends the next `count` events of `source` through the ledger's real
 * `append`, `batchSize` events per call. Returns the last position.
 */
export async function appendDemoEvents(
  db: Queryable,
  source: Iterator<TypedNewEvent>,
  count: number,
  batchSize = 500,
): Promise<number> {
  let last = 0;
  for (let done = 0; done < count; ) {
    const batch: TypedNewEvent[] = [];
    while (batch.length < Math.min(batchSize, count - done)) batch.push(source.next().value as TypedNewEvent);
    const results = await append(db, batch);
    last = results[results.length - 1]!.position;
    done += batch.length;
  }
  return last;
}
