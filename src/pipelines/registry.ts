import { AppError } from '../ops/errors.js';
import type { Pipeline } from './definition.js';

// The pipelines this process knows. Workers run steps of these; createJob
// checks input against them. Definitions are code, so a process-wide list is
// the natural home.
const pipelines = new Map<string, Pipeline>();

/** Makes a pipeline known to this process; replacing one with the same name is allowed. */
export function registerPipeline(pipeline: Pipeline): Pipeline {
  pipelines.set(pipeline.name, pipeline);
  return pipeline;
}

export function findPipeline(name: string): Pipeline | undefined {
  return pipelines.get(name);
}

export function getPipeline(name: string): Pipeline {
  const pipeline = typeof name === 'string' ? pipelines.get(name) : undefined;
  if (!pipeline) {
    throw new AppError(404, 'unknown_pipeline', `pipeline: no pipeline named ${JSON.stringify(name)} (known: ${[...pipelines.keys()].join(', ') || 'none'})`, {
      field: 'pipeline',
    });
  }
  return pipeline;
}

export function listPipelines(): Pipeline[] {
  return [...pipelines.values()];
}
