import { useState } from 'preact/hooks';
import { api, ApiError, authToken, tokenRequired } from './api.js';
import type { ViewProps } from './app.js';
import { age, shortId } from './format.js';

/** Whether operator buttons are enabled: no token needed, or one given and not refused as read-only. */
let readOnly = false;
const canWrite = () => !readOnly && (!tokenRequired() || authToken() !== undefined);

function useAction(): [string | null, (label: string, run: () => Promise<unknown>) => Promise<void>] {
  const [message, setMessage] = useState<string | null>(null);
  const act = async (label: string, run: () => Promise<unknown>) => {
    setMessage(`${label}…`);
    try {
      await run();
      setMessage(`${label}: done`);
    } catch (error) {
      if (error instanceof ApiError && error.status === 403) readOnly = true;
      setMessage(`${label}: refused — ${error instanceof ApiError ? `${error.status} ${error.message}` : String(error)}`);
    }
  };
  return [message, act];
}

function ReadOnlyNote() {
  if (canWrite()) return null;
  return <p class="note">Read-only: operator actions need an admin token (use “Token” at the top).</p>;
}

export function WorkersView({ model }: ViewProps) {
  const workers = Object.values(model.workers).sort((a, b) => (a.status === b.status ? a.id.localeCompare(b.id) : a.status === 'online' ? -1 : 1));
  return (
    <div class="panel">
      <h1>Workers</h1>
      <table class="grid-table" data-testid="workers">
        <thead>
          <tr>
            <th scope="col">worker</th>
            <th scope="col">status</th>
            <th scope="col">host / pid</th>
            <th scope="col">last seen</th>
            <th scope="col">running steps</th>
            <th scope="col">done / failed</th>
            <th scope="col">load</th>
          </tr>
        </thead>
        <tbody>
          {workers.map((w) => (
            <tr>
              <td class="mono">{w.id}</td>
              <td>
                <span class={`badge ${w.status}`}>{w.status}</span>
              </td>
              <td>
                {w.host} / {w.pid}
              </td>
              <td>{age(w.lastSeenAt)} ago</td>
              <td class="ellipsis">
                {w.runningSteps.length === 0
                  ? '—'
                  : w.runningSteps.map((key) => {
                      const [job, step] = key.split('/');
                      return (
                        <a href={`#/jobs/${encodeURIComponent(job!)}`} class="chip">
                          {shortId(job!)}/{step}
                        </a>
                      );
                    })}
              </td>
              <td class="num">
                {w.completed} / {w.failed}
              </td>
              <td class="muted">{w.loadCpuPercent !== null ? `${w.loadCpuPercent.toFixed(0)}% cpu · ${Math.round((w.loadRssBytes ?? 0) / 1048576)} MiB` : '—'}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {workers.length === 0 && <p class="muted">No workers have started.</p>}
    </div>
  );
}

export function QueuesView({ model, past }: ViewProps) {
  const [message, act] = useAction();
  const pipelines = new Set<string>();
  for (const job of Object.values(model.jobs)) if (job.pipeline) pipelines.add(job.pipeline);
  for (const q of Object.values(model.queues)) pipelines.add(q.pipeline);
  for (const p of Object.keys(model.pauses)) if (p !== '*') pipelines.add(p);
  const all = model.pauses['*']?.paused ?? false;
  const disabled = past !== null || !canWrite();
  const toggle = (pipeline: string | null, paused: boolean) =>
    act(`${paused ? 'resume' : 'pause'} ${pipeline ?? 'everything'}`, () =>
      api(pipeline === null ? `/api/${paused ? 'resume' : 'pause'}` : `/api/pipelines/${encodeURIComponent(pipeline)}/${paused ? 'resume' : 'pause'}`, {
        method: 'POST',
        body: { reason: 'from the dashboard' },
      }),
    );
  return (
    <div class="panel">
      <h1>Queues</h1>
      <ReadOnlyNote />
      <p>
        Everything: <span class={`badge ${all ? 'failed' : 'completed'}`}>{all ? 'paused' : 'running'}</span>{' '}
        <button type="button" disabled={disabled} onClick={() => toggle(null, all)} data-testid="pause-all">
          {all ? 'Resume everything' : 'Pause everything'}
        </button>
      </p>
      <table class="grid-table" data-testid="queues">
        <thead>
          <tr>
            <th scope="col">pipeline</th>
            <th scope="col">waiting by queue</th>
            <th scope="col">state</th>
            <th scope="col">action</th>
          </tr>
        </thead>
        <tbody>
          {[...pipelines].sort().map((p) => {
            const paused = model.pauses[p]?.paused ?? false;
            const depths = Object.values(model.queues).filter((q) => q.pipeline === p);
            return (
              <tr data-pipeline={p}>
                <td>{p}</td>
                <td>{depths.length === 0 ? '0' : depths.map((q) => `${q.queue} ${q.depth}`).join(' · ')}</td>
                <td>
                  <span class={`badge ${paused ? 'failed' : 'completed'}`}>{paused ? 'paused' : 'running'}</span>
                </td>
                <td>
                  <button type="button" disabled={disabled} onClick={() => toggle(p, paused)} data-testid={`toggle-${p}`}>
                    {paused ? 'Resume' : 'Pause'}
                  </button>
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {message && (
        <p class="note" role="status">
          {message}
        </p>
      )}
    </div>
  );
}

export function DeadLettersView({ model, past }: ViewProps) {
  const [message, act] = useAction();
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [pipeline, setPipeline] = useState('');
  const [dryRun, setDryRun] = useState<number | null>(null);
  const failed = Object.values(model.jobs)
    .filter((j) => j.status === 'failed' && (!pipeline || j.pipeline === pipeline))
    .sort((a, b) => b.updatedOffset - a.updatedOffset);
  const pipelines = [...new Set(Object.values(model.jobs).map((j) => j.pipeline).filter(Boolean) as string[])].sort();
  const disabled = past !== null || !canWrite();
  const retry = (ids: string[]) =>
    act(`retry ${ids.length} job${ids.length === 1 ? '' : 's'}`, async () => {
      for (const id of ids) await api(`/api/jobs/${encodeURIComponent(id)}/retry`, { method: 'POST', body: { reason: 'from the dashboard' } });
      setSelected(new Set());
    });
  const filter = { status: ['failed'], ...(pipeline ? { pipeline: [pipeline] } : {}) };
  return (
    <div class="panel">
      <h1>Dead letters</h1>
      <ReadOnlyNote />
      <div class="filters">
        <label>
          Pipeline
          <select value={pipeline} onChange={(e) => { setPipeline((e.target as HTMLSelectElement).value); setDryRun(null); }}>
            <option value="">all</option>
            {pipelines.map((p) => (
              <option value={p}>{p}</option>
            ))}
          </select>
        </label>
        <button type="button" disabled={disabled || selected.size === 0} onClick={() => retry([...selected])}>
          Retry selected ({selected.size})
        </button>
        {dryRun === null ? (
          <button
            type="button"
            disabled={disabled}
            onClick={() =>
              act('count (dry run)', async () => {
                const body = (await api('/api/jobs/bulk', { method: 'POST', body: { action: 'retry', filter, reason: 'from the dashboard', dryRun: true } })) as { count?: number; matched?: number };
                setDryRun(body.count ?? body.matched ?? 0);
              })
            }
          >
            Retry all matching…
          </button>
        ) : (
          <button
            type="button"
            disabled={disabled}
            onClick={() =>
              act(`retry ${dryRun} by filter`, async () => {
                await api('/api/jobs/bulk', { method: 'POST', body: { action: 'retry', filter, reason: 'from the dashboard', dryRun: false } });
                setDryRun(null);
              })
            }
          >
            Retry {dryRun} matching (dry run counted {dryRun})
          </button>
        )}
      </div>
      <table class="grid-table" data-testid="dead-letters">
        <thead>
          <tr>
            <th scope="col">
              <span class="sr-only">select</span>
            </th>
            <th scope="col">job</th>
            <th scope="col">pipeline</th>
            <th scope="col">failed step</th>
            <th scope="col">error</th>
            <th scope="col">attempts</th>
            <th scope="col">action</th>
          </tr>
        </thead>
        <tbody>
          {failed.slice(0, 500).map((j) => (
            <tr data-job={j.id}>
              <td>
                <input
                  type="checkbox"
                  aria-label={`select ${shortId(j.id)}`}
                  checked={selected.has(j.id)}
                  onChange={(e) => {
                    const next = new Set(selected);
                    if ((e.target as HTMLInputElement).checked) next.add(j.id);
                    else next.delete(j.id);
                    setSelected(next);
                  }}
                />
              </td>
              <td class="mono">
                <a href={`#/jobs/${encodeURIComponent(j.id)}`}>{shortId(j.id)}</a>
              </td>
              <td>{j.pipeline}</td>
              <td>{j.failedStep}</td>
              <td class="ellipsis error">{j.error}</td>
              <td class="num">{j.attempts}</td>
              <td>
                <button type="button" disabled={disabled} onClick={() => retry([j.id])} data-testid={`retry-${j.id}`}>
                  Retry
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {failed.length === 0 && <p class="muted">No failed jobs in the live window.</p>}
      {message && (
        <p class="note" role="status">
          {message}
        </p>
      )}
    </div>
  );
}
