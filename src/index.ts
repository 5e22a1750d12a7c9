// The library API: everything a service needs to publish events and run jobs, exported explicitly.
export * from './errors.js';
export { systemClock, offsetClock, ManualClock } from './clock.js';
export type { Clock } from './clock.js';
export * from './events/index.js';
export * from './config/index.js';
export { createKeyBuilder } from './streams/keys.js';
export type { BarKeys, KeyBuilder, PartitionKeys } from './streams/keys.js';
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
  ControlEvent,
  JobRunner,
  OutcomeEvent,
  RunnerDeps,
  RunnerEvents,
  RunnerSettings,
} from './pipelines/job-runner.js';
export type { JobContext, JobDefinition, JobHandler } from './pipelines/job-definition.js';
export { keyedConcurrency, KeyedMutex } from './pipelines/keyed-concurrency.js';
export { createCircuitBreaker, throughCircuitBreaker } from './pipelines/circuit-breaker.js';
export type {
  CircuitBreaker,
  CircuitBreakerOptions,
  CircuitBreakerStageOptions,
  CircuitPermit,
  CircuitState,
  CircuitStateChange,
} from './pipelines/circuit-breaker.js';
export { createTokenBucket, rateLimit } from './pipelines/rate-limit.js';
export type { TokenBucket, TokenBucketOptions } from './pipelines/rate-limit.js';
export { attemptWithTimeout, withTimeout } from './pipelines/timeout.js';
export type { AttemptTimeoutOptions } from './pipelines/timeout.js';
export {
  classifyAttempt,
  classifyOutcome,
  isTransientFailure,
  outcomeOfAttempt,
} from './pipelines/classify-outcome.js';
export type { Attempted, AttemptResult, Classified, RetryPolicy } from './pipelines/classify-outcome.js';
export { decodeValidate } from './pipelines/decode-validate.js';
export type { DecodeValidateOptions } from './pipelines/decode-validate.js';
export { dedupe } from './pipelines/dedupe.js';
export type { SeenCheck } from './pipelines/dedupe.js';
export { needsHandler } from './pipelines/prepared.js';
export type { Decided, Prepared, ToHandle } from './pipelines/prepared.js';
export { createDistributedRateLimiter, rateLimitOptionsSchema } from './pipelines/distributed-rate-limit.js';
export type {
  DistributedRateLimiter,
  DistributedRateLimiterDeps,
  RateLimitOptions,
  RateLimitWait,
  RateLimiterEvents,
} from './pipelines/distributed-rate-limit.js';
export { createCacheWriter } from './sinks/cache-writer.js';
export type { CacheEntry, CacheWriter, CacheWriterDeps } from './sinks/cache-writer.js';
export { BAR_INTERVALS, barEnd, barStart, createBarWriter, tradeSchema } from './sinks/bar-writer.js';
export type {
  Bar,
  BarInterval,
  BarTtl,
  BarUpdate,
  BarWriter,
  BarWriterDeps,
  Trade,
} from './sinks/bar-writer.js';
export { createExternalFetcher, externalFetchOptionsSchema } from './sinks/external-fetch.js';
export type {
  ExternalFetchDeps,
  ExternalFetcher,
  ExternalFetchLogger,
  ExternalFetchOptions,
  ExternalFetchSettings,
  ExternalRequest,
} from './sinks/external-fetch.js';
export { createSsrfGuard, ssrfGuardOptionsSchema, systemResolver } from './sinks/ssrf-guard.js';
export type {
  HostResolver,
  ResolvedAddress,
  SsrfGuard,
  SsrfGuardOptions,
  SsrfGuardSettings,
} from './sinks/ssrf-guard.js';
export { classifyAddress } from './sinks/address-ranges.js';
export type { AddressClass, AddressKind } from './sinks/address-ranges.js';
export { createHttpSink, serviceCallHandler } from './sinks/http-sink.js';
export type {
  CallObservation,
  CallScope,
  HttpMethod,
  HttpSink,
  HttpSinkOptions,
  ServiceRequest,
  SinkResult,
} from './sinks/http-sink.js';
export { createServicePools } from './sinks/service-pools.js';
export type { ServiceEndpoint, ServicePoolOptions, ServicePools } from './sinks/service-pools.js';
export { readServiceTls } from './sinks/service-tls.js';
export type { ServiceTls } from './sinks/service-tls.js';
export {
  createServiceTokens,
  SERVICE_TOKEN_MAX_TTL_SECONDS,
  SERVICE_TOKEN_REFRESH_SECONDS,
} from './sinks/service-tokens.js';
export type { ServiceTokens, ServiceTokensOptions } from './sinks/service-tokens.js';
export { createServiceTokenVerifier, ServiceTokenRejectedError } from './sinks/service-token-verifier.js';
export type {
  ServiceTokenClaims,
  ServiceTokenVerifier,
  ServiceTokenVerifierOptions,
} from './sinks/service-token-verifier.js';
export {
  generateServiceKeyPair,
  jwkThumbprint,
  parseServicePrivateJwk,
  SERVICE_JWK_VARIABLE,
} from './sinks/service-keys.js';
export type { ServicePrivateJwk, ServicePublicJwk, ServiceSigningKey } from './sinks/service-keys.js';
export { idempotencyKey, IDEMPOTENCY_KEY_MAX_CHARS } from './sinks/idempotency-key.js';
export type { EpochPart } from './sinks/idempotency-key.js';
export {
  CONFLICT_DONE_CODES,
  CONFLICT_IN_PROGRESS_CODES,
  CONFLICT_MISMATCH_CODES,
  conflictMatcher,
  defaultStatusPolicy,
  errorCodeOf,
  mapResponse,
  parseRetryAfter,
} from './sinks/status-mapping.js';
export type { ConflictMatcher, ConflictMeaning, SinkResponse, StatusPolicy } from './sinks/status-mapping.js';
export {
  BODY_EXCERPT_CHARS,
  scrubExcerpt,
  ServiceCallPermanentError,
  ServiceCallTransientError,
} from './sinks/service-call-error.js';
export type { ServiceCallDetails, ServiceCallError } from './sinks/service-call-error.js';
export { createTimerWheel } from './scheduler/timer-wheel.js';
export type { TimerListOptions, TimerWheel, TimerWheelDeps } from './scheduler/timer-wheel.js';
export { DEFAULT_TOMBSTONE_RETENTION_MS, MAX_TIMER_VERSION } from './scheduler/timer-request.js';
export type { ScheduledTimer, ScheduleResult, TimerRequest } from './scheduler/timer-request.js';
export { createTimerMover, moveDueTimers } from './scheduler/timer-mover.js';
export type {
  MoveOptions,
  MoveResult,
  TimerMover,
  TimerMoverEvents,
  TimerMoverOptions,
} from './scheduler/timer-mover.js';
export { createDeferWriter, deferEntry } from './scheduler/defer-writer.js';
export type {
  DeferEntryRequest,
  DeferResult,
  DeferWriter,
  DeferWriterDeps,
} from './scheduler/defer-writer.js';
export { createServiceSink } from './sinks/service-sink.js';
export type { ServiceSink, ServiceSinkDeps } from './sinks/service-sink.js';
export { parseCronSpec, parseTimeZone, describeCronSpec } from './scheduler/cron-spec.js';
export type {
  CronSpec,
  CronExpressionSpec,
  IntervalSpec,
  ParseCronSpecOptions,
} from './scheduler/cron-spec.js';
export { cronTimerId, nextTick, previousTick, tickIso, ticksBetween } from './scheduler/cron-ticks.js';
export {
  checkCronDeclaration,
  cronVariableOf,
  resolveCronSchedules,
  unusedCronVariables,
} from './scheduler/cron-schedules.js';
export type {
  CronSchedule,
  CronScheduleDeclaration,
  MissedPolicy,
  OverlapPolicy,
  ResolveCronOptions,
} from './scheduler/cron-schedules.js';
export {
  CRON_TICK_CAUSES,
  CRON_TICK_TYPE,
  DEFAULT_CRON_DOMAIN,
  cronTickDataSchema,
  cronTickEvent,
  cronTickEventId,
  registerCronTick,
} from './scheduler/cron-tick-event.js';
export type { CronTickCause, CronTickData, CronTickEventInput } from './scheduler/cron-tick-event.js';
export { createCronMarks } from './scheduler/cron-mark.js';
export type {
  CronAdvanceOptions,
  CronAdvanceResult,
  CronMarkState,
  CronMarks,
} from './scheduler/cron-mark.js';
export { cronPartition, putCronTicks } from './scheduler/cron-timers.js';
export type { CronTimerTarget } from './scheduler/cron-timers.js';
export { DEFAULT_BACKFILL_MAX_TICKS, backfillTicks } from './scheduler/cron-backfill.js';
export type { BackfillOptions, BackfillResult } from './scheduler/cron-backfill.js';
export { createCronScheduler } from './scheduler/cron-scheduler.js';
export type {
  CronMissedEvent,
  CronScheduledEvent,
  CronScheduler,
  CronSchedulerEvents,
  CronSchedulerOptions,
} from './scheduler/cron-scheduler.js';
export {
  DEFAULT_CRON_LOCK_TTL_MS,
  createCronOverlapGuard,
  exclusiveTicks,
} from './scheduler/cron-overlap.js';
export type {
  CronOverlapEvents,
  CronOverlapGuard,
  CronOverlapGuardOptions,
  ExclusiveRun,
  ExclusiveTicksOptions,
  RunExclusiveOptions,
  SkippedTick,
} from './scheduler/cron-overlap.js';
export { DEFAULT_REDIS_CLOCK_REFRESH_MS, createRedisClock } from './scheduler/redis-clock.js';
export type { CalibratedClock, RedisClock, RedisClockOptions } from './scheduler/redis-clock.js';
export {
  DEFAULT_CONTROL_POLL_MS,
  JOB_STATES,
  createJobControl,
  isJobState,
} from './ops/control/job-control.js';
export type {
  JobControl,
  JobControlDeps,
  JobControlState,
  JobState,
  SetJobStateOptions,
} from './ops/control/job-control.js';
export { discoverStreams, groupsOf, storedPartitionCount } from './ops/control/stream-discovery.js';
export type { DiscoverOptions, DiscoveredDomain } from './ops/control/stream-discovery.js';
export { readOperatorStats } from './ops/control/group-stats.js';
export type {
  DomainStats,
  GroupStats,
  OperatorStats,
  OperatorStatsDeps,
  OperatorStatsOptions,
} from './ops/control/group-stats.js';
export { deleteGroup } from './ops/control/group-delete.js';
export type { GroupDeleteOptions, GroupDeleteResult } from './ops/control/group-delete.js';
export { drainJob } from './ops/control/drain.js';
export type { DrainDeps, DrainOptions, DrainResult } from './ops/control/drain.js';
export { replayRange } from './ops/control/replay.js';
export type { ReplayDeps, ReplayOptions, ReplayResult } from './ops/control/replay.js';
export { cancelTimer, listTimers } from './ops/control/timer-admin.js';
export type {
  TimerAdminDeps,
  TimerCancelResult,
  TimerListFilter,
  TimerRow,
} from './ops/control/timer-admin.js';
export { operatorEnvelope, packRegistry, publishOperatorEvent } from './ops/control/operator-publish.js';
export type { OperatorEventInput, OperatorPublishDeps } from './ops/control/operator-publish.js';
export {
  backfillSchedule,
  declaredSchedules,
  resolveSchedule,
  runCronJobNow,
} from './ops/control/cron-commands.js';
export type {
  CronCommandDeps,
  DeclaredSchedule,
  RunNowResult,
  ScheduleOverride,
} from './ops/control/cron-commands.js';
export {
  TIME_SPEC_HELP,
  checkTimeRange,
  compareStreamIds,
  parseTimeSpec,
  rangeEndId,
  rangeStartId,
  streamIdBefore,
} from './ops/control/time-range.js';
export type { TimeBound } from './ops/control/time-range.js';
export {
  checkDeadLetterFilter,
  deadLetterRecord,
  getDeadLetter,
  listDeadLetters,
  matchesDeadLetter,
  parseDeadLetterId,
  scanDeadLetters,
} from './ops/dlq/dead-letters.js';
export type {
  DeadLetterDeps,
  DeadLetterFilter,
  DeadLetterRecord,
  DomainPartitions,
} from './ops/dlq/dead-letters.js';
export { requeueDeadLetter, requeueDeadLetters, requeueFields } from './ops/dlq/requeue.js';
export type { RequeueResult } from './ops/dlq/requeue.js';
export { dropDeadLetters } from './ops/dlq/drop.js';
export type { DropResult } from './ops/dlq/drop.js';
export {
  DEAD_LETTER_CSV_COLUMNS,
  EXPORT_FORMATS,
  deadLetterData,
  deadLetterCsvHeader,
  deadLetterCsvRow,
  deadLetterJsonLine,
  exportDeadLetters,
  exportedDeadLetter,
} from './ops/dlq/export.js';
export type { ExportFormat } from './ops/dlq/export.js';
export { runCli } from './ops/cli/program.js';
export type { CliIo, CliOptions } from './ops/cli/program.js';
export { EXIT_FAILED, EXIT_OK, EXIT_REFUSED, EXIT_USAGE } from './ops/cli/exit-codes.js';
export { startAdminServer } from './ops/admin/admin-server.js';
export type {
  AdminMetrics,
  AdminReadiness,
  AdminServer,
  AdminServerOptions,
  RouteAccess,
} from './ops/admin/admin-server.js';
export { DEFAULT_STATUS_RULES, JOB_STATUSES, evaluateJobStatus } from './ops/admin/job-status.js';
export type { JobStatus, LagSample, StatusRules, StatusVerdict } from './ops/admin/job-status.js';
export type { AuditEntry, AuditStage } from './ops/admin/admin-audit.js';
