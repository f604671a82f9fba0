import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { AppError } from '../../ops/errors.js';
import { pausePipeline, resumePipeline } from '../../pipelines/pause.js';
import { pauseQueue, resumeQueue } from '../../pipelines/pause-queue.js';
import { findPipeline, listPipelines } from '../../pipelines/registry.js';
import { listThrottles, setThrottle } from '../../pipelines/throttle.js';
import { PROJECTION_SCHEMA, readEntity } from '../../projections/tables.js';
import type { ApiApp } from '../app.js';
import type { ApiDeps } from '../deps.js';
import type { ApiEnv } from '../env.js';
import { NoQuery, QueueEnum, ReasonBody, json, problems } from '../schemas.js';
import { operatorOf } from './operator.js';

const ThrottleSchema = z
  .object({
    pipeline: z.string().nullable(),
    queue: z.string().nullable(),
    maxRunning: z.number().nullable(),
    startsPerSecond: z.number().nullable(),
    reason: z.string().nullable(),
    setAt: z.string(),
    running: z.number().openapi({ description: 'Steps running under it now' }),
  })
  .openapi('Throttle');

const PipelineSchema = z
  .object({
    name: z.string(),
    priority: z.string(),
    roots: z.array(z.string()),
    steps: z.array(
      z.object({
        name: z.string(),
        needs: z.array(z.string()),
        dependents: z.array(z.string()),
        priority: z.string().nullable(),
        timeoutMs: z.number(),
        retry: z.object({ maxAttempts: z.number(), backoffMs: z.number(), maxBackoffMs: z.number() }),
      }),
    ),
    paused: z.boolean(),
    throttle: ThrottleSchema.nullable(),
  })
  .openapi('Pipeline');

const NameParams = z.object({
  name: z.string().regex(/^[a-z][a-z0-9_]{0,62}$/, 'must be a pipeline name').openapi({ param: { name: 'name', in: 'path' }, example: 'video_clip' }),
});
const QueueParams = z.object({ name: QueueEnum.openapi({ param: { name: 'name', in: 'path' } }) });
const ActionResult = z
  .object({
    changed: z.boolean().openapi({ description: 'False when it was already in that state (nothing appended)' }),
    position: z.number().nullable(),
  })
  .openapi('ControlResult');
const ThrottleBody = z
  .object({
    maxRunning: z.number().int('must be a whole number').min(0).nullable().openapi({ description: 'Steps running at once across all workers; null: no limit' }),
    startsPerSecond: z.number().positive().max(100_000).nullable().openapi({ description: 'Step starts a second across all workers; null: no limit' }),
    reason: z.string().min(1).max(500).optional(),
  })
  .strict()
  .openapi('ThrottleLimits');

const optionalReason = { content: { 'application/json': { schema: ReasonBody } } };
const write = <P extends z.AnyZodObject>(path: string, summary: string, params: P) =>
  createRoute({
    method: 'post',
    path,
    tags: ['control'],
    summary,
    request: { params, query: NoQuery, body: optionalReason },
    responses: { 202: json(ActionResult, 'Done; `position` of the event appended'), ...problems(400, 403, 404) },
  });
const writeAll = (path: string, summary: string) =>
  createRoute({
    method: 'post',
    path,
    tags: ['control'],
    summary,
    request: { query: NoQuery, body: optionalReason },
    responses: { 202: json(ActionResult, 'Done; `position` of the event appended'), ...problems(400, 403) },
  });

const throttleRoute = <P extends z.AnyZodObject>(path: string, summary: string, params: P) =>
  createRoute({
    method: 'put',
    path,
    tags: ['control'],
    summary,
    request: { params, query: NoQuery, body: { content: { 'application/json': { schema: ThrottleBody } }, required: true } },
    responses: { 202: json(z.object({ position: z.number() }), 'queue.throttled appended'), ...problems(400, 403, 404) },
  });

