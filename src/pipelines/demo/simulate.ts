import { setTimeout as sleep } from 'node:timers/promises';
import type { StepContext } from '../definition.js';
import { AGENTS, type AgentType } from './agents.js';

export interface SimulatedWork {
  readonly agent: AgentType;
  /** Work at speed 1.0, ms; the agent's speed scales it, ±30 % jitter. */
  readonly baseMs: number;
  /** Failure probability before the agent's weight, 0..1. */
  readonly failureRate: number;
  readonly progressMessages?: readonly string[];
}

/**
 * Sleeps like the agent would work, reporting progress on the way, then
 * either fails (with the agent's weighted failure rate) or reports its token
 * usage and cost. Stops early when the step's signal fires.
 */
export async function simulate(context: StepContext, work: SimulatedWork): Promise<{ tokens: number; costUsd: number; ms: number }> {
  const profile = AGENTS[work.agent];
  const ms = Math.round((work.baseMs / profile.speed) * (0.7 + Math.random() * 0.6));
  const messages = work.progressMessages ?? ['working'];
  const slice = ms / (messages.length + 1);
  context.log('info', `${context.step} on ${work.agent}, attempt ${context.attempt}`, { expectedMs: ms, inputKeys: Object.keys(context.outputs) });
  for (const [index, message] of messages.entries()) {
    await sleep(slice, undefined, { signal: context.signal });
    context.log('debug', message, { elapsedMs: Math.round(slice * (index + 1)) });
    await context.progress(Math.round(((index + 1) * 100) / (messages.length + 1)), message);
  }
  await sleep(slice, undefined, { signal: context.signal });
  if (Math.random() < Math.min(1, work.failureRate * profile.failureWeight)) {
    const reason = pick(['rate limited', 'upstream timeout', 'malformed response']);
    context.log('error', `${work.agent} call failed: ${reason}`, { agent: work.agent });
    throw new Error(`${work.agent}: simulated failure (${reason})`);
  }
  const tokens = Math.round((ms / 1000) * profile.tokensPerSecond * (0.8 + Math.random() * 0.4));
  const costUsd = Math.round((tokens / 1000) * profile.costPer1kTokens * 1e6) / 1e6;
  if (ms > (1.2 * work.baseMs) / profile.speed) context.log('warn', `slower than usual: ${ms} ms`, { expectedMs: Math.round(work.baseMs / profile.speed) });
  context.log('info', `done: ${tokens} tokens, $${costUsd.toFixed(4)}`, { tokens, costUsd });
  context.usage(tokens, costUsd);
  return { tokens, costUsd, ms };
}

export const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)]!;
