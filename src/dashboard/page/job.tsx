import { useEffect, useState } from 'preact/hooks';
import type { JobRow, StepRow } from '../../projections/model.js';
import { api } from './api.js';
import type { ViewProps } from './app.js';
import { bytes, duration, shortId, time } from './format.js';
import { PipelineGraph, stepGraph, type StepDef } from './graph.js';
import { Json } from './json.js';

/** A ledger event of the job, as `GET /api/jobs/:id/events` returns it. */
export interface JobEvent {
  readonly position: number;
  readonly type: string;
  readonly data: Record<string, unknown>;
  readonly recordedAt?: string;
  readonly metadata?: Record<string, unknown>;
}

let definitions: Record<string, StepDef[]> = {};
let definitionsLoaded = false;

/** Pipeline step graphs from `GET /api/pipelines` (several shapes accepted); silently none when the route is missing. */
async function loadDefinitions(): Promise<void> {
  if (definitionsLoaded) return;
  definitionsLoaded = true;
  try {
    const body = (await api('/api/pipelines')) as unknown;
    const list = (Array.isArray(body) ? body : ((body as { data?: unknown[]; pipelines?: unknown[] }).data ?? (body as { pipelines?: unknown[] }).pipelines ?? [])) as {
      name: string;
      steps: { name: string; needs?: string[]; dependsOn?: string[] }[];
    }[];
    for (const p of list) definitions[p.name] = p.steps.map((s) => ({ name: s.name, needs: s.needs ?? s.dependsOn ?? [] }));
    definitions = { ...definitions };
  } catch {
    // No pipelines route on this server: the graph is inferred from the data flow.
  }
}

export function JobDetail(props: ViewProps & { jobId: string }) {
  const { model, jobId } = props;
  const [remote, setRemote] = useState<{ job: JobRow; steps: StepRow[] } | null | undefined>(undefined);
  const inWindow = model.jobs[jobId] !== undefined;
  useEffect(() => {
    // Not in the live window (archived, or older than this page): ask the API for it.
    if (inWindow || remote !== undefined) return;
    api(`/api/jobs/${encodeURIComponent(jobId)}`)
      .then((body) => setRemote(body as { job: JobRow; steps: StepRow[] }))
      .catch(() => setRemote(null));
  }, [jobId, inWindow]);
  if (!inWindow && remote) {
    const steps: Record<string, StepRow> = { ...model.steps };
    for (const step of remote.steps) steps[`${jobId}/${step.step}`] = step;
    return <JobView {...props} model={{ ...model, jobs: { ...model.jobs, [jobId]: remote.job }, steps }} />;
  }
  return <JobView {...props} />;
}

