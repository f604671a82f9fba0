import { useEffect, useState } from 'preact/hooks';
import type { Model } from '../../projections/model.js';
import { authToken, setAuthToken, tokenRequired } from './api.js';
import { EventsView } from './events.js';
import { JobDetail } from './job.js';
import { JobsView } from './jobs.js';
import { DeadLettersView, QueuesView, WorkersView } from './operators.js';
import { Overview } from './overview.js';
import { Scrubber, type PastView } from './scrubber.js';
import type { Store } from './store.js';

const TABS = [
  ['overview', 'Overview'],
  ['events', 'Events'],
  ['jobs', 'Jobs'],
  ['workers', 'Workers'],
  ['queues', 'Queues'],
  ['dead-letters', 'Dead letters'],
] as const;

function useHash(): string {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const on = () => setHash(location.hash);
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return hash;
}

function useStore(store: Store): number {
  const [, setVersion] = useState(0);
  useEffect(() => store.subscribe(() => setVersion(store.version)), [store]);
  return store.version;
}

export interface ViewProps {
  readonly store: Store;
  /** The model shown: live, or the past one the scrubber selected. */
  readonly model: Model;
  /** Null when live. */
  readonly past: PastView | null;
}

const CONNECTION_LABEL: Record<string, string> = {
  connecting: 'connecting',
  replaying: 'catching up',
  live: 'live',
  sse: 'live (SSE)',
  reconnecting: 'reconnecting',
  offline: 'offline',
};

export function App({ store }: { store: Store }) {
  useStore(store);
  const hash = useHash();
  const [past, setPast] = useState<PastView | null>(null);
  const [asking, setAsking] = useState(tokenRequired() && !authToken());
  const route = hash.replace(/^#\/?/, '').split('/');
  const tab = route[0] || 'overview';
  const model = past?.model ?? store.model;

  let body;
  if (!model) body = <p class="muted">Loading the snapshot…</p>;
  else if (tab === 'jobs' && route[1]) body = <JobDetail store={store} model={model} past={past} jobId={decodeURIComponent(route[1])} />;
  else if (tab === 'events') body = <EventsView store={store} model={model} past={past} />;
  else if (tab === 'jobs') body = <JobsView store={store} model={model} past={past} />;
  else if (tab === 'workers') body = <WorkersView store={store} model={model} past={past} />;
  else if (tab === 'queues') body = <QueuesView store={store} model={model} past={past} />;
  else if (tab === 'dead-letters') body = <DeadLettersView store={store} model={model} past={past} />;
  else body = <Overview store={store} model={model} past={past} />;

  return (
    <div class="shell">
      <header class="top">
        <a class="brand" href="#/">runledger</a>
        <nav aria-label="Sections">
          {TABS.map(([id, label]) => (
            <a href={`#/${id}`} class={tab === id ? 'tab active' : 'tab'} aria-current={tab === id ? 'page' : undefined}>
              {label}
            </a>
          ))}
        </nav>
        <div class="conn" data-testid="connection" data-state={store.connection} title={store.error ?? ''}>
          <span class={`dot ${store.connection}`} aria-hidden="true" />
          <span>{CONNECTION_LABEL[store.connection]}</span>
          <span class="muted" data-testid="offset">
            @{store.offset}
          </span>
        </div>
        <button type="button" class="ghost" onClick={() => setAsking(true)}>
          {authToken() ? 'Token ✓' : 'Token'}
        </button>
      </header>
      {asking && <TokenDialog onDone={() => { setAsking(false); location.reload(); }} onCancel={() => setAsking(false)} />}
      {past && (
        <div class="past-banner" role="status" data-testid="past-banner">
          Viewing the past: the system as it was at offset <strong>{past.offset}</strong>
          {past.at ? ` (${past.at})` : ''} — {past.source === 'server' ? 'from the server' : 'replayed locally'}.
          <button type="button" onClick={() => setPast(null)}>
            Back to live
          </button>
        </div>
      )}
      <main id="main">{body}</main>
      <Scrubber store={store} past={past} onChange={setPast} />
    </div>
  );
}

function TokenDialog({ onDone, onCancel }: { onDone: () => void; onCancel: () => void }) {
  const [value, setValue] = useState(authToken() ?? '');
  return (
    <form
      class="token-dialog"
      onSubmit={(event) => {
        event.preventDefault();
        setAuthToken(value.trim() || undefined);
        onDone();
      }}
    >
      <label>
        API token (admin or read-only; kept in this tab's session storage)
        <input type="password" value={value} autoFocus onInput={(e) => setValue((e.target as HTMLInputElement).value)} />
      </label>
      <button type="submit">Use token</button>
      <button type="button" class="ghost" onClick={onCancel}>
        Cancel
      </button>
    </form>
  );
}
