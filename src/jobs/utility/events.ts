// Utility event contracts (Admin exports, DLQ replays) on the `utility` streams.
import { z } from 'zod';
import { SERVICE_URL_VARIABLES } from '../../config/index.js';
import type { ServiceName } from '../../config/index.js';
import type { EventRegistry } from '../../events/registry.js';
import { entityId } from '../contract-fields.js';
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

/** An operator reviewed dead-lettered entries and asks to re-enqueue them. */
// not in the seeds: chosen here (001 §2 says only "re-enqueue failed jobs after operator review")
export const dlqReplayRequestedData = z.strictObject({
  replayId: entityId,
  domain: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'expected a domain name'),
  partition: z.number().int().min(0),
  entryIds: z.array(entryId).min(1).max(1000),
  requestedBy: entityId,
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