function JobView({ store, model, past, jobId }: ViewProps & { jobId: string }) {
  const [, setLoaded] = useState(0);
  const [events, setEvents] = useState<JobEvent[] | null>(null);
  const [selected, setSelected] = useState<string | null>(null);
  const job = model.jobs[jobId];
  // Refetch the job's events when it or one of its steps changed (step logs touch only their step).
  let updated = job?.updatedOffset ?? 0;
  for (const name of job?.steps ?? []) updated = Math.max(updated, model.steps[`${jobId}/${name}`]?.updatedOffset ?? 0);
  useEffect(() => {
    void loadDefinitions().then(() => setLoaded((n) => n + 1));
  }, []);
  useEffect(() => {
    let live = true;
    api(`/api/jobs/${encodeURIComponent(jobId)}/events`)
      .then((body) => {
        const list = (Array.isArray(body) ? body : (body as { data: JobEvent[] }).data) as JobEvent[];
        if (live) setEvents(list);
      })
      .catch(() => live && setEvents(null));
    return () => {
      live = false;
    };
  }, [jobId, updated]);

  if (!job) {
    return (
      <div class="panel">
        <h1>Job {shortId(jobId)}</h1>
        <p class="muted">Not in the live window{past ? ' at this offset' : ''}: it may be archived or not created yet.</p>
      </div>
    );
  }
  const steps: Record<string, StepRow | undefined> = {};
  for (const name of job.steps) steps[name] = model.steps[`${job.id}/${name}`];
  const graph = stepGraph(model, job, definitions);
  const now = Date.now();
  const liveEvents = store.events.filter((e) => e.jobId === jobId && (!past || e.offset <= past.offset));
  const logs = (events ?? []).filter((e) => e.type === 'step.log');
  const chosen = selected ? steps[selected] : undefined;

  return (
    <div class="job-detail">
      <div class="panel">
        <h1>
          Job <span class="mono">{shortId(job.id)}</span> <span class={`badge ${job.status}`} data-testid="job-status">{job.status}</span>
        </h1>
        <p class="muted">
          {job.pipeline} · {job.priority} priority · {job.completedSteps}/{job.totalSteps} steps · {job.progress}% · attempts {job.attempts}
          {job.durationMs !== null ? ` · took ${duration(job.durationMs)}` : ''} · id <span class="mono">{job.id}</span>
        </p>
        {job.error && <p class="error">✗ {job.failedStep}: {job.error}</p>}
        <div class="graph-wrap">
          <PipelineGraph job={job} steps={steps} graph={graph} now={now} />
        </div>
      </div>
      <div class="row2">
        <div class="panel">
          <h2>Waterfall</h2>
          <Waterfall steps={job.steps.map((s) => steps[s]).filter((s): s is StepRow => s !== undefined)} start={job.createdAt} end={job.finishedAt} now={now} onSelect={setSelected} />
        </div>
        <div class="panel">
          <h2>Data inspector</h2>
          <label>
            Show{' '}
            <select value={selected ?? ''} onChange={(e) => setSelected((e.target as HTMLSelectElement).value || null)}>
              <option value="">the job</option>
              {job.steps.map((s) => (
                <option value={s}>step {s}</option>
              ))}
            </select>
          </label>
          <div class="json">
            <Json value={selected ? { step: chosen ?? null, input: inputOf(events, selected), error: chosen?.error ?? null } : { job, input: inputOf(events, null) }} />
          </div>
        </div>
      </div>
      <div class="row2">
        <div class="panel">
          <h2>Step logs</h2>
          {events === null ? (
            <p class="muted">Logs come from the job's ledger events (GET /api/jobs/:id/events), which this server does not serve.</p>
          ) : logs.length === 0 ? (
            <p class="muted">No log lines.</p>
          ) : (
            <div class="logs" data-testid="step-logs">
              {job.steps.map((name) => {
                const lines = logs.filter((e) => e.data.step === name);
                if (lines.length === 0) return null;
                return (
                  <details open>
                    <summary>
                      {name} <span class="muted">({lines.length} batches)</span>
                    </summary>
                    {lines.flatMap((e) =>
                      ((e.data.lines as { at: string; level: string; message: string; fields?: unknown }[]) ?? []).map((line) => (
                        <div class={`log ${line.level}`}>
                          <span class="muted">{time(line.at)}</span> <span class="lvl">{line.level}</span> {line.message}
                          {line.fields ? <span class="muted"> {JSON.stringify(line.fields)}</span> : null}
                        </div>
                      )),
                    )}
                    {lines.some((e) => Number(e.data.dropped) > 0) && (
                      <div class="log warn">… {lines.reduce((n, e) => n + Number(e.data.dropped ?? 0), 0)} lines dropped (cap per attempt)</div>
                    )}
                  </details>
                );
              })}
            </div>
          )}
        </div>
        <div class="panel">
          <h2>Ledger events of this job</h2>
          <table class="job-events">
            <thead>
              <tr>
                <th scope="col">position</th>
                <th scope="col">type</th>
                <th scope="col">detail</th>
              </tr>
            </thead>
            <tbody>
              {events
                ? events
                    .filter((e) => !past || e.position <= past.offset)
                    .map((e) => (
                      <tr>
                        <td class="num">{e.position}</td>
                        <td class={`etype ${e.type.split('.')[0]}`}>{e.type}</td>
                        <td class="muted ellipsis">{summary(e.data)}</td>
                      </tr>
                    ))
                : liveEvents.map((e) => (
                    <tr>
                      <td class="num">{e.offset}</td>
                      <td class={`etype ${e.type.split('.')[0]}`}>{e.type}</td>
                      <td class="muted ellipsis">{e.entities.join(', ')}</td>
                    </tr>
                  ))}
            </tbody>
          </table>
          {!events && <p class="muted">Events received live since the page opened.</p>}
        </div>
      </div>
    </div>
  );
}

function inputOf(events: JobEvent[] | null, step: string | null): unknown {
  if (!events) return '(needs GET /api/jobs/:id/events)';
  if (step === null) return events.find((e) => e.type === 'job.created')?.data.input ?? null;
  const queued = [...events].reverse().find((e) => e.type === 'step.queued' && e.data.step === step);
  return queued ? { from: queued.data.inputsFrom, bytes: queued.data.inputBytes } : null;
}

function summary(data: Record<string, unknown>): string {
  const parts: string[] = [];
  for (const key of ['step', 'attempt', 'workerId', 'durationMs', 'error', 'percent', 'message', 'reason']) {
    if (data[key] !== undefined) parts.push(`${key}=${typeof data[key] === 'string' ? data[key] : JSON.stringify(data[key])}`);
  }
  return parts.join(' ');
}

function Waterfall({ steps, start, end, now, onSelect }: { steps: StepRow[]; start: string | null; end: string | null; now: number; onSelect: (s: string) => void }) {
  const t0 = start ? Date.parse(start) : now;
  const t1 = Math.max(t0 + 1, end ? Date.parse(end) : now);
  const pct = (t: number) => `${(100 * (t - t0)) / (t1 - t0)}%`;
  return (
    <div class="waterfall" data-testid="waterfall">
      {steps.map((s) => {
        const queued = s.queuedAt ? Date.parse(s.queuedAt) : null;
        const started = s.startedAt ? Date.parse(s.startedAt) : null;
        const finished = s.finishedAt ? Date.parse(s.finishedAt) : s.status === 'running' ? now : null;
        return (
          <button type="button" class="wf-row" onClick={() => onSelect(s.step)} title={`${s.step}: ${s.status}`}>
            <span class="wf-name">{s.step}</span>
            <span class="wf-track">
              {queued !== null && started !== null && <span class="wf-wait" style={{ left: pct(queued), width: `calc(${pct(started)} - ${pct(queued)})` }} />}
              {started !== null && finished !== null && (
                <span class={`wf-bar ${s.status}`} style={{ left: pct(started), width: `max(2px, calc(${pct(finished)} - ${pct(started)}))` }} />
              )}
            </span>
            <span class="wf-meta muted">
              {duration(s.durationMs)}
              {s.attempt > 1 ? ` · try ${s.attempt}` : ''} {s.outputBytes !== null ? `· ${bytes(s.outputBytes)}` : ''}
            </span>
          </button>
        );
      })}
    </div>
  );
}
