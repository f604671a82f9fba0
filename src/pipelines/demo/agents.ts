/**
 * Simulated agent types, from the seed's table (speed relative to 1.0, cost
 * per 1,000 tokens). Token rates and failure weights are ours: faster, smaller
 * models emit tokens faster and fail a little more often.
 */
export interface AgentProfile {
  readonly speed: number;
  readonly costPer1kTokens: number;
  /** Tokens produced per simulated second of work. */
  readonly tokensPerSecond: number;
  /** Multiplies the configured failure rate. */
  readonly failureWeight: number;
}

export const AGENTS = {
  'gpt-4': { speed: 0.8, costPer1kTokens: 0.03, tokensPerSecond: 40, failureWeight: 0.8 },
  'gpt-4-turbo': { speed: 1.2, costPer1kTokens: 0.01, tokensPerSecond: 80, failureWeight: 0.9 },
  'gpt-3.5-turbo': { speed: 1.5, costPer1kTokens: 0.001, tokensPerSecond: 120, failureWeight: 1.2 },
  'claude-3-opus': { speed: 0.7, costPer1kTokens: 0.075, tokensPerSecond: 35, failureWeight: 0.7 },
  'claude-3-sonnet': { speed: 1.0, costPer1kTokens: 0.015, tokensPerSecond: 70, failureWeight: 1.0 },
  'claude-3-haiku': { speed: 2.0, costPer1kTokens: 0.0025, tokensPerSecond: 150, failureWeight: 1.2 },
  'gemini-pro': { speed: 1.1, costPer1kTokens: 0.005, tokensPerSecond: 75, failureWeight: 1.0 },
  'gemini-ultra': { speed: 0.9, costPer1kTokens: 0.02, tokensPerSecond: 45, failureWeight: 0.8 },
  'llama-2-70b': { speed: 0.6, costPer1kTokens: 0, tokensPerSecond: 30, failureWeight: 1.3 },
  'llama-2-13b': { speed: 1.3, costPer1kTokens: 0, tokensPerSecond: 90, failureWeight: 1.5 },
  'mistral-large': { speed: 0.9, costPer1kTokens: 0.008, tokensPerSecond: 50, failureWeight: 0.9 },
  'mistral-medium': { speed: 1.4, costPer1kTokens: 0.0027, tokensPerSecond: 100, failureWeight: 1.1 },
} as const satisfies Record<string, AgentProfile>;

export type AgentType = keyof typeof AGENTS;
