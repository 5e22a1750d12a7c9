// Walks the pages of a deposit query (oldest first) up to a run's page limit: a failure on the first page fails the
// run (retried), one on a later page only cuts it short (what was done stays done, the next run goes on).
import type { CallScope } from '../../sinks/http-sink.js';
import type { Deposit, DepositsQuery, ExchangeClient } from './exchange-client.js';

export interface PagesWalked {
  readonly batches: number;
  /** Why the walk stopped early, when a later page failed. */
  readonly cutShort: unknown;
}

export async function eachDepositPage(
  exchange: ExchangeClient,
  query: Omit<DepositsQuery, 'cursor'>,
  limits: { readonly maxBatches: number; readonly signal: AbortSignal; readonly scope: CallScope },
  handle: (items: readonly Deposit[]) => Promise<void>,
): Promise<PagesWalked> {
  let cursor: string | undefined;
  let batches = 0;
  do {
    if (limits.signal.aborted) break;
    let page;
    try {
      page = await exchange.deposits({ ...query, cursor }, limits.scope);
    } catch (error) {
      if (batches === 0) throw error;
      return { batches, cutShort: error };
    }
    batches += 1;
    await handle(page.items);
    cursor = page.nextCursor ?? undefined;
  } while (cursor !== undefined && batches < limits.maxBatches);
  return { batches, cutShort: undefined };
}
