import { useState } from 'preact/hooks';
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
    </div>
  );
}
