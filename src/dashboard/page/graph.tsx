import type { JobRow, Model, StepRow } from '../../projections/model.js';
import { duration } from './format.js';

/** A step of a pipeline definition: its name and the steps it needs. */
export interface StepDef {
  readonly name: string;
  readonly needs: readonly string[];
}

/**
 * The step graph of a job: from the pipeline definition when the API gave
 * one, else inferred from the data flow the ledger recorded (`inputsFrom` of
 * any job of the same pipeline in the model).
 */
export function stepGraph(model: Model, job: JobRow, definitions: Record<string, readonly StepDef[]>): StepDef[] {
  const defined = job.pipeline ? definitions[job.pipeline] : undefined;
  if (defined) return [...defined];
  const needs = new Map<string, Set<string>>(job.steps.map((s) => [s, new Set<string>()]));
  for (const step of Object.values(model.steps)) {
    if (step.pipeline !== job.pipeline || !needs.has(step.step)) continue;
    for (const from of step.inputsFrom) if (needs.has(from.step)) needs.get(step.step)!.add(from.step);
  }
  return job.steps.map((name) => ({ name, needs: [...needs.get(name)!] }));
}

const W = 150;
const H = 54;
const GAP_X = 56;
const GAP_Y = 18;

export function PipelineGraph({ job, steps, graph, now }: { job: JobRow; steps: Record<string, StepRow | undefined>; graph: StepDef[]; now: number }) {
  const level = new Map<string, number>();
  const levelOf = (name: string, seen = new Set<string>()): number => {
    const known = level.get(name);
    if (known !== undefined) return known;
    if (seen.has(name)) return 0;
    seen.add(name);
    const def = graph.find((d) => d.name === name);
    const value = def && def.needs.length > 0 ? 1 + Math.max(...def.needs.map((n) => levelOf(n, seen))) : 0;
    level.set(name, value);
    return value;
  };
  const columns: string[][] = [];
  for (const def of graph) (columns[levelOf(def.name)] ??= []).push(def.name);
  const rows = Math.max(1, ...columns.map((c) => c.length));
  const height = rows * (H + GAP_Y) - GAP_Y + 8;
  const width = columns.length * (W + GAP_X) - GAP_X + 8;
  const pos = new Map<string, { x: number; y: number }>();
  columns.forEach((names, col) => {
    const offset = ((rows - names.length) * (H + GAP_Y)) / 2;
    names.forEach((name, row) => pos.set(name, { x: 4 + col * (W + GAP_X), y: 4 + offset + row * (H + GAP_Y) }));
  });

  return (
    <svg class="graph" viewBox={`0 0 ${width} ${height}`} width={width} role="img" aria-label={`Pipeline graph of ${job.pipeline}: ${graph.map((d) => `${d.name} ${steps[d.name]?.status ?? 'pending'}`).join(', ')}`} data-testid="pipeline-graph">
      {graph.flatMap((def) =>
        def.needs.map((from) => {
          const a = pos.get(from);
          const b = pos.get(def.name);
          if (!a || !b) return null;
          const target = steps[def.name];
          const source = steps[from];
          // Data is flowing: the source handed its output over and the target is using it now.
          const flowing =
            source?.status === 'completed' &&
            (target?.status === 'queued' || target?.status === 'running') &&
            target.inputsFrom.some((i) => i.step === from);
          const x1 = a.x + W;
          const y1 = a.y + H / 2;
          const x2 = b.x;
          const y2 = b.y + H / 2;
          const mid = (x1 + x2) / 2;
          return (
            <path
              class={`edge ${flowing ? 'flowing' : ''} ${source?.status === 'completed' ? 'done' : ''}`}
              d={`M${x1},${y1} C${mid},${y1} ${mid},${y2} ${x2},${y2}`}
              data-edge={`${from}->${def.name}`}
            />
          );
        }),
      )}
      {graph.map((def) => {
        const p = pos.get(def.name)!;
        const step = steps[def.name];
        const status = step?.status ?? 'pending';
        const ms = step?.durationMs ?? (step?.startedAt && status === 'running' ? now - Date.parse(step.startedAt) : null);
        return (
          <g class={`node ${status}`} transform={`translate(${p.x},${p.y})`} data-step={def.name} data-status={status}>
            <rect width={W} height={H} rx="8" />
            <text x="12" y="22" class="node-name">
              {def.name.length > 18 ? `${def.name.slice(0, 17)}…` : def.name}
            </text>
            <text x="12" y="41" class="node-sub">
              {status}
              {ms !== null ? ` · ${duration(ms)}` : ''}
              {step && step.attempt > 1 ? ` · try ${step.attempt}` : ''}
            </text>
            {status === 'running' && (
              <g transform={`translate(${W - 18},18)`}>
                <circle r="7" class="spinner" />
              </g>
            )}
            {status === 'running' && step?.percent !== null && step?.percent !== undefined && (
              <rect x="0" y={H - 4} width={(W * step.percent) / 100} height="4" class="node-progress" />
            )}
          </g>
        );
      })}
    </svg>
  );
}
