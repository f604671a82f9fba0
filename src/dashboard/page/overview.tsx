import { durationPercentile, type Model } from '../../projections/model.js';
import type { ViewProps } from './app.js';
import { LineChart } from './chart.js';
import { age, duration, num } from './format.js';
import type { Store } from './store.js';

/** Queue depth thresholds the server alerts at (meta tags it writes into the page). */
function thresholds(): { warn: number; critical: number } {
  const read = (name: string, fallback: number) =>
    Number(document.querySelector(`meta[name="${name}"]`)?.getAttribute('content') || fallback);
  return { warn: read('runledger-queue-warn', 100), critical: read('runledger-queue-critical', 500) };
}

export function jobCounts(model: Model): Record<string, number> {
  const counts: Record<string, number> = { queued: 0, running: 0, completed: 0, failed: 0, cancelled: 0 };
  for (const [id, row] of Object.entries(model.stats)) {
    if (!id.startsWith('jobs/')) continue;
    for (const [status, n] of Object.entries(row)) counts[status] = (counts[status] ?? 0) + n;
  }
  return counts;
}

export function Overview({ store, model, past }: ViewProps) {
  const counts = jobCounts(model);
  const workers = Object.values(model.workers);
  const online = workers.filter((w) => w.status === 'online').length;
  let depth = 0;
  for (const queue of Object.values(model.queues)) depth += queue.depth;
  const { warn, critical } = thresholds();
  const depthLevel = depth >= critical ? 'critical' : depth >= warn ? 'warning' : 'ok';
  const latency = past ? null : dispatchLatency(store);
  const alerts = Object.values(model.alerts).sort((a, b) => b.raisedOffset - a.raisedOffset);
  // Samples the page took up to the offset in view (all of them when live).
  const samples = past ? store.samples.filter((s) => s.offset <= past.offset) : store.samples;

  return (
    <div class="overview">
      <h1 class="sr-only">Overview</h1>
      <section class="cards" aria-label="Headline numbers">
        <Card label="Running" value={num(counts.running!)} kind="running" testid="card-running" />
        <Card label="Queued" value={num(counts.queued!)} kind="queued" testid="card-queued" />
        <Card label="Completed" value={num(counts.completed!)} kind="completed" testid="card-completed" />
        <Card label="Failed" value={num(counts.failed!)} kind="failed" testid="card-failed" />
        <Card label="Workers online" value={`${online} / ${workers.length}`} testid="card-workers" />
        <Card
          label="Queue depth"
          value={num(depth)}
          kind={depthLevel}
          testid="card-depth"
          note={depthLevel === 'ok' ? `warn ${warn} · critical ${critical}` : `${depthLevel} (≥ ${depthLevel === 'critical' ? critical : warn})`}
        />
        <Card label="Events / s" value={past ? '—' : store.eventsPerSecond().toFixed(1)} testid="card-eps" />
        <Card label="Dispatch latency" value={latency === null ? '—' : `${latency} ms`} note="event time → this page" testid="card-latency" />
      </section>
      <section class="charts" aria-label="Charts">
        <Throughput model={model} />
        <div class="panel">
          <h2>Queue depth and running jobs</h2>
          <LineChart
            series={[
              { label: 'queue depth', color: 'var(--queued)', values: samples.map((s) => s.depth) },
              { label: 'running jobs', color: 'var(--running)', values: samples.map((s) => s.running) },
            ]}
          />
        </div>
      </section>
      <section class="row2">
        <StepDurations model={model} />
        <div class="panel">
          <h2>Recent alerts</h2>
          {alerts.length === 0 ? (
            <p class="muted">No alerts.</p>
          ) : (
            <ul class="alerts">
              {alerts.slice(0, 12).map((alert) => (
                <li class={alert.clearedAt ? 'cleared' : alert.severity ?? ''}>
                  <span class={`badge ${alert.clearedAt ? 'cleared' : alert.severity}`}>{alert.clearedAt ? 'cleared' : alert.severity}</span>
                  <span>{alert.message}</span>
                  <span class="muted">@{alert.raisedOffset} · {age(alert.raisedAt)} ago</span>
                </li>
              ))}
            </ul>
          )}
        </div>
      </section>
    </div>
  );
}

