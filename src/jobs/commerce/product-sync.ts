// product.sync (seed 003 §3): a webhook's products, or a delta/full/inventory_only run page by page, normalized per
// source, resolved against the local copies under the tenant's conflict strategy and applied through Commerce; each
// apply commits the page's sync point, so a run that failed half-way resumes where it stopped.
import { createHash } from 'node:crypto';
import { PermanentError } from '../../errors.js';
import type { EventEnvelope } from '../../events/envelope.js';
import type { JobContext, JobDefinition } from '../../pipelines/job-definition.js';
import type { CallScope } from '../../sinks/http-sink.js';
import { idempotencyKey } from '../../sinks/idempotency-key.js';
import { outcome } from '../../streams/outcome.js';
import type { Outcome } from '../../streams/outcome.js';
import { serviceSinkFor } from '../pack-context.js';
import type { PackContext } from '../pack-context.js';
import {
  commerceProductApply,
  commerceProductChanges,
  commerceProductLookup,
  productApplyResponse,
  productChangesResponse,
  productLookupResponse,
} from './api.js';
import { queueOptionsOf } from './commerce-settings.js';
import type { CommerceSettings } from './commerce-settings.js';
import type { CommerceEventMap } from './events.js';
import { resolveProducts } from './product-conflicts.js';
import type { ConflictStrategy, LocalProduct, SyncItem } from './product-conflicts.js';
import { normalizeProduct, webhookProducts } from './product-normalizer.js';
import { COMMERCE_QUEUE_POLICIES, PRODUCT_SYNC } from './queue-policies.js';

export { PRODUCT_SYNC };
export const PRODUCT_SYNC_PRIORITY = COMMERCE_QUEUE_POLICIES[PRODUCT_SYNC].priority;

type SyncRequest = CommerceEventMap['product.sync_requested'];

const digestOf = (value: unknown): string => createHash('sha256').update(JSON.stringify(value)).digest('hex');

export function productSyncJob(context: PackContext, settings: CommerceSettings): JobDefinition<SyncRequest> {
  const sink = serviceSinkFor(context, PRODUCT_SYNC, 'commerce');
  const logger = context.logger.child({ job: PRODUCT_SYNC });

  /** Normalized items of one batch; unreadable ones are skipped and logged (the rest of the page still syncs). */
  function normalized(
    data: SyncRequest,
    raws: readonly { readonly external: unknown; readonly local: LocalProduct | null }[],
  ): SyncItem[] {
    const items: SyncItem[] = [];
    const problems: string[] = [];
    for (const raw of raws) {
      const external = normalizeProduct(data.source, raw.external);
      if (typeof external === 'string') problems.push(external);
      else items.push({ external, local: raw.local });
    }
    if (problems.length > 0) {
      logger.warn(
        {
          syncId: data.syncId,
          source: data.source,
          skipped: problems.length,
          problems: problems.slice(0, 5),
        },
        `product.sync: ${problems.length} ${data.source} products could not be normalized and were skipped`,
      );
    }
    return items;
  }

  async function apply(
    data: SyncRequest,
    strategy: ConflictStrategy,
    items: readonly SyncItem[],
    nextCursor: string | null | undefined,
    scope: CallScope,
  ): Promise<Outcome> {
    const decision = resolveProducts(items, strategy, data.mode);
    const body = {
      syncId: data.syncId,
      tenantId: data.tenantId,
      source: data.source,
      mode: data.mode,
      strategy,
      upserts: decision.upserts,
      conflicts: decision.conflicts,
      keptLocal: decision.keptLocal,
      ...(nextCursor === undefined ? {} : { nextCursor }),
    };
    return (
      await sink.call(
        {
          service: 'commerce',
          path: commerceProductApply.path,
          body,
          // content-addressed: a resumed run's pages differ from the first attempt's, an identical page is the same
          idempotencyKey: idempotencyKey(
            commerceProductApply.idempotencyKey.scope,
            data.syncId,
            digestOf(body),
          ),
          responseSchema: productApplyResponse,
        },
        scope,
      )
    ).outcome;
  }

  async function fromWebhook(
    data: SyncRequest,
    strategy: ConflictStrategy,
    scope: CallScope,
  ): Promise<Outcome> {
    const products = normalized(
      data,
      webhookProducts(data.webhookData).map((external) => ({ external, local: null })),
    ).map((item) => item.external);
    if (products.length === 0) {
      throw new PermanentError(
        `product.sync ${data.syncId}: the ${data.source} webhook holds no readable product`,
      );
    }
    const query = new URLSearchParams({
      tenantId: data.tenantId,
      source: data.source,
      externalIds: products.map((p) => p.externalId).join(','),
    });
    const locals = await sink.call(
      {
        service: 'commerce',
        method: 'GET',
        path: `${commerceProductLookup.path}?${query.toString()}`,
        responseSchema: productLookupResponse,
      },
      scope,
    );
    if (locals.outcome.kind !== 'ack') return locals.outcome;
    const byId = new Map((locals.body?.items ?? []).map((local) => [local.externalId, local]));
    const items = products.map((external) => ({ external, local: byId.get(external.externalId) ?? null }));
    return apply(data, strategy, items, undefined, scope);
  }

  async function fromSource(
    data: SyncRequest,
    strategy: ConflictStrategy,
    scope: CallScope,
  ): Promise<Outcome> {
    let cursor: string | null = null;
    for (let pages = 0; pages < settings.PRODUCT_SYNC_MAX_PAGES; pages += 1) {
      const query = new URLSearchParams({
        tenantId: data.tenantId,
        source: data.source,
        mode: data.mode,
        limit: String(settings.PRODUCT_SYNC_PAGE_SIZE),
      });
      if (cursor !== null) query.set('cursor', cursor);
      const page = await sink.call(
        {
          service: 'commerce',
          method: 'GET',
          path: `${commerceProductChanges.path}?${query.toString()}`,
          responseSchema: productChangesResponse,
        },
        scope,
      );
      if (page.outcome.kind !== 'ack') return page.outcome;
      if (page.body === undefined) return outcome.ack(); // 204: no changes
      const items = normalized(data, page.body.items);
      const applied = await apply(data, strategy, items, page.body.nextCursor, scope);
      if (applied.kind !== 'ack') return applied;
      cursor = page.body.nextCursor;
      if (cursor === null) return outcome.ack();
    }
    // the committed sync point keeps the rest: the next run (or request) goes on from there
    logger.warn(
      { syncId: data.syncId, pages: settings.PRODUCT_SYNC_MAX_PAGES },
      'product.sync stopped at PRODUCT_SYNC_MAX_PAGES; the next run resumes from the committed sync point',
    );
    return outcome.ack();
  }

  async function handle(event: EventEnvelope<SyncRequest>, job: JobContext): Promise<Outcome> {
    const data = event.data;
    const strategy = data.conflictResolution ?? settings.PRODUCT_SYNC_CONFLICT_DEFAULT;
    const scope = { event, signal: job.signal };
    return data.webhookData === undefined
      ? fromSource(data, strategy, scope)
      : fromWebhook(data, strategy, scope);
  }

  return {
    name: PRODUCT_SYNC,
    domain: 'commerce',
    types: ['product.sync_requested'],
    concurrency: 4,
    ...queueOptionsOf(settings, PRODUCT_SYNC),
    handler: handle,
  };
}
