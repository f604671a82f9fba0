import type { z } from 'zod';
import { AppError } from '../ops/errors.js';
import type { CompiledStep, Pipeline, PipelineDefinition, StepContext } from './definition.js';
import type { Priority } from '../events/catalogue.js';

const NAME = /^[a-z][a-z0-9_]{0,62}$/;
const PRIORITIES: readonly Priority[] = ['high', 'normal', 'background'];

const invalid = (pipeline: string, message: string) =>
  new AppError(400, 'invalid_pipeline', `pipeline "${pipeline}": ${message}`, { field: 'pipeline' });

/**
 * Checks a definition and fills in its defaults. Refuses bad names, duplicate
 * or unknown steps, cycles and nonsensical retry or timeout settings with an
 * error that names the step at fault.
 */
export function definePipeline<TSchema extends z.ZodTypeAny>(definition: PipelineDefinition<TSchema>): Pipeline {
  const { name } = definition;
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw invalid(String(name), 'name must be lower-case letters, digits and underscores (at most 63)');
  }
  if (definition.input === undefined || typeof definition.input.safeParse !== 'function') {
    throw invalid(name, 'input must be a zod schema');
  }
  if (definition.priority !== undefined && !PRIORITIES.includes(definition.priority)) {
    throw invalid(name, `priority must be one of ${PRIORITIES.join(', ')}`);
  }
  if (!Array.isArray(definition.steps) || definition.steps.length === 0) {
    throw invalid(name, 'needs at least one step');
  }

  const seen = new Set<string>();
  const steps = definition.steps.map((step, index): Omit<CompiledStep, 'dependents'> => {
    const where = `step ${index + 1} ("${String(step.name)}")`;
    if (typeof step.name !== 'string' || !NAME.test(step.name)) {
      throw invalid(name, `${where}: name must be lower-case letters, digits and underscores`);
    }
    if (seen.has(step.name)) throw invalid(name, `duplicate step name "${step.name}"`);
    seen.add(step.name);
    if (typeof step.handler !== 'function') throw invalid(name, `${where}: handler must be a function`);
    const retry = step.retry ?? {};
    const maxAttempts = retry.maxAttempts ?? 3;
    const backoffMs = retry.backoffMs ?? 1000;
    const maxBackoffMs = retry.maxBackoffMs ?? 60_000;
    const timeoutMs = step.timeoutMs ?? 300_000;
    if (!Number.isInteger(maxAttempts) || maxAttempts < 1 || maxAttempts > 100) {
      throw invalid(name, `${where}: retry.maxAttempts must be a whole number from 1 to 100`);
    }
    for (const [field, value] of [['retry.backoffMs', backoffMs], ['retry.maxBackoffMs', maxBackoffMs], ['timeoutMs', timeoutMs]] as const) {
      if (!Number.isFinite(value) || value < 0) throw invalid(name, `${where}: ${field} must be a non-negative number`);
    }
    if (step.priority !== undefined && !PRIORITIES.includes(step.priority)) {
      throw invalid(name, `${where}: priority must be one of ${PRIORITIES.join(', ')}`);
    }
    const previous = definition.steps[index - 1];
    const needs = step.needs ?? (previous ? [previous.name] : []);
    if (new Set(needs).size !== needs.length) throw invalid(name, `${where}: needs lists a step twice`);
    return {
      name: step.name,
      handler: step.handler as (context: StepContext) => Promise<unknown>,
      needs: [...needs],
      maxAttempts,
      backoffMs,
      maxBackoffMs,
      timeoutMs,
      priority: step.priority,
      agentType: step.agentType,
    };
  });

  for (const step of steps) {
    for (const need of step.needs) {
      if (!seen.has(need)) throw invalid(name, `step "${step.name}" needs unknown step "${need}"`);
      if (need === step.name) throw invalid(name, `step "${step.name}" needs itself`);
    }
  }
  const cycle = findCycle(steps);
  if (cycle) throw invalid(name, `steps form a cycle: ${cycle.join(' -> ')}`);

  const compiled: CompiledStep[] = steps.map((step) => ({
    ...step,
    dependents: steps.filter((other) => other.needs.includes(step.name)).map((other) => other.name),
  }));
  return {
    name,
    input: definition.input,
    priority: definition.priority ?? 'normal',
    steps: compiled,
    byName: new Map(compiled.map((step) => [step.name, step])),
    roots: compiled.filter((step) => step.needs.length === 0).map((step) => step.name),
  };
}

/** Depth-first search; returns the steps of one cycle, first repeated at the end. */
function findCycle(steps: readonly { name: string; needs: readonly string[] }[]): string[] | undefined {
  const needs = new Map(steps.map((step) => [step.name, step.needs]));
  const state = new Map<string, 'visiting' | 'done'>();
  const path: string[] = [];
  const visit = (name: string): string[] | undefined => {
    if (state.get(name) === 'done') return undefined;
    if (state.get(name) === 'visiting') return [...path.slice(path.indexOf(name)), name];
    state.set(name, 'visiting');
    path.push(name);
    for (const need of needs.get(name) ?? []) {
      const cycle = visit(need);
      if (cycle) return cycle;
    }
    path.pop();
    state.set(name, 'done');
    return undefined;
  };
  for (const step of steps) {
    const cycle = visit(step.name);
    if (cycle) return cycle.reverse();
  }
  return undefined;
}
