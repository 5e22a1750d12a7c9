// Utility event contracts (Admin exports, DLQ replays) on the `utility` streams.
import { z } from 'zod';
import { SERVICE_URL_VARIABLES } from '../../config/index.js';
import type { ServiceName } from '../../config/index.js';
import type { EventRegistry } from '../../events/registry.js';
import { entityId, isoTimestamp } from '../contract-fields.js';
import { registerEventContracts } from '../event-contract.js';
import type { EventContracts, EventDataMap } from '../event-contract.js';

export const UTILITY_DOMAIN = 'utility';

/** An internal service the worker can reach (an SVC_*_URL). */
export const serviceName = z.enum(Object.keys(SERVICE_URL_VARIABLES) as [ServiceName, ...ServiceName[]]);

/** An Admin export: `service` builds the file (000 §3.7 "executed via service endpoints"). */
// not in the seeds: chosen here (the fields)
export const exportRequestedData = z.strictObject({
  exportId: entityId,
  service: serviceName,
  dataset: z.string().regex(/^[a-z0-9_.-]{1,64}$/, 'expected a dataset name'),
  format: z.enum(['csv', 'json']),
  filters: z.record(z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/), z.string().max(256)).optional(),
  requestedBy: entityId,
});

/** Stream entry ids, `<ms>-<seq>`. */
const entryId = z.string().regex(/^\d{1,15}-\d{1,15}$/, 'expected a stream entry id <ms>-<seq>');

/** A consumer group (job) name, as in the DLQ entry's `group`. */
const groupName = z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'expected a job (group) name');

/**
 * An operator reviewed dead-lettered entries and asks to re-enqueue them, each as a re-emission for the job that gave
 * up only: by DLQ entry ids (of one partition), or by job, event type, reason, error fingerprint and failure-time range
 * (at least one of them). Dead letters written after the request are never part of it (they were not reviewed).
 */
// not in the seeds: chosen here (001 §2 says only "re-enqueue failed jobs after operator review")
export const dlqReplayRequestedData = z
  .strictObject({
    replayId: entityId,
    domain: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'expected a domain name'),
    /** The partition whose DLQ holds `entryIds`; without entryIds it narrows the selection to one partition. */
    partition: z.number().int().min(0).max(1023).optional(),
    entryIds: z.array(entryId).min(1).max(1000).optional(),
    job: groupName.optional(),
    type: z
      .string()
      .regex(/^[a-z0-9_]+(?:\.[a-z0-9_]+)+$/, 'expected an event type')
      .optional(),
    /** Case-insensitive part of the DLQ reason. */
    reason: z.string().min(1).max(200).optional(),
    /** An error fingerprint or a prefix of it (4-40 hex). */
    fingerprint: z
      .string()
      .regex(/^[0-9a-f]{4,40}$/, 'expected an error fingerprint (4-40 hex)')
      .optional(),
    failedFrom: isoTimestamp.optional(),
    failedTo: isoTimestamp.optional(),
    /** Most dead letters requeued by this request; default 1000. */
    limit: z.number().int().min(1).max(10_000).optional(),
    requestedBy: entityId,
  })
  .superRefine((data, ctx) => {
    if (data.entryIds !== undefined && data.partition === undefined) {
      ctx.addIssue({ code: 'custom', path: ['partition'], message: 'is required with entryIds' });
    }
    const selectors = [
      data.entryIds,
      data.job,
      data.type,
      data.reason,
      data.fingerprint,
      data.failedFrom,
      data.failedTo,
    ];
    if (selectors.every((selector) => selector === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: ['entryIds'],
        message: 'expected entryIds, or at least one of job, type, reason, fingerprint, failedFrom, failedTo',
      });
    }
    if (data.failedFrom !== undefined && data.failedTo !== undefined && data.failedFrom > data.failedTo) {
      ctx.addIssue({ code: 'custom', path: ['failedTo'], message: 'is before failedFrom' });
    }
  });

export const utilityEvents = {
  'export.requested': {
    schema: exportRequestedData,
    producer: 'admin',
    key: 'exportId',
    seed: '000 §3.7 ("CSV and JSON exports for Admin, executed via service endpoints")',
  },
  'dlq.replay_requested': {
    schema: dlqReplayRequestedData,
    producer: 'admin',
    key: 'replayId',
    seed: '001 §2 DLQ replayer ("re-enqueue failed jobs after operator review"); 000 §9 (DLQ handling)',
  },
} as const satisfies EventContracts;

export type UtilityEventMap = EventDataMap<typeof utilityEvents>;

export function registerUtilityEvents(registry: EventRegistry): void {
  registerEventContracts(registry, UTILITY_DOMAIN, utilityEvents);
}