export function controlRoutes(app: ApiApp, { db }: ApiDeps): void {
  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/pipelines',
      tags: ['control'],
      summary: 'Pipeline definitions: step graphs, retry policies, priorities, pause and throttle',
      request: { query: NoQuery },
      responses: { 200: json(z.object({ data: z.array(PipelineSchema) }), 'Pipelines this server knows'), ...problems() },
    }),
    async (c) => {
      const [paused, throttles] = await Promise.all([db.query<{ pipeline: string }>('select pipeline from pipelines.pauses'), listThrottles(db)]);
      const pausedSet = new Set(paused.rows.map((r) => r.pipeline));
      const data = listPipelines().map((p) => ({
        name: p.name,
        priority: p.priority,
        roots: [...p.roots],
        steps: p.steps.map((s) => ({
          name: s.name,
          needs: [...s.needs],
          dependents: [...s.dependents],
          priority: s.priority ?? null,
          timeoutMs: s.timeoutMs,
          retry: { maxAttempts: s.maxAttempts, backoffMs: s.backoffMs, maxBackoffMs: s.maxBackoffMs },
        })),
        paused: pausedSet.has(p.name) || pausedSet.has('*'),
        throttle: throttles.find((t) => t.pipeline === p.name) ?? null,
      }));
      return c.json({ data }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/workers',
      tags: ['control'],
      summary: 'Workers (read model): status, running steps, load',
      request: { query: NoQuery },
      responses: { 200: json(z.object({ data: z.array(z.record(z.unknown())) }), 'Workers'), ...problems() },
    }),
    async (c) => {
      const workers = await readEntity(db, PROJECTION_SCHEMA, 'worker');
      return c.json({ data: Object.values(workers) as Record<string, unknown>[] }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/queues',
      tags: ['control'],
      summary: 'Queues: depth (read model), pause and throttle',
      request: { query: NoQuery },
      responses: {
        200: json(
          z.object({
            data: z.array(z.object({ queue: z.string(), depth: z.number(), byPipeline: z.record(z.number()), paused: z.boolean(), throttle: ThrottleSchema.nullable() })),
            pausedAll: z.boolean(),
          }),
          'Queues',
        ),
        ...problems(),
      },
    }),
    async (c) => {
      const [depths, paused, throttles] = await Promise.all([
        db.query<{ queue: string; pipeline: string; depth: number }>(`select queue, pipeline, depth from ${PROJECTION_SCHEMA}.queues`),
        db.query<{ pipeline: string }>('select pipeline from pipelines.pauses'),
        listThrottles(db),
      ]);
      const pausedSet = new Set(paused.rows.map((r) => r.pipeline));
      const data = QueueEnum.options.map((queue) => {
        const byPipeline: Record<string, number> = {};
        for (const row of depths.rows) if (row.queue === queue) byPipeline[row.pipeline] = row.depth;
        return {
          queue,
          depth: Object.values(byPipeline).reduce((a, b) => a + b, 0),
          byPipeline,
          paused: pausedSet.has(`queue:${queue}`),
          throttle: throttles.find((t) => t.queue === queue) ?? null,
        };
      });
      return c.json({ data, pausedAll: pausedSet.has('*') }, 200);
    },
  );

  const result = (c: Context<ApiEnv>, r: { position: number } | null) => c.json({ changed: r !== null, position: r?.position ?? null }, 202);
  const known = (name: string) => {
    if (!findPipeline(name)) throw new AppError(404, 'unknown_pipeline', `name: no pipeline named ${JSON.stringify(name)}`, { field: 'name' });
    return name;
  };

  app.openapi(write('/api/pipelines/{name}/pause', 'Pause a pipeline: no step of it starts until resumed', NameParams), async (c) => {
    const name = known(c.req.valid('param').name);
    return result(c, await pausePipeline(db, name, operatorOf(c, c.req.valid('json').reason)));
  });
  app.openapi(write('/api/pipelines/{name}/resume', 'Resume a pipeline', NameParams), async (c) => {
    const name = known(c.req.valid('param').name);
    return result(c, await resumePipeline(db, name, operatorOf(c, c.req.valid('json').reason)));
  });
  app.openapi(write('/api/queues/{name}/pause', 'Pause a queue (high, normal, background) across pipelines', QueueParams), async (c) =>
    result(c, await pauseQueue(db, c.req.valid('param').name, operatorOf(c, c.req.valid('json').reason))),
  );
  app.openapi(write('/api/queues/{name}/resume', 'Resume a queue', QueueParams), async (c) =>
    result(c, await resumeQueue(db, c.req.valid('param').name, operatorOf(c, c.req.valid('json').reason))),
  );
  app.openapi(writeAll('/api/pause', 'Pause everything'), async (c) => result(c, await pausePipeline(db, null, operatorOf(c, c.req.valid('json').reason))));
  app.openapi(writeAll('/api/resume', 'Resume everything (lifts the global pause)'), async (c) =>
    result(c, await resumePipeline(db, null, operatorOf(c, c.req.valid('json').reason))),
  );

  app.openapi(throttleRoute('/api/pipelines/{name}/throttle', "Set a pipeline's run-time limits (both null lifts them)", NameParams), async (c) => {
    const name = known(c.req.valid('param').name);
    const { maxRunning, startsPerSecond, reason } = c.req.valid('json');
    return c.json(await setThrottle(db, { pipeline: name }, { maxRunning, startsPerSecond }, operatorOf(c, reason)), 202);
  });
  app.openapi(throttleRoute('/api/queues/{name}/throttle', "Set a queue's run-time limits (both null lifts them)", QueueParams), async (c) => {
    const { maxRunning, startsPerSecond, reason } = c.req.valid('json');
    return c.json(await setThrottle(db, { queue: c.req.valid('param').name }, { maxRunning, startsPerSecond }, operatorOf(c, reason)), 202);
  });
}
