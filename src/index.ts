// The library API: everything a service needs to publish events and run jobs, exported explicitly.
export * from './errors.js';
export { systemClock, offsetClock, ManualClock } from './clock.js';
export type { Clock } from './clock.js';
export * from './events/index.js';
export * from './config/index.js';
export { createKeyBuilder } from './streams/keys.js';
export type { KeyBuilder, PartitionKeys } from './streams/keys.js';
export { outcome, outcomeFromError } from './streams/outcome.js';
export type { Outcome, OutcomeKind } from './streams/outcome.js';
export { backoffDelay, backoffCeiling, defaultBackoff } from './streams/backoff.js';
export type { BackoffPolicy } from './streams/backoff.js';
export { checkRedisSafety } from './streams/redis-safety.js';
export { createTrimmer } from './streams/trimmer.js';
export { readStreamStats } from './streams/stream-stats.js';
export type { StreamStats } from './streams/stream-stats.js';
export { createJobRunner, defaultRunnerSettings } from './pipelines/job-runner.js';
export type {
  JobRunner,
  OutcomeEvent,
  RunnerDeps,
  RunnerEvents,
  RunnerSettings,
} from './pipelines/job-runner.js';
export type { JobContext, JobDefinition, JobHandler } from './pipelines/job-definition.js';
export { keyedConcurrency, KeyedMutex } from './pipelines/keyed-concurrency.js';
