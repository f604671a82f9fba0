import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { commands } from '../../src/commands/index.js';

const ROOT = process.cwd();
const read = (file: string) => fs.readFile(path.join(ROOT, file), 'utf8');

// No Docker engine runs here, so the deployment files' safety rules are
// checked as text: the defaults a user gets with `docker compose up`.
describe('Dockerfile and docker-compose.yml defaults', () => {
  it('compose refuses to start without a token the user chose, and publishes on loopback unless told', async () => {
    const compose = await read('docker-compose.yml');
    assert.doesNotMatch(compose, /change-me/);
    assert.match(compose, /RUNLEDGER_TOKEN: \$\{RUNLEDGER_TOKEN:\?/);
    const ports = [...compose.matchAll(/^\s+- "([^"]+)"$/gm)].map((m) => m[1]!).filter((p) => /:\d+$/.test(p));
    assert.ok(ports.length >= 4, `published ports: ${ports.join(', ')}`);
    for (const port of ports) assert.match(port, /^\$\{RUNLEDGER_PUBLISH_ADDRESS:-127\.0\.0\.1\}:\d+:\d+$/);
  });

  it('runs the demo only in the demo profile, and only roles the CLI has', async () => {
    const compose = await read('docker-compose.yml');
    const roles = [...compose.matchAll(/command: \["([a-z]+)"\]/g)].map((m) => m[1]!);
    assert.deepEqual([...new Set(roles)].sort(), ['migrate', 'serve', 'start', 'work']);
    for (const role of roles) assert.ok(commands[role], `compose runs unknown role ${role}`);
    const demo = /\n  demo:\n([\s\S]*?)\n\n/.exec(compose)?.[1] ?? '';
    assert.match(demo, /profiles: \[demo\]/);
    assert.match(demo, /RUNLEDGER_DEMO: "true"/);
    assert.equal(compose.match(/RUNLEDGER_DEMO: "true"/g)?.length, 1);
    const dockerfile = await read('Dockerfile');
    assert.match(dockerfile, /^CMD \["serve"\]$/m);
    assert.match(dockerfile, /RUNLEDGER_DEMO=false/);
    assert.match(dockerfile, /^HEALTHCHECK .*scripts\/healthcheck\.mjs/m);
    assert.match(dockerfile, /npm ci --omit=dev --omit=optional/);
  });

  it('mounts monitoring files that exist', async () => {
    const compose = await read('docker-compose.yml');
    const mounts = [...compose.matchAll(/- \.\/(scripts\/monitoring\/[^:]+):/g)].map((m) => m[1]!);
    assert.equal(mounts.length, 4);
    for (const mount of mounts) await fs.access(path.join(ROOT, mount));
  });
});
