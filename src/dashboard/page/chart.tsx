// A small hand-drawn SVG line chart: no chart library in the bundle.
export interface Series {
  readonly label: string;
  readonly color: string;
  readonly values: readonly number[];
}

export function LineChart({ series, height = 120, unit = 's' }: { series: readonly Series[]; height?: number; unit?: string }) {
  const width = 400;
  const n = Math.max(2, ...series.map((s) => s.values.length));
  const max = Math.max(1, ...series.flatMap((s) => s.values));
  const x = (i: number, len: number) => ((i + (n - len)) / (n - 1)) * width;
  const y = (v: number) => height - 4 - (v / max) * (height - 12);
  return (
    <figure class="chart">
      <svg viewBox={`0 0 ${width} ${height}`} preserveAspectRatio="none" role="img" aria-label={series.map((s) => s.label).join(', ')}>
        <line x1="0" x2={width} y1={y(max)} y2={y(max)} class="grid" />
        <line x1="0" x2={width} y1={y(0)} y2={y(0)} class="grid" />
        {series.map((s) =>
          s.values.length === 1 ? (
            <circle cx={width - 6} cy={y(s.values[0]!)} r="4" fill={s.color} />
          ) : s.values.length < 2 ? null : (
            <polyline
              fill="none"
              stroke={s.color}
              stroke-width="2"
              vector-effect="non-scaling-stroke"
              points={s.values.map((v, i) => `${x(i, s.values.length).toFixed(1)},${y(v).toFixed(1)}`).join(' ')}
            />
          ),
        )}
      </svg>
      <figcaption>
        {series.map((s) => (
          <span class="legend">
            <span class="swatch" style={{ background: s.color }} />
            {s.label} <strong>{formatValue(s.values[s.values.length - 1])}</strong>
          </span>
        ))}
        <span class="muted legend">max {formatValue(max)} · last {n} {unit}</span>
      </figcaption>
    </figure>
  );
}

const formatValue = (v: number | undefined) => (v === undefined ? '—' : Number.isInteger(v) ? String(v) : v.toFixed(1));
