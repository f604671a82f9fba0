import { z } from 'zod';
import { definePipeline } from '../define-pipeline.js';
import type { StepContext } from '../definition.js';
import type { AgentType } from './agents.js';
import { pick, simulate } from './simulate.js';

const input = z.object({
  prompt: z.string().min(1).max(2000),
  failureRate: z.number().min(0).max(1).default(0.05),
  speed: z.number().min(0.01).max(100).default(1),
});
type Input = z.infer<typeof input>;

const TOPICS = ['Python Testing', 'Event Sourcing', 'PostgreSQL Locking', 'Vector Search', 'Observability'];

const agentStep = (
  name: string,
  agent: AgentType,
  baseMs: number,
  needs: string[] | undefined,
  messages: string[],
  result: (ctx: StepContext<Input>) => object,
) => ({
  name,
  agentType: agent,
  ...(needs === undefined ? {} : { needs }),
  retry: { maxAttempts: 3, backoffMs: 500, maxBackoffMs: 5000 },
  timeoutMs: 30_000,
  handler: async (ctx: StepContext<Input>) => {
    const usage = await simulate(ctx, { agent, baseMs: baseMs / ctx.input.speed, failureRate: ctx.input.failureRate, progressMessages: messages });
    return { ...result(ctx), ...usage };
  },
});

const writer = (section: string, agent: AgentType) =>
  agentStep(`write_${section}`, agent, 1800, ['identify_topic', 'ingest_knowledge'], ['outlining', 'drafting'], (ctx) => ({
    section,
    topic: (ctx.outputs.identify_topic as { topic?: string } | undefined)?.topic,
    words: 300 + Math.floor(Math.random() * 400),
  }));

/** The seed's content agents: topic identification → knowledge-base ingestion → three section writers in parallel → reviewer. */
export const contentAgents = definePipeline({
  name: 'content_agents',
  input,
  steps: [
    agentStep('identify_topic', 'gpt-3.5-turbo', 600, undefined, ['reading prompt'], () => ({ topic: pick(TOPICS) })),
    agentStep('ingest_knowledge', 'claude-3-haiku', 1200, undefined, ['searching', 'chunking', 'embedding'], () => ({
      documents: 5 + Math.floor(Math.random() * 20),
    })),
    writer('introduction', 'gpt-4-turbo'),
    writer('body', 'claude-3-sonnet'),
    writer('conclusion', 'mistral-large'),
    agentStep('review', 'claude-3-opus', 1500, ['write_introduction', 'write_body', 'write_conclusion'], ['checking facts', 'editing'], (ctx) => ({
      approved: true,
      words: Object.values(ctx.outputs).reduce<number>((sum, out) => sum + ((out as { words?: number }).words ?? 0), 0),
    })),
  ],
});
