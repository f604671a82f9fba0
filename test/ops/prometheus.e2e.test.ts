import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { spawnServe, type ServeProcess } from '../helpers/serve-process.js';

const run = promisify(execFile);
const MONITORING = path.join(process.cwd(), 'scripts', 'monitoring');
const RULES = path.join(MONITORING, 'alerts.yml');
const DASHBOARD = path.join(MONITORING, 'grafana', 'dashboards', 'runledger.json');

interface Dashboard {
  panels: { title: string; type: string; targets?: { expr: string }[] }[];
}
interface RuleFile {
  groups: { rules: { alert: string; expr: string }[] }[];
}
interface QueryAnswer {
  status: string;
  error?: string;
  data?: { resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] };
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** The rule file is YAML; its expressions are single-line `expr:` values, read without a YAML library. */
async function alertRules(): Promise<{ alert: string; expr: string }[]> {
  const text = await fs.readFile(RULES, 'utf8');
  const rules: { alert: string; expr: string }[] = [];
  let alert: string | undefined;
  for (const line of text.split('\n')) {
    const name = /^\s*- alert:\s*(\S+)\s*$/.exec(line);
    if (name) alert = name[1];
    const expr = /^\s*expr:\s*(.+?)\s*$/.exec(line);
    if (expr && alert) {
      rules.push({ alert, expr: expr[1]! });
      alert = undefined;
    }
  }
  return rules;
}

/** `<query> <op> <threshold>` → the query, which must return data whether or not the alert fires. */
function ruleQuery(expr: string): string {
  const match = /^(.*\S)\s+(>|<|>=|<=|==|!=)\s+([0-9.]+)$/.exec(expr);
  assert.ok(match, `alert expression is not "<query> <comparison> <threshold>": ${expr}`);
  return match[1]!;
}

// Grafana substitutes $__rate_interval with at least four scrape intervals; the test scrapes every second.
const forPrometheus = (expr: string) => expr.replaceAll('$__rate_interval', '30s');

