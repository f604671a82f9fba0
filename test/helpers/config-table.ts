import fs from 'node:fs/promises';
import path from 'node:path';

export interface Setting {
  readonly variable: string;
  readonly defaultValue: string;
  readonly meaning: string;
}

/**
 * Every setting of src/ops/config.ts, read from its source: the variable
 * from `readConfig`, the meaning and default from the field's JSDoc
 * ("… (Default: X)").
 */
export async function settingsFromConfigSource(): Promise<Setting[]> {
  const source = await fs.readFile(path.join(process.cwd(), 'src', 'ops', 'config.ts'), 'utf8');
  const docs = new Map<string, string>();
  for (const match of source.matchAll(/\/\*\* (.+?) \*\/\s*\n\s*readonly (\w+)/g)) docs.set(match[2]!, match[1]!);
  const body = source.slice(source.indexOf('export function readConfig'));
  const settings: Setting[] = [];
  for (const match of body.matchAll(/^\s+(\w+): .*?(?:env\.([A-Z][A-Z0-9_]*)|env, '([A-Z][A-Z0-9_]*)')/gm)) {
    const field = match[1]!;
    const doc = docs.get(field);
    if (doc === undefined) throw new Error(`src/ops/config.ts: ${field} has no one-line JSDoc`);
    const fallback = /^(.*?)\s*\(Default: (.+)\)$/.exec(doc);
    if (!fallback) throw new Error(`src/ops/config.ts: the JSDoc of ${field} states no (Default: …)`);
    settings.push({ variable: match[2] ?? match[3]!, defaultValue: fallback[2]!, meaning: fallback[1]! });
  }
  return settings;
}

export const tableOf = (settings: readonly Setting[]): string =>
  ['| Variable | Default | Meaning |', '|---|---|---|', ...settings.map((s) => `| \`${s.variable}\` | ${s.defaultValue} | ${s.meaning} |`)].join('\n');
