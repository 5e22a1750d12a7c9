// JSON API of DLQ triage: dead letters grouped by error fingerprint, one group's entries, and bulk requeue / drop
// (audited mutations) and export (JSON Lines or CSV download, audited too) of a fingerprint group or of given ids.
import { z } from 'zod';
import { ValidationError } from '../../errors.js';
import type { DeadLetterDeps, DeadLetterRecord, DomainPartitions } from '../dlq/dead-letters.js';
import { getDeadLetter, parseDeadLetterId } from '../dlq/dead-letters.js';
import { dropDeadLetters } from '../dlq/drop.js';
import { EXPORT_FORMATS, exportDeadLetters, exportedDeadLetter } from '../dlq/export.js';
import type { ExportFormat } from '../dlq/export.js';
import { requeueDeadLetters } from '../dlq/requeue.js';
import type { AdminRoute, AdminServices, RouteContext } from './admin-context.js';
import { audited } from './admin-context.js';
import { selectDeadLetters, selectedDeadLetters, triageDeadLetters } from './dlq-triage.js';
import type { DeadLetterSelection } from './dlq-triage.js';
import {
  SECURITY_HEADERS,
  json,
  pathPattern,
  problem,
  queryInteger,
  queryText,
  readJsonBody,
} from './http-io.js';

/** Most dead letters one bulk request changes; the answer says when more matched. */
export const BULK_LIMIT = 10_000;
const NAME = /^[A-Za-z0-9_.-]{1,64}$/;

const selectionBody = z
  .strictObject({
    fingerprint: z
      .string()
      .regex(/^([0-9a-f]{4,40})?$/, 'expected a fingerprint (hex) or "" for dead letters without one')
      .optional(),
    job: z.string().regex(NAME).optional(),
    domain: z.string().regex(NAME).optional(),
    ids: z.array(z.string().max(120)).min(1).max(1000).optional(),
  })
  .refine((b) => (b.fingerprint === undefined) !== (b.ids === undefined), {
    message: 'expected either fingerprint (with optional job and domain) or ids',
  });
type SelectionBody = z.infer<typeof selectionBody>;

