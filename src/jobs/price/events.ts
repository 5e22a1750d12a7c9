// Price's event contracts on the `price` streams: none yet, its jobs run on cron ticks.
import type { EventRegistry } from '../../events/registry.js';
import { registerEventContracts } from '../event-contract.js';
import type { EventContracts } from '../event-contract.js';

export const PRICE_DOMAIN = 'price';

/**
 * price.ingest reads the scheduler's `cron.tick` of one schedule per provider (`price.ingest.<provider>`) and
 * cfb.price.sample that of `cfb.price.sample` (CRON_CFB_PRICE_SAMPLE, seed 001 §4), so no type here.
 */
export const priceEvents = {} as const satisfies EventContracts;

export function registerPriceEvents(registry: EventRegistry): void {
  registerEventContracts(registry, PRICE_DOMAIN, priceEvents);
}
