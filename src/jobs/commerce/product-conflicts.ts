// Seed 003 §3 "Detect and resolve conflicts": a source product against its local copy under the tenant's strategy
// (source_wins, local_wins, newest_wins, flag_for_review). A conflict = the local copy was edited since the last sync
// and differs from the source; without local edits the source simply updates it.
import type { z } from 'zod';
import type { localProduct, productApplyRequest } from './api.js';
import type { NormalizedProduct } from './product-normalizer.js';

export type ConflictStrategy = 'source_wins' | 'local_wins' | 'newest_wins' | 'flag_for_review';
export type SyncMode = 'full' | 'delta' | 'inventory_only';
export type LocalProduct = z.output<typeof localProduct>;
type ApplyRequest = z.output<typeof productApplyRequest>;

export interface SyncItem {
  readonly external: NormalizedProduct;
  readonly local: LocalProduct | null;
}

export interface SyncDecision {
  readonly upserts: ApplyRequest['upserts'];
  readonly conflicts: ApplyRequest['conflicts'];
  readonly keptLocal: number;
  /** Identical to the local copy, or nothing to do in this mode. */
  readonly unchanged: number;
}

/** The fields a shopper sees; `updatedAt` is when, not what. */
function sameContent(a: NormalizedProduct, b: NormalizedProduct): boolean {
  return (
    a.title === b.title &&
    a.description === b.description &&
    a.sku === b.sku &&
    a.price === b.price &&
    a.inventory === b.inventory &&
    a.status === b.status
  );
}

export function resolveProducts(
  items: readonly SyncItem[],
  strategy: ConflictStrategy,
  mode: SyncMode,
): SyncDecision {
  const upserts: SyncDecision['upserts'] = [];
  const conflicts: SyncDecision['conflicts'] = [];
  let keptLocal = 0;
  let unchanged = 0;
  for (const { external, local } of items) {
    const expectedVersion = local?.version ?? null;
    if (mode === 'inventory_only') {
      // stock is the source's truth; a product not yet imported waits for a full or delta sync
      if (
        local === null ||
        external.inventory === undefined ||
        local.product.inventory === external.inventory
      ) {
        unchanged += 1;
        continue;
      }
      upserts.push({
        externalId: external.externalId,
        expectedVersion,
        resolution: 'inventory',
        product: { externalId: external.externalId, inventory: external.inventory },
      });
      continue;
    }
    if (local === null) {
      upserts.push({
        externalId: external.externalId,
        expectedVersion,
        resolution: 'created',
        product: external,
      });
      continue;
    }
    if (sameContent(local.product, external)) {
      unchanged += 1;
      continue;
    }
    if (local.locallyModifiedAt === null) {
      upserts.push({
        externalId: external.externalId,
        expectedVersion,
        resolution: 'updated',
        product: external,
      });
      continue;
    }
    switch (strategy) {
      case 'source_wins':
        upserts.push({
          externalId: external.externalId,
          expectedVersion,
          resolution: 'source_wins',
          product: external,
        });
        break;
      case 'local_wins':
        keptLocal += 1;
        break;
      case 'newest_wins':
        // a tie goes to the source: it is what the sync is for
        if (Date.parse(external.updatedAt) >= Date.parse(local.locallyModifiedAt)) {
          upserts.push({
            externalId: external.externalId,
            expectedVersion,
            resolution: 'newest_wins',
            product: external,
          });
        } else keptLocal += 1;
        break;
      case 'flag_for_review':
        conflicts.push({ externalId: external.externalId, expectedVersion: local.version, external });
        break;
    }
  }
  return { upserts, conflicts, keptLocal, unchanged };
}
