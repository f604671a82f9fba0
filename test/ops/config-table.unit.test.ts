import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { readConfig } from '../../src/ops/config.js';
import { settingsFromConfigSource, tableOf } from '../helpers/config-table.js';

describe('the README configuration table', () => {
  it('lists every setting of src/ops/config.ts with its default and meaning, and nothing else', async () => {
    const settings = await settingsFromConfigSource();
    assert.ok(settings.length >= 20, `found ${settings.length} settings`);
    const readme = await fs.readFile(path.join(process.cwd(), 'README.md'), 'utf8');
    const expected = tableOf(settings);
    assert.ok(readme.includes(expected), `README.md must contain this table (generated from src/ops/config.ts):\n\n${expected}\n`);
    const rows = readme.split('\n').filter((line) => /^\| `[A-Z][A-Z0-9_]*` \|/.test(line));
    assert.equal(rows.length, settings.length, 'README.md lists settings config.ts does not read');
  });

  it('the documented defaults are the ones readConfig applies', async () => {
    const config = readConfig({}) as unknown as Record<string, unknown>;
    const byVariable = new Map((await settingsFromConfigSource()).map((s) => [s.variable, s.defaultValue]));
    // Numbers and booleans are checked against the value; "unset" against undefined.
    const source = await fs.readFile(path.join(process.cwd(), 'src', 'ops', 'config.ts'), 'utf8');
    for (const match of source.matchAll(/^\s+(\w+): .*?(?:env\.([A-Z][A-Z0-9_]*)|env, '([A-Z][A-Z0-9_]*)')/gm)) {
      const value = config[match[1]!];
      const documented = byVariable.get(match[2] ?? match[3]!)!;
      if (documented.startsWith('unset')) assert.equal(value, undefined, match[1]);
      else if (typeof value === 'number' || typeof value === 'boolean') assert.equal(String(value), documented, match[1]);
      else if (typeof value === 'string' && !path.isAbsolute(value)) assert.equal(value, documented, match[1]);
    }
  });
});
