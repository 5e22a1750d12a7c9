// Internal endpoints of the utility jobs: a service's export, a service's storage cleanup, Events' page-view flush.
import { z } from 'zod';
import { cursorQueryFields, entityId, isoTimestamp, nextCursor } from '../contract-fields.js';
import { commonStatuses, mutationStatuses } from '../internal-endpoint.js';
import type { InternalEndpoint } from '../internal-endpoint.js';

/**
 * One step of an export: the service writes the next part of the file after `cursor` (the checkpoint its previous
 * answer gave; absent on page 0) and answers where it got to. The worker keeps that checkpoint in Redis, so a
 * restarted or redelivered export resumes at its page instead of starting over (issue 6 "progress checkpoints").
 */
// not in the seeds: chosen here
export const exportRunRequest = z.strictObject({
  exportId: entityId,
  dataset: z.string().regex(/^[a-z0-9_.-]{1,64}$/),
  format: z.enum(['csv', 'json']),
  filters: z.record(z.string(), z.string()).optional(),
  /** Steps done so far: 0, 1, 2, ... (part of the Idempotency-Key, so a repeated step is applied once). */
  page: z.number().int().min(0).max(1_000_000),
  cursor: z.string().min(1).max(512).optional(),
});

/** The finished file: a signed download URL the service hands to Admin. */
// not in the seeds: chosen here
export const exportDone = z.object({
  exportId: entityId,
  state: z.literal('completed'),
  url: z.url({ protocol: /^https$/ }),
  expiresAt: isoTimestamp,
  rows: z.number().int().min(0),
});

/** A part was written: call again with page + 1 and this cursor. */
// not in the seeds: chosen here
export const exportPartial = z.object({
  exportId: entityId,
  state: z.literal('partial'),
  cursor: z.string().min(1).max(512),
  /** Rows written so far. */
  rows: z.number().int().min(0),
});

export const exportStep = z.discriminatedUnion('state', [exportDone, exportPartial]);

/** 202: busy (e.g. a snapshot is being prepared); call again with the same page and key at `retryAt`. */
// not in the seeds: chosen here
export const exportRunning = z.object({
  exportId: entityId,
  state: z.literal('running'),
  retryAt: isoTimestamp.optional(),
});

export const serviceExport = {
  service: 'per-call',
  method: 'POST',
  path: '/internal/v1/exports',
  seed: '000 §3.7 ("CSV and JSON exports for Admin, executed via service endpoints"); path not in the seeds: chosen here',
  idempotencyKey: { scope: 'export.run', parts: ['exportId', 'page'] },
  request: exportRunRequest,
  response: exportStep,
  statuses: {
    ...mutationStatuses,
    200: {
      outcome: 'ack',
      meaning: 'completed (the file is ready), or partial: checkpoint the cursor and ask for the next page',
      body: exportStep,
    },
    202: {
      outcome: 'defer',
      meaning: 'busy: defer to retryAt (or the default) and ask again for the same page with the same key',
      body: exportRunning,
    },
  },
} as const satisfies InternalEndpoint;

// not in the seeds: chosen here
export const cleanupCandidatesQuery = z.strictObject(cursorQueryFields);

/**
 * Objects to delete: the job sends DELETE to `deleteUrl` (external, through the SSRF guard, which refuses plain
 * http unless EXTERNAL_ALLOW_HTTP), then confirms.
 */
// not in the seeds: chosen here
export const cleanupCandidatesResponse = z.object({
  items: z
    .array(z.object({ objectKey: z.string().min(1).max(1024), deleteUrl: z.url({ protocol: /^https?$/ }) }))
    .max(500),
  nextCursor,
});

export const storageCleanupCandidates = {
  service: 'per-call',
  method: 'GET',
  path: '/internal/v1/storage/cleanup',
  seed: '000 §3.7 ("object storage cleanups using signed URLs provided by services"); path not in the seeds: chosen here',
  query: cleanupCandidatesQuery,
  response: cleanupCandidatesResponse,
  statuses: {
    ...commonStatuses,
    200: { outcome: 'ack', meaning: 'a page of objects to delete', body: cleanupCandidatesResponse },
  },
} as const satisfies InternalEndpoint;

// not in the seeds: chosen here
export const cleanupConfirmRequest = z.strictObject({
  objectKeys: z.array(z.string().min(1).max(1024)).min(1).max(500),
});

// not in the seeds: chosen here
export const cleanupConfirmResponse = z.object({ confirmed: z.number().int().min(0) });

export const storageCleanupConfirm = {
  service: 'per-call',
  method: 'POST',
  path: '/internal/v1/storage/cleanup/confirm',
  seed: '000 §3.7; path not in the seeds: chosen here',
  idempotencyKey: { scope: 'storage.cleanup', parts: ['digest(objectKeys)'] },
  request: cleanupConfirmRequest,
  response: cleanupConfirmResponse,
  statuses: {
    ...mutationStatuses,
    200: { outcome: 'ack', meaning: 'the service forgets the deleted objects', body: cleanupConfirmResponse },
  },
} as const satisfies InternalEndpoint;

/** Flush page-view aggregations up to `until` (the cron tick's time). */
// not in the seeds: chosen here
export const pageviewsFlushRequest = z.strictObject({ until: isoTimestamp });

// not in the seeds: chosen here
export const pageviewsFlushResponse = z.object({ flushedBuckets: z.number().int().min(0) });

export const pageviewsFlush = {
  service: 'events',
  method: 'POST',
  path: '/internal/v1/pageviews/flush',
  seed: '000 §3.7 ("metrics flushers for page view aggregations from Events if enabled"); path not in the seeds: chosen here',
  idempotencyKey: { scope: 'pageviews.flush', parts: ['until'] },
  request: pageviewsFlushRequest,
  response: pageviewsFlushResponse,
  statuses: {
    ...mutationStatuses,
    200: { outcome: 'ack', meaning: 'flushed', body: pageviewsFlushResponse },
    204: { outcome: 'ack', meaning: 'nothing to flush' },
  },
} as const satisfies InternalEndpoint;
