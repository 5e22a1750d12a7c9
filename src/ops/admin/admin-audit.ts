// The admin audit stream: every admin action (pause, resume, DLQ requeue/drop/export) is XADDed with who did what,
// when and from where, once when requested and once with its result; exact MAXLEN keeps AUDIT_MAX_LEN entries.
import { systemClock } from '../../clock.js';
import type { Clock } from '../../clock.js';
import { fieldsToObject } from '../../streams/dlq-entry.js';
import type { KeyBuilder } from '../../streams/keys.js';
import type { RedisClient } from '../../streams/scripts.js';
import type { AdminPrincipal } from './admin-auth.js';

/** `requested` is written before the action runs (no entry, no action); `completed`/`failed` after it. */
export type AuditStage = 'requested' | 'completed' | 'failed';

export interface AuditInput {
  readonly principal: AdminPrincipal;
  /** e.g. `job.pause`, `dlq.requeue`. */
  readonly action: string;
  /** What the action is about: a job, a fingerprint, a filter. */
  readonly target: string;
  readonly stage: AuditStage;
  readonly requestId: string;
  readonly remoteAddress: string;
  /** Parameters or results, stored as JSON. */
  readonly detail?: Readonly<Record<string, unknown>>;
}

export interface AuditEntry {
  /** The stream entry id. */
  readonly id: string;
  readonly at: string;
  readonly actor: string;
  readonly role: string;
  readonly via: string;
  readonly action: string;
  readonly target: string;
  readonly stage: string;
  readonly requestId: string;
  readonly remoteAddress: string;
  readonly detail: unknown;
}

export interface AdminAudit {
  /** Appends one entry; resolves to its stream id. */
  record(input: AuditInput): Promise<string>;
  /** The newest entries first. */
  recent(limit: number): Promise<AuditEntry[]>;
}

export interface AdminAuditDeps {
  readonly redis: RedisClient;
  readonly keys: KeyBuilder;
  readonly maxLen: number;
  readonly clock?: Clock;
}

export function createAdminAudit(deps: AdminAuditDeps): AdminAudit {
  const { redis, keys, maxLen } = deps;
  const clock = deps.clock ?? systemClock;
  return {
    async record(input) {
      const fields = [
        'at',
        new Date(clock.now()).toISOString(),
        'actor',
        input.principal.name,
        'role',
        input.principal.role,
        'via',
        input.principal.via,
        'action',
        input.action,
        'target',
        input.target,
        'stage',
        input.stage,
        'requestId',
        input.requestId,
        'remoteAddress',
        input.remoteAddress,
      ];
      if (input.detail !== undefined) fields.push('detail', JSON.stringify(input.detail));
      // exact trimming: admin actions are few, and an exact bound is what the retention setting promises
      const id = await redis.xadd(keys.audit, 'MAXLEN', String(maxLen), '*', ...fields);
      return id ?? '';
    },

    async recent(limit) {
      const entries = (await redis.xrevrange(keys.audit, '+', '-', 'COUNT', limit)) as [string, string[]][];
      return entries.map(([id, raw]) => {
        const f = fieldsToObject(raw);
        return {
          id,
          at: f['at'] ?? '',
          actor: f['actor'] ?? '',
          role: f['role'] ?? '',
          via: f['via'] ?? '',
          action: f['action'] ?? '',
          target: f['target'] ?? '',
          stage: f['stage'] ?? '',
          requestId: f['requestId'] ?? '',
          remoteAddress: f['remoteAddress'] ?? '',
          detail: parseDetail(f['detail']),
        };
      });
    },
  };
}

function parseDetail(raw: string | undefined): unknown {
  if (raw === undefined) return undefined;
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return raw;
  }
}
