import { z } from 'zod';
import { definePipeline } from '../define-pipeline.js';
import type { StepContext } from '../definition.js';
import type { AgentType } from './agents.js';
import { simulate } from './simulate.js';

const input = z.object({
  url: z.string().url(),
  /** Length of the source video, seconds. */
  durationSeconds: z.number().int().min(1).max(7200).default(600),
  /** 0..1, the chance each simulated step fails (scaled per agent type). */
  failureRate: z.number().min(0).max(1).default(0.05),
  /** Multiplies every simulated duration. (Default: 1) */
  speed: z.number().min(0.01).max(100).default(1),
});
type Input = z.infer<typeof input>;

const step = (name: string, agent: AgentType, baseMs: number, messages: string[], result: (ctx: StepContext<Input>) => object) => ({
  name,
  agentType: agent,
  retry: { maxAttempts: 3, backoffMs: 500, maxBackoffMs: 5000 },
  timeoutMs: 30_000,
  handler: async (ctx: StepContext<Input>) => {
    const usage = await simulate(ctx, { agent, baseMs: baseMs / ctx.input.speed, failureRate: ctx.input.failureRate, progressMessages: messages });
    return { ...result(ctx), ...usage };
  },
});

/** The seed's clip pipeline: download → transcribe → detect moments → detect faces → crop → cut. */
export const videoClip = definePipeline({
  name: 'video_clip',
  input,
  steps: [
    step('download', 'llama-2-13b', 800, ['fetching', 'verifying'], (ctx) => ({ bytes: ctx.input.durationSeconds * 250_000 })),
    step('transcribe', 'gpt-4-turbo', 2000, ['extracting audio', 'transcribing', 'aligning'], (ctx) => ({
      words: ctx.input.durationSeconds * 2,
      language: 'en',
    })),
    step('detect_moments', 'claude-3-sonnet', 1500, ['scoring segments', 'ranking'], (ctx) => ({
      moments: Array.from({ length: 3 }, (_, i) => ({ start: i * 60, end: i * 60 + 30, score: 0.9 - i * 0.1 })).slice(
        0,
        Math.max(1, Math.floor(ctx.input.durationSeconds / 200)),
      ),
    })),
    step('detect_faces', 'gemini-pro', 1200, ['sampling frames', 'tracking faces'], () => ({ faces: 2 })),
    step('crop', 'claude-3-haiku', 900, ['framing 9:16'], () => ({ aspect: '9:16' })),
    step('cut', 'mistral-medium', 700, ['encoding'], (ctx) => ({ clips: Math.max(1, Math.floor(ctx.input.durationSeconds / 200)) })),
  ],
});
