// Quantiles of a server's histograms over a window, from two scrapes of its
// /metrics/json (prom-client's JSON): the bucket counts' difference, then
// linear interpolation within the bucket that holds the quantile — what
// Prometheus's histogram_quantile() does.

interface JsonMetric {
  name: string;
  values: { value: number; labels: Record<string, string | number>; metricName?: string }[];
}

export type Scrape = JsonMetric[];

export async function scrape(httpPort: number): Promise<Scrape> {
  const response = await fetch(`http://127.0.0.1:${httpPort}/metrics/json`);
  if (!response.ok) throw new Error(`/metrics/json answered ${response.status}`);
  return (await response.json()) as Scrape;
}

function buckets(from: Scrape, name: string): Map<number, number> {
  const metric = from.find((m) => m.name === name);
  if (!metric) throw new Error(`no metric ${name}`);
  const counts = new Map<number, number>();
  for (const v of metric.values) {
    if (v.metricName === `${name}_bucket`) counts.set(v.labels.le === '+Inf' ? Infinity : Number(v.labels.le), v.value);
  }
  return counts;
}

/** The q-quantile (0..1), in the histogram's unit, of what was observed between the two scrapes; null if nothing was. */
export function quantileBetween(before: Scrape, after: Scrape, name: string, q: number): number | null {
  const start = buckets(before, name);
  const end = [...buckets(after, name)].sort(([a], [b]) => a - b);
  const total = end.at(-1)![1] - (start.get(Infinity) ?? 0);
  if (total <= 0) return null;
  const rank = q * total;
  let lowerBound = 0;
  let lowerCount = 0;
  for (const [le, count] of end) {
    const cumulative = count - (start.get(le) ?? 0);
    if (cumulative >= rank) {
      if (le === Infinity) return lowerBound;
      return lowerBound + ((le - lowerBound) * (rank - lowerCount)) / Math.max(1, cumulative - lowerCount);
    }
    lowerBound = le;
    lowerCount = cumulative;
  }
  return lowerBound;
}
