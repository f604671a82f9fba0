import { useState } from 'preact/hooks';
import { api } from './api.js';
import type { JobRow } from '../../projections/model.js';
import type { ViewProps } from './app.js';
import { age, shortId } from './format.js';
import { newestFirst } from './store.js';
import { VirtualList } from './virtual-list.js';

const STATUSES = ['queued', 'running', 'completed', 'failed', 'cancelled'];

export function JobsView({ store, model, past }: ViewProps) {
  const [status, setStatus] = useState('');
  const [pipeline, setPipeline] = useState('');
  const [search, setSearch] = useState('');
  const order = past ? newestFirst(model.jobs) : store.jobOrder;
  const rows: JobRow[] = [];
  const pipelines = new Set<string>();
  for (const id of order) {
    const job = model.jobs[id];
    if (!job) continue;
    if (job.pipeline) pipelines.add(job.pipeline);
    if (status && job.status !== status) continue;
    if (pipeline && job.pipeline !== pipeline) continue;
    if (search && !id.includes(search)) continue;
    rows.push(job);
  }
  const now = Date.now();
  return (
    <div class="panel jobs">
      <h1>Jobs</h1>
      <div class="filters" role="search">
        <label>
          Status
          <select value={status} onChange={(e) => setStatus((e.target as HTMLSelectElement).value)}>
            <option value="">all</option>
            {STATUSES.map((s) => (
              <option value={s}>{s}</option>
            ))}
          </select>
        </label>
        <label>
          Pipeline
          <select value={pipeline} onChange={(e) => setPipeline((e.target as HTMLSelectElement).value)}>
            <option value="">all</option>
            {[...pipelines].sort().map((p) => (
              <option value={p}>{p}</option>
            ))}
          </select>
        </label>
        <label>
          Search
          <input value={search} placeholder="job id" onInput={(e) => setSearch((e.target as HTMLInputElement).value.trim())} />
        </label>
        <span class="muted" data-testid="jobs-count">
          {rows.length.toLocaleString('en-US')} jobs
        </span>
      </div>
      <div class="job-row head" aria-hidden="true">
        <span>id</span>
        <span>status</span>
        <span>pipeline</span>
        <span>current step</span>
        <span>progress</span>
        <span>age</span>
      </div>
      <VirtualList
        items={rows}
        rowHeight={32}
        height={600}
        label="Jobs, newest first"
        testid="job-list"
        render={(job) => (
          <div class="job-row" role="row" onClick={() => (location.hash = `#/jobs/${encodeURIComponent(job.id)}`)} data-job={job.id} data-status={job.status} key={job.id}>
            <span role="cell" class="mono">
              <a href={`#/jobs/${encodeURIComponent(job.id)}`}>{shortId(job.id)}</a>
            </span>
            <span role="cell">
              <span class={`badge ${job.status}`}>{job.status}</span>
            </span>
            <span role="cell">{job.pipeline}</span>
            <span role="cell" class="ellipsis">{job.currentSteps.join(', ') || (job.failedStep ? `✗ ${job.failedStep}` : '—')}</span>
            <span role="cell" class="progress">
              <span class="meter" aria-hidden="true">
                <span class={`fill ${job.status}`} style={{ width: `${job.progress}%` }} />
              </span>
              <span class="num">{job.progress}%</span>
            </span>
            <span role="cell" class="muted">{age(job.createdAt, now)}</span>
          </div>
        )}
      />
      <HistorySearch status={status} pipeline={pipeline} />
    </div>
  );
}

/**
 * Jobs beyond the live window (finished, archived): the API's paginated list
 * (`GET /api/jobs`, newest first), with the filters above and a text search
 * in the job's input. Asked for on demand only.
 */
function HistorySearch({ status, pipeline }: { status: string; pipeline: string }) {
  const [q, setQ] = useState('');
  const [rows, setRows] = useState<JobRow[] | null>(null);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const load = async (cursor: string | null) => {
    const params = new URLSearchParams({ limit: '100' });
    if (status) params.set('status', status);
    if (pipeline) params.set('pipeline', pipeline);
    if (q) params.set('q', q);
    if (cursor) params.set('cursor', cursor);
    try {
      const page = (await api(`/api/jobs?${params}`)) as { data: JobRow[]; next: string | null };
      setRows(cursor ? [...(rows ?? []), ...page.data] : page.data);
      setNext(page.next);
      setError(null);
    } catch (e) {
      setError(String((e as Error).message));
    }
  };
  return (
    <details class="history">
      <summary>Search the whole history (finished and archived jobs, from the API)</summary>
      <form
        class="filters"
        onSubmit={(e) => {
          e.preventDefault();
          void load(null);
        }}
      >
        <label>
          Input contains
          <input value={q} onInput={(e) => setQ((e.target as HTMLInputElement).value)} />
        </label>
        <button type="submit">Search</button>
        <span class="muted">uses the status and pipeline filters above</span>
      </form>
      {error && <p class="error">{error}</p>}
      {rows && (
        <table class="grid-table">
          <thead>
            <tr>
              <th scope="col">id</th>
              <th scope="col">status</th>
              <th scope="col">pipeline</th>
              <th scope="col">created</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((job) => (
              <tr>
                <td class="mono">
                  <a href={`#/jobs/${encodeURIComponent(job.id)}`}>{shortId(job.id)}</a>
                </td>
                <td>
                  <span class={`badge ${job.status}`}>{job.status}</span>
                </td>
                <td>{job.pipeline}</td>
                <td class="muted">{age(job.createdAt)} ago</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {next && (
        <button type="button" onClick={() => void load(next)}>
          Load more
        </button>
      )}
    </details>
  );
}
