// The job audit (JOB_AUDIT_ENABLED, seed 000 "recorded for audit when enabled"): every call a job makes to an
// internal service, with the job, event, target, Idempotency-Key, status and outcome, in a capped Redis stream.
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { CallObservation } from '../sinks/http-sink.js';
import type { KeyBuilder } from '../streams/keys.js';
import { currentRequestScope } from './tracing/log-correlation.js';

export interface JobAudit {
  /** Records one call (best effort: a failed write is logged, the job goes on). */
  record(call: CallObservation): void;
  /** Resolves when every write started so far has finished. */
  flush(): Promise<void>;
}

export function createJobAudit(deps: {
  readonly redis: Redis;
  readonly keys: KeyBuilder;
  /** Approximate length the stream is kept at. */
  readonly maxLen: number;
  readonly logger?: Pick<Logger, 'warn'>;
  readonly now?: () => number;
}): JobAudit {
  const now = deps.now ?? Date.now;
  const writes = new Set<Promise<unknown>>();
  return {
    record(call) {
      const scope = currentRequestScope();
      const fields = [
        'at',
        new Date(now()).toISOString(),
        'job',
        scope?.job ?? '',
        'eventId',
        scope?.requestId ?? '',
        'entryId',
        scope?.entryId ?? '',
        'attempt',
        String(scope?.attempt ?? ''),
        'target',
        call.target,
        'idempotencyKey',
        call.idempotencyKey ?? '',
        'status',
        call.status === undefined ? '' : String(call.status),
        'outcome',
        call.outcome,
        'durationMs',
        String(Math.round(call.durationMs)),
      ];
      const write = deps.redis
        .xadd(deps.keys.jobAudit, 'MAXLEN', '~', deps.maxLen, '*', ...fields)
        .catch((error: unknown) =>
          deps.logger?.warn({ err: error, target: call.target }, 'job audit write failed'),
        )
        .finally(() => writes.delete(write));
      writes.add(write);
    },
    async flush() {
      await Promise.all([...writes]);
    },
  };
}