export function dlqApiRoutes(services: AdminServices): AdminRoute[] {
  const deps: DeadLetterDeps = { redis: services.redis, keys: services.keys };
  const domains = async (): Promise<DomainPartitions[]> =>
    (await services.sampler.read()).stats.domains.map((d) => ({
      domain: d.domain,
      partitions: d.partitions,
    }));

  function selectionOf(url: URL): DeadLetterSelection {
    const fingerprint = url.searchParams.get('fingerprint') ?? undefined;
    const job = queryText(url, 'job', 64);
    const domain = queryText(url, 'domain', 64);
    if (fingerprint !== undefined && !/^([0-9a-f]{4,40})?$/.test(fingerprint))
      throw new ValidationError('fingerprint must be hex (or empty for dead letters without one)', [
        { path: 'fingerprint', message: 'invalid fingerprint' },
      ]);
    return {
      ...(fingerprint === undefined ? {} : { fingerprint }),
      ...(job === undefined ? {} : { job }),
      ...(domain === undefined ? {} : { domain }),
    };
  }

  /** The records a bulk body names: by fingerprint (bounded scan) or by ids (missing ones counted). */
  async function recordsOf(
    body: SelectionBody,
  ): Promise<{ records: DeadLetterRecord[]; missing: number; limited: boolean }> {
    if (body.ids !== undefined) {
      const found = await Promise.all(body.ids.map((id) => getDeadLetter(deps, id)));
      const records = found.filter((r): r is DeadLetterRecord => r !== undefined);
      return { records, missing: found.length - records.length, limited: false };
    }
    const selected = await selectDeadLetters(deps, await domains(), selectionFrom(body), BULK_LIMIT);
    return { ...selected, missing: 0 };
  }

  function targetOf(body: SelectionBody): string {
    if (body.ids !== undefined) return `${body.ids.length} ids`;
    const scope = [body.job && `job ${body.job}`, body.domain && `domain ${body.domain}`].filter(Boolean);
    const what =
      body.fingerprint === undefined ? 'all dead letters' : `fingerprint ${body.fingerprint || '(none)'}`;
    return `${what}${scope.length > 0 ? ` of ${scope.join(', ')}` : ''}`;
  }

  return [
    {
      method: 'GET',
      path: pathPattern('/api/dlq'),
      access: 'read',
      async handle(ctx) {
        const job = queryText(ctx.url, 'job', 64);
        const domain = queryText(ctx.url, 'domain', 64);
        const scanLimit = queryInteger(ctx.url, 'scan', 5000, 1, 100_000);
        const triage = await triageDeadLetters(
          deps,
          await domains(),
          { ...(job === undefined ? {} : { job }), ...(domain === undefined ? {} : { domain }) },
          scanLimit,
        );
        return json(200, triage);
      },
    },
    {
      method: 'GET',
      path: pathPattern('/api/dlq/entries'),
      access: 'read',
      async handle(ctx) {
        const limit = queryInteger(ctx.url, 'limit', 100, 1, 1000);
        const selection = selectionOf(ctx.url);
        const { records, limited } = await selectDeadLetters(deps, await domains(), selection, limit);
        return json(200, { entries: records.map(exportedDeadLetter), limited });
      },
    },
    {
      method: 'POST',
      path: pathPattern('/api/dlq/requeue'),
      access: 'change',
      async handle(ctx) {
        const body = await readJsonBody(ctx.req, selectionBody);
        // malformed ids are refused before anything is audited or changed
        body.ids?.forEach(parseDeadLetterId);
        const result = await audited(
          services,
          ctx,
          { name: 'dlq.requeue', target: targetOf(body), detail: { ...body } },
          async () => {
            const { records, missing, limited } = await recordsOf(body);
            const results = await requeueDeadLetters(services.redis, services.keys, records);
            const count = (status: string) => results.filter((r) => r.status === status).length;
            return {
              matched: records.length + missing,
              requeued: count('requeued'),
              missing: missing + count('missing'),
              unrequeueable: count('unrequeueable'),
              limited,
            };
          },
          (r) => r,
        );
        services.sampler.invalidate();
        return json(200, result);
      },
    },
    {
      method: 'POST',
      path: pathPattern('/api/dlq/drop'),
      access: 'change',
      async handle(ctx) {
        const body = await readJsonBody(ctx.req, selectionBody);
        // malformed ids are refused before anything is audited or changed
        body.ids?.forEach(parseDeadLetterId);
        const result = await audited(
          services,
          ctx,
          { name: 'dlq.drop', target: targetOf(body), detail: { ...body } },
          async () => {
            const { records, missing, limited } = await recordsOf(body);
            const dropped = await dropDeadLetters(
              services.redis,
              services.keys,
              records.map((r) => r.id),
            );
            return {
              matched: records.length + missing,
              dropped: dropped.dropped,
              missing: missing + dropped.missing,
              limited,
            };
          },
          (r) => r,
        );
        services.sampler.invalidate();
        return json(200, result);
      },
    },
    {
      method: 'GET',
      path: pathPattern('/api/dlq/export'),
      access: 'read',
      async handle(ctx) {
        const format = (queryText(ctx.url, 'format', 10) ?? 'jsonl') as ExportFormat;
        if (!EXPORT_FORMATS.includes(format))
          return problem(400, 'invalid', `format must be one of ${EXPORT_FORMATS.join(', ')}`);
        const selection = selectionOf(ctx.url);
        const partitions = await domains();
        // exports carry event payloads: who took which is recorded like a change
        await audited(
          services,
          ctx,
          { name: 'dlq.export', target: targetOf(selection), detail: { format } },
          () => streamExport(ctx, deps, partitions, selection, format),
          (count) => ({ exported: count }),
        );
        return undefined;
      },
    },
  ];
}

function selectionFrom(body: SelectionBody): DeadLetterSelection {
  return {
    ...(body.fingerprint === undefined ? {} : { fingerprint: body.fingerprint }),
    ...(body.job === undefined ? {} : { job: body.job }),
    ...(body.domain === undefined ? {} : { domain: body.domain }),
  };
}

/** Writes the selection as a download, waiting for the client to drain; resolves to the number of records. */
async function streamExport(
  ctx: RouteContext,
  deps: DeadLetterDeps,
  domains: readonly DomainPartitions[],
  selection: DeadLetterSelection,
  format: ExportFormat,
): Promise<number> {
  const { res } = ctx;
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const name = `dlq-${selection.fingerprint || 'all'}-${stamp}.${format}`;
  res.writeHead(200, {
    ...SECURITY_HEADERS,
    'Content-Type': format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8',
    'Content-Disposition': `attachment; filename="${name}"`,
    'Cache-Control': 'no-store',
  });
  const count = await exportDeadLetters(
    selectedDeadLetters(deps, domains, selection),
    format,
    async (chunk) => {
      if (res.destroyed) throw new Error('the client went away during the export');
      if (!res.write(chunk)) {
        await new Promise<void>((resolve) => {
          const done = (): void => {
            res.off('drain', done);
            res.off('close', done);
            resolve();
          };
          res.on('drain', done);
          res.on('close', done);
        });
      }
    },
  );
  res.end();
  return count;
}