describe('Prometheus scraping a running runledger (Debian prometheus package)', () => {
  let db: TestDatabase;
  let app: ServeProcess;
  let prometheus: ChildProcess | undefined;
  let prometheusUrl: string;
  let dir: string;
  let prometheusLog = '';

  const query = async (expr: string): Promise<QueryAnswer> => {
    const response = await fetch(`${prometheusUrl}/api/v1/query?query=${encodeURIComponent(expr)}`);
    return (await response.json()) as QueryAnswer;
  };

  before(async () => {
    db = await createTestDatabase(2);
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'runledger-prometheus-'));
    // `start`: servers, a worker and the demo load in one process, so every metric moves.
    app = await spawnServe(
      db.url,
      {
        RUNLEDGER_DEMO: 'true',
        RUNLEDGER_DEMO_JOBS_PER_SECOND: '4',
        RUNLEDGER_DEMO_FAILURE_RATE: '0.2',
        RUNLEDGER_HEARTBEAT_MS: '1000',
      },
      'start',
    );
  });

  after(async () => {
    if (prometheus && prometheus.exitCode === null) {
      prometheus.kill('SIGTERM');
      await new Promise((resolve) => prometheus!.once('exit', resolve));
    }
    await app?.stop();
    await db?.drop();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  it('promtool accepts the shipped scrape config, the alert rules and our /metrics output', async () => {
    const config = await run('promtool', ['check', 'config', path.join(MONITORING, 'prometheus.yml')]);
    assert.match(config.stdout, /SUCCESS/);
    const rules = await run('promtool', ['check', 'rules', RULES]);
    assert.match(rules.stdout, /SUCCESS: 15 rules found/);

    const metrics = await (await fetch(`http://127.0.0.1:${app.httpPort}/metrics`)).text();
    const check = spawn('promtool', ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    check.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    check.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    check.stdin.end(metrics);
    const code = await new Promise<number | null>((resolve) => check.once('exit', resolve));
    assert.equal(code, 0, `promtool check metrics: ${output}`);
    // Every runledger name follows Prometheus's conventions: our prefix, counters end in _total.
    for (const [, name, type] of metrics.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
      assert.match(name!, /^runledger_/, `${name} lacks the runledger_ prefix`);
      if (type === 'counter') assert.match(name!, /_total$/, `counter ${name}`);
    }
  });

  it('evaluates every dashboard query and every alert rule with data', { timeout: 240_000 }, async () => {
    const port = await freePort();
    prometheusUrl = `http://127.0.0.1:${port}`;
    const configFile = path.join(dir, 'prometheus.yml');
    await fs.writeFile(
      configFile,
      [
        'global: {scrape_interval: 1s, evaluation_interval: 1s}',
        `rule_files: [${JSON.stringify(RULES)}]`,
        'scrape_configs:',
        '  - job_name: runledger',
        `    static_configs: [{targets: ["127.0.0.1:${app.httpPort}"]}]`,
        '',
      ].join('\n'),
    );
    await run('promtool', ['check', 'config', configFile]);
    prometheus = spawn(
      'prometheus',
      [
        `--config.file=${configFile}`,
        `--storage.tsdb.path=${path.join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    prometheus.stdout!.on('data', (chunk: Buffer) => (prometheusLog += chunk.toString()));
    prometheus.stderr!.on('data', (chunk: Buffer) => (prometheusLog += chunk.toString()));

    const dashboard = JSON.parse(await fs.readFile(DASHBOARD, 'utf8')) as Dashboard;
    const panelQueries = dashboard.panels.flatMap((panel) => (panel.targets ?? []).map((target) => ({ where: `panel "${panel.title}"`, expr: forPrometheus(target.expr) })));
    const rules = await alertRules();
    assert.equal(rules.length, 15);
    assert.ok(panelQueries.length >= 25, `the dashboard has ${panelQueries.length} queries`);
    const ruleQueries = rules.map((rule) => ({ where: `alert ${rule.alert}`, expr: ruleQuery(rule.expr) }));

    // Every expression parses (a rule's full expression may rightly return nothing: it is not firing).
    let missing: string[] = [];
    const deadline = Date.now() + 180_000;
    for (;;) {
      missing = [];
      for (const { where, expr } of [...panelQueries, ...ruleQueries]) {
        let answer: QueryAnswer;
        try {
          answer = await query(expr);
        } catch (error) {
          missing.push(`${where}: Prometheus not answering (${(error as Error).message})`);
          continue;
        }
        assert.notEqual(answer.status, 'error', `${where}: ${expr}: ${answer.error}`);
        const values = answer.data?.result.map((sample) => Number(sample.value[1])) ?? [];
        // Data: at least one series, and at least one number (NaN is a quantile of no observations).
        if (!values.some((value) => Number.isFinite(value))) missing.push(`${where}: ${expr} → ${JSON.stringify(answer.data?.result ?? [])}`);
      }
      if (missing.length === 0 || Date.now() > deadline) break;
      if (prometheus.exitCode !== null) assert.fail(`prometheus exited: ${prometheusLog}`);
      await sleep(2000);
    }
    assert.deepEqual(missing, [], 'queries without data');

    for (const rule of rules) {
      const answer = await query(rule.expr);
      assert.equal(answer.status, 'success', `${rule.alert}: ${answer.error}`);
    }
    // Prometheus itself evaluated every rule without error.
    const loaded = (await (await fetch(`${prometheusUrl}/api/v1/rules`)).json()) as {
      data: { groups: { rules: { name: string; health: string; lastError?: string }[] }[] };
    };
    const evaluated = loaded.data.groups.flatMap((group) => group.rules);
    assert.equal(evaluated.length, rules.length);
    for (const rule of evaluated) assert.equal(rule.health, 'ok', `${rule.name}: ${rule.lastError}`);
    const targets = (await (await fetch(`${prometheusUrl}/api/v1/targets`)).json()) as {
      data: { activeTargets: { health: string; lastError: string }[] };
    };
    assert.deepEqual(
      targets.data.activeTargets.map((target) => [target.health, target.lastError]),
      [['up', '']],
    );
  });
});
