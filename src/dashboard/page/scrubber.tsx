import { useRef, useState } from 'preact/hooks';
import type { Model } from '../../projections/model.js';
import { shortId } from './format.js';
import { jobCounts } from './overview.js';
import { modelAt, type Store } from './store.js';

export interface PastView {
  readonly offset: number;
  readonly model: Model;
  readonly source: 'local' | 'server';
  /** When the page received that event, for events it saw live. */
  readonly at?: string;
}

/**
 * The time scrubber: a slider over ledger positions. Offsets the page holds
 * history for are replayed locally with the shared reducer; older ones come
 * from the server's as-of-N view (`GET /api/dashboard?at=N`).
 */
export function Scrubber({ store, past, onChange }: { store: Store; past: PastView | null; onChange: (view: PastView | null) => void }) {
  const [error, setError] = useState<string | null>(null);
  const [mark, setMark] = useState<{ offset: number; model: Model } | null>(null);
  const [pending, setPending] = useState<number | null>(null);
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const max = store.offset;
  const value = pending ?? past?.offset ?? max;

  const go = (offset: number) => {
    if (offset >= store.offset) {
      onChange(null);
      setPending(null);
      return;
    }
    modelAt(store, offset)
      .then(({ model, source }) => {
        const event = store.events.find((e) => e.offset >= offset);
        setError(null);
        setPending(null);
        onChange({ offset, model, source, at: event ? new Date(event.receivedAt).toISOString().slice(11, 19) : undefined });
      })
      .catch((e: Error) => {
        setPending(null);
        setError(`offset ${offset} is before this page's history (${store.baseOffset}) and the server has no as-of view: ${e.message}`);
      });
  };
  const scheduled = (offset: number) => {
    setPending(offset);
    clearTimeout(timer.current);
    timer.current = setTimeout(() => go(offset), 120);
  };
  const jumpToTime = (hhmmss: string) => {
    const [h, m, s] = hhmmss.split(':').map(Number);
    const target = new Date();
    target.setHours(h ?? 0, m ?? 0, s ?? 0, 0);
    const t = target.getTime();
    let offset = store.baseOffset;
    for (const e of store.events) if (e.receivedAt <= t) offset = e.offset;
    go(offset);
  };

  const viewModel = past?.model ?? store.model;
  return (
    <footer class="scrubber" aria-label="Time scrubber">
      <label class="scrub">
        <span>
          Ledger position <strong data-testid="scrub-value">{value}</strong> / {max}
        </span>
        <input
          type="range"
          min={0}
          max={max}
          value={value}
          data-testid="scrubber"
          onInput={(e) => scheduled(Number((e.target as HTMLInputElement).value))}
          aria-valuetext={`offset ${value} of ${max}`}
        />
      </label>
      <label class="jump">
        Jump to time
        <input type="time" step="1" onChange={(e) => jumpToTime((e.target as HTMLInputElement).value)} />
      </label>
      <button type="button" class="ghost" disabled={!viewModel} onClick={() => viewModel && setMark(mark ? null : { offset: past?.offset ?? store.offset, model: structuredClone(viewModel) })}>
        {mark ? `Clear mark @${mark.offset}` : 'Mark this point'}
      </button>
      {past && (
        <button type="button" onClick={() => onChange(null)}>
          Back to live
        </button>
      )}
      {error && <span class="error">{error}</span>}
      {mark && viewModel && <Changes from={mark} to={{ offset: past?.offset ?? store.offset, model: viewModel }} />}
    </footer>
  );
}

/** What changed between two points: job counts and the jobs whose status differs. */
function Changes({ from, to }: { from: { offset: number; model: Model }; to: { offset: number; model: Model } }) {
  const a = jobCounts(from.model);
  const b = jobCounts(to.model);
  const changed: { id: string; before: string; after: string }[] = [];
  for (const [id, job] of Object.entries(to.model.jobs)) {
    const before = from.model.jobs[id]?.status ?? '—';
    if (before !== job.status) changed.push({ id, before, after: job.status });
  }
  return (
    <details class="changes" open>
      <summary>
        Between @{from.offset} and @{to.offset}:{' '}
        {Object.keys(b)
          .map((k) => ({ k, d: (b[k] ?? 0) - (a[k] ?? 0) }))
          .filter(({ d }) => d !== 0)
          .map(({ k, d }) => `${k} ${d > 0 ? '+' : ''}${d}`)
          .join(', ') || 'no change in job counts'}
        ; {changed.length} jobs changed status
      </summary>
      <ul>
        {changed.slice(0, 50).map((c) => (
          <li class="changed">
            <a href={`#/jobs/${encodeURIComponent(c.id)}`}>{shortId(c.id)}</a> {c.before} → <span class={`badge ${c.after}`}>{c.after}</span>
          </li>
        ))}
      </ul>
    </details>
  );
}