function Card(props: { label: string; value: string; kind?: string; note?: string; testid: string }) {
  return (
    <div class={`card ${props.kind ?? ''}`} data-testid={props.testid}>
      <div class="card-label">{props.label}</div>
      <div class="card-value">{props.value}</div>
      {props.note && <div class="card-note">{props.note}</div>}
    </div>
  );
}

/** Completions per minute from the model's `jobs-per-minute/<pipeline>` stats (so it scrubs too), per pipeline. */
function Throughput({ model }: { model: Model }) {
  const perPipeline = Object.entries(model.stats).filter(([id]) => id.startsWith('jobs-per-minute/'));
  const minutes = [...new Set(perPipeline.flatMap(([, row]) => Object.keys(row)))].sort().slice(-30);
  const colors = ['var(--completed)', 'var(--running)', 'var(--queued)', 'var(--warning)'];
  return (
    <div class="panel">
      <h2>Throughput: jobs completed per minute{minutes.length > 0 ? ` (${minutes[0]!.slice(11)}–${minutes[minutes.length - 1]!.slice(11)} UTC)` : ''}</h2>
      <LineChart
        unit="min"
        series={perPipeline.map(([id, row], i) => ({ label: id.slice('jobs-per-minute/'.length), color: colors[i % colors.length]!, values: minutes.map((m) => row[m] ?? 0) }))}
      />
    </div>
  );
}

function StepDurations({ model }: { model: Model }) {
  const rows = Object.entries(model.stats)
    .filter(([id]) => id.startsWith('durations/'))
    .map(([id, row]) => {
      const [, pipeline, step] = id.split('/');
      return { pipeline: pipeline!, step: step!, count: row.count ?? 0, p50: durationPercentile(row, 50), p95: durationPercentile(row, 95) };
    })
    .sort((a, b) => a.pipeline.localeCompare(b.pipeline) || a.step.localeCompare(b.step));
  const max = Math.max(1, ...rows.map((r) => r.p95 ?? 0));
  return (
    <div class="panel">
      <h2>Step durations p50 / p95</h2>
      {rows.length === 0 ? (
        <p class="muted">No completed steps yet.</p>
      ) : (
        <table class="durations">
          <thead>
            <tr>
              <th scope="col">Pipeline / step</th>
              <th scope="col">n</th>
              <th scope="col">p50</th>
              <th scope="col">p95</th>
              <th scope="col" class="bar-col">
                <span class="sr-only">Bar</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr>
                <td>
                  <span class="muted">{r.pipeline}</span> {r.step}
                </td>
                <td class="num">{num(r.count)}</td>
                <td class="num">{duration(r.p50)}</td>
                <td class="num">{duration(r.p95)}</td>
                <td class="bar-col">
                  <svg class="bar" viewBox="0 0 100 8" preserveAspectRatio="none" aria-hidden="true">
                    <rect x="0" y="1" width={(100 * (r.p95 ?? 0)) / max} height="6" class="p95" />
                    <rect x="0" y="1" width={(100 * (r.p50 ?? 0)) / max} height="6" class="p50" />
                  </svg>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

/**
 * Event time → this page, median of the recent live events whose deltas
 * carry a timestamp (step and job transitions). Same-machine clocks in the
 * demo; across machines it includes their clock offset.
 */
function dispatchLatency(store: Store): number | null {
  const since = Date.now() - 10_000;
  const values = store.latencies.filter((l) => l.at >= since).map((l) => l.ms);
  if (values.length === 0) return null;
  values.sort((a, b) => a - b);
  return Math.max(0, Math.round(values[values.length >> 1]!));
}
