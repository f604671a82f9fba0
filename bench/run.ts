// `npm run bench -- NAME [--json] [options]`: runs one benchmark, prints a
// table (and, with --json, one JSON object as the last line of stdout).
import { openBenchContext, type BenchContext, type BenchResult } from './lib/context.js';

type Bench = (context: BenchContext) => Promise<BenchResult>;

const benches: Record<string, () => Promise<Bench>> = {
  append: async () => (await import('./append.js')).default,
  'append-parts': async () => (await import('./append-parts.js')).default,
  rebuild: async () => (await import('./rebuild.js')).default,
  dispatch: async () => (await import('./dispatch.js')).default,
  pipeline: async () => (await import('./pipeline.js')).default,
  scale: async () => (await import('./scale.js')).default,
  ui: async () => (await import('./ui.js')).default,
  api: async () => (await import('./api.js')).default,
  audit: async () => (await import('./audit.js')).default,
};

async function main(): Promise<number> {
  const [name, ...rest] = process.argv.slice(2);
  const json = rest.includes('--json');
  const args = rest.filter((arg) => arg !== '--json');
  const load = name === undefined ? undefined : benches[name];
  if (!load) {
    console.error(`usage: npm run bench -- <${Object.keys(benches).join('|')}> [--json]`);
    return 2;
  }
  const bench = await load();
  const { context, close } = await openBenchContext(args);
  let result: BenchResult;
  try {
    result = await bench(context);
  } finally {
    await close();
  }
  const width = Math.max(...result.rows.map(([metric]) => metric.length));
  console.log(`\n${name}\n${'-'.repeat(width + 40)}`);
  for (const [metric, value, unit, note] of result.rows) {
    console.log(`${metric.padEnd(width)}  ${String(value).padStart(12)} ${unit.padEnd(8)} ${note ?? ''}`);
  }
  if (json) console.log(JSON.stringify(result.json));
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
