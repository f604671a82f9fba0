// The pipelines area: definitions, the step runner on graphile-worker, job
// control, workers, the sweeper and the demo. This is what the CLI, the HTTP
// API and the lead's `start` call.
export { definePipeline } from './define-pipeline.js';
export type { PipelineDefinition, StepDefinition, StepContext, RetryPolicy, Pipeline } from './definition.js';
export { registerPipeline, getPipeline, findPipeline, listPipelines } from './registry.js';
export { createJob, type CreateJobOptions, type CreatedJob } from './create-job.js';
export { retryJob } from './retry-job.js';
export { cancelJob, type CancelJobOptions } from './cancel-job.js';
export { pausePipeline, resumePipeline, pausedPipelines } from './pause.js';
export { listDeadLetters, type DeadLetter } from './dead-letters.js';
export { startWorker, type WorkerOptions, type RunningWorker } from './start-worker.js';
export { sweep, type SweepConfig, type SweepResult } from './sweep.js';
export { archiveFinished, type ArchiveConfig, type ArchiveOptions, type ArchiveResult } from './archive-finished.js';
export { startSweeper, type SweeperOptions } from './start-sweeper.js';
export { registerDemoPipelines, startDemoLoad, type DemoLoadOptions } from './demo/index.js';
export { bulkAction, type BulkAction, type BulkFilter, type BulkResult } from './bulk.js';
export { pauseQueue, resumeQueue } from './pause-queue.js';
export { setThrottle, listThrottles, type Throttle, type ThrottleLimits, type ThrottleTarget } from './throttle.js';
export { prepareJob, insertJob, type PreparedJob } from './create-job.js';
export { insertJobsAndCommit } from './create-jobs-together.js';
export type { OperatorOptions } from './operator.js';
export { createJobOnce, type CreateOnceResult } from './create-job-once.js';
