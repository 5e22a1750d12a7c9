// The price pack: provider ingestion into the Price Service (price.ingest, one schedule per provider) and the CFB
// minute-bar sampler (cfb.price.sample); both run on cron ticks, so the pack registers no event types of its own.
import type { JobPack } from '../catalog.js';
import { environmentPack } from '../pack-settings.js';
import type { Environment } from '../pack-settings.js';
import { cfbPriceSampleJob } from './cfb-price-sample.js';
import { registerPriceEvents } from './events.js';
import { priceIngestJob } from './price-ingest.js';
import { priceSettingsFrom } from './price-settings.js';

/** The pack for the settings in `env` (PRICE_PROVIDERS, CFB_PRICE_SAMPLE_*); throws ConfigError when they are bad. */
export function createPricePack(env: Environment): JobPack {
  const settings = priceSettingsFrom(env);
  return {
    name: 'price',
    register: registerPriceEvents,
    jobs: [priceIngestJob(settings), cfbPriceSampleJob(settings)],
  };
}

export const pricePack: JobPack = environmentPack(
  'price',
  registerPriceEvents,
  (env) => createPricePack(env).jobs,
);
