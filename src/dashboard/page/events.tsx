import { useState } from 'preact/hooks';
import type { ViewProps } from './app.js';
import { shortId, time } from './format.js';
import type { EventRow } from './store.js';
import { VirtualList } from './virtual-list.js';

export function EventsView({ store, past }: ViewProps) {
  const [type, setType] = useState('');
  const [pipeline, setPipeline] = useState('');
  const [job, setJob] = useState('');
  const [frozen, setFrozen] = useState<EventRow[] | null>(null);
  const source = frozen ?? store.events;
  const upTo = past?.offset ?? Infinity;
  const rows: EventRow[] = [];
  for (let i = source.length - 1; i >= 0; i -= 1) {
    const e = source[i]!;
    if (e.offset > upTo) continue;
    if (type && !(e.type === type || (type.endsWith('.*') && e.type.startsWith(type.slice(0, -1))))) continue;
    if (pipeline && e.pipeline !== pipeline) continue;
    if (job && !(e.jobId ?? '').startsWith(job)) continue;
    rows.push(e);
  }
  const types = [...new Set(store.events.map((e) => e.type))].sort();
  const pipelines = [...new Set(store.events.map((e) => e.pipeline).filter(Boolean) as string[])].sort();
  const waiting = frozen ? store.events.length - frozen.length : 0;
  return (
    <div class="panel events">
      <h1>Live events</h1>
      <div class="filters" role="search">
        <label>
          Type
          <select value={type} onChange={(e) => setType((e.target as HTMLSelectElement).value)}>
            <option value="">all</option>
            {['job.*', 'step.*', 'worker.*', 'queue.*', 'alert.*'].map((t) => (
              <option value={t}>{t}</option>
            ))}
            {types.map((t) => (
              <option value={t}>{t}</option>
            ))}
          </select>
        </label>
        <label>
          Pipeline
          <select value={pipeline} onChange={(e) => setPipeline((e.target as HTMLSelectElement).value)}>
            <option value="">all</option>
            {pipelines.map((p) => (
              <option value={p}>{p}</option>
            ))}
          </select>
        </label>
        <label>
          Job
          <input value={job} placeholder="id prefix" onInput={(e) => setJob((e.target as HTMLInputElement).value.trim())} />
        </label>
        <button type="button" onClick={() => setFrozen(frozen ? null : [...store.events])} aria-pressed={frozen !== null} data-testid="events-pause">
          {frozen ? `Resume (${waiting} new)` : 'Pause'}
        </button>
        <span class="muted">
          {rows.length} shown · {store.events.length} received since the page opened (after offset {store.snapshotOffset})
        </span>
      </div>
      <div class="event-row head" aria-hidden="true">
        <span>position</span>
        <span>time</span>
        <span>type</span>
        <span>job</span>
        <span>changed</span>
      </div>
      <VirtualList
        items={rows}
        rowHeight={28}
        height={560}
        label="Ledger events, newest first"
        testid="event-list"
        render={(e) => (
          <div class="event-row" role="row" data-offset={e.offset} key={e.offset}>
            <span role="cell" class="num">{e.offset}</span>
            <span role="cell" class="muted">{time(new Date(e.receivedAt).toISOString())}</span>
            <span role="cell" class={`etype ${e.type.split('.')[0]}`}>{e.type}</span>
            <span role="cell">{e.jobId ? <a href={`#/jobs/${encodeURIComponent(e.jobId)}`}>{shortId(e.jobId)}</a> : e.pipeline ?? ''}</span>
            <span role="cell" class="muted ellipsis">{e.entities.join(', ')}</span>
          </div>
        )}
      />
    </div>
  );
}
