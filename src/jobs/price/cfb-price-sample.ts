// cfb.price.sample (seed 001 §7): every minute, fetches the latest quotes of the CFB symbols from the Price Service
// (or, without SVC_PRICE_URL, from one approved provider) and writes them into minute bars in Redis, atomically per bar.
import { ConfigError, PermanentError } from '../../errors.js';
import type { EventEnvelope } from '../../events/envelope.js';
import type { JobContext, JobDefinition } from '../../pipelines/job-definition.js';
import { CRON_TICK_TYPE, DEFAULT_CRON_DOMAIN } from '../../scheduler/cron-tick-event.js';
import type { CronTickData } from '../../scheduler/cron-tick-event.js';
import type { BarInterval } from '../../sinks/bar-writer.js';
import type { HttpSink } from '../../sinks/http-sink.js';
import { outcome, outcomeFromError } from '../../streams/outcome.js';
import type { Outcome } from '../../streams/outcome.js';
import type { PackJob } from '../catalog.js';
import type { PackContext } from '../pack-context.js';
import { pollFailure, pollWithHealth } from '../provider-health.js';
import { priceQuotes, quotesResponse } from './api.js';
import { FeedShapeError, normalizeTicks } from './provider-feed.js';
import type { PriceTick } from './provider-feed.js';
import { providerUrls } from './price-ingest.js';
import type { PriceProvider, PriceSettings } from './price-settings.js';

export const CFB_PRICE_SAMPLE_JOB = 'cfb.price.sample';
/** Seed 001 §4: `CRON_CFB_PRICE_SAMPLE=*\/1 * * * *`. */
export const CFB_PRICE_SAMPLE_DEFAULT_SPEC = '*/1 * * * *';
/** Seed 001 §7: "store minute bars". */
export const CFB_SAMPLE_INTERVALS: readonly BarInterval[] = ['1m'];

/**
 * A decimal price as integer minor units with `decimals` digits after the point, rounded half up beyond them:
 * `toMinorUnits('64250.12', 8)` = `'6425012000000'`.
 */
export function toMinorUnits(price: string, decimals: number): string {
  const [whole = '0', fraction = ''] = price.split('.');
  const kept = fraction.slice(0, decimals).padEnd(decimals, '0');
  let units = BigInt(`${whole}${kept}`);
  if ((fraction[decimals] ?? '0') >= '5') units += 1n;
  return units.toString();
}

export function cfbPriceSampleJob(settings: PriceSettings): PackJob {
  return {
    catalog: {
      name: CFB_PRICE_SAMPLE_JOB,
      domain: DEFAULT_CRON_DOMAIN,
      aliases: ['price'],
      enableFlag: 'ENABLE_PRICE_SAMPLER',
      // seed 001 §4: ENABLE_PRICE_SAMPLER=false ("optional sampler if no dedicated Price Service")
      enabledByDefault: false,
    },
    schedules: [
      {
        name: CFB_PRICE_SAMPLE_JOB,
        variable: 'CRON_CFB_PRICE_SAMPLE',
        defaultSpec: CFB_PRICE_SAMPLE_DEFAULT_SPEC,
        overlap: 'skip',
        missed: 'once',
      },
    ],
    definition: (ctx) => cfbPriceSampleDefinition(ctx, settings),
  };
}

export function cfbPriceSampleDefinition(
  ctx: PackContext,
  settings: PriceSettings,
): JobDefinition<CronTickData> {
  const { symbols, decimals, barTtlMs } = settings.sampler;
  if (symbols.length === 0) {
    throw new ConfigError(
      `CFB_PRICE_SAMPLE_SYMBOLS: is not set (expected the symbols ${CFB_PRICE_SAMPLE_JOB} samples, e.g. BTC/USDT,ETH/USDT)`,
      'CFB_PRICE_SAMPLE_SYMBOLS',
    );
  }
  const provider = ctx.config.services.price === undefined ? settings.sampler.provider : undefined;
  if (ctx.config.services.price === undefined && provider === undefined) {
    throw new ConfigError(
      `SVC_PRICE_URL, CFB_PRICE_SAMPLE_PROVIDER: neither is set (${CFB_PRICE_SAMPLE_JOB} reads quotes from the ` +
        'Price Service, or from a PRICE_PROVIDERS entry of format "quotes")',
      'SVC_PRICE_URL',
    );
  }
  const logger = ctx.logger.child({ job: CFB_PRICE_SAMPLE_JOB });
  const source: { readonly sink: HttpSink } | { readonly provider: PriceProvider } =
    provider === undefined ? { sink: ctx.services() } : { provider };
  const wanted = new Set(symbols);

  async function fromPriceService(
    service: HttpSink,
    event: EventEnvelope<CronTickData>,
    signal: AbortSignal,
  ): Promise<PriceTick[] | Outcome> {
    const query = new URLSearchParams({ symbols: symbols.join(',') });
    const result = await service.call(
      {
        service: 'price',
        method: 'GET',
        path: `${priceQuotes.path}?${query.toString()}`,
        responseSchema: quotesResponse,
      },
      { event, signal },
    );
    if (result.outcome.kind !== 'ack') return result.outcome;
    return result.body?.quotes ?? [];
  }

  async function fromProvider(source: PriceProvider, signal: AbortSignal): Promise<PriceTick[]> {
    const limiter = ctx.rateLimiter(`price.${source.id}`, source.perSecond, source.burst);
    return pollWithHealth(ctx, `price.${source.id}`, async () => {
      const quotes: PriceTick[] = [];
      for (const url of providerUrls({ ...source, symbols: [...symbols] })) {
        await limiter.take(1, signal);
        const body = await ctx.external().fetchJson(url, { headers: source.headers ?? {}, signal });
        try {
          quotes.push(...normalizeTicks({ ...source, symbols: [...symbols] }, body).items);
        } catch (error) {
          if (error instanceof FeedShapeError)
            throw new PermanentError(`provider ${source.id}: ${error.message}`);
          throw error;
        }
      }
      return quotes;
    });
  }

  return {
    name: CFB_PRICE_SAMPLE_JOB,
    domain: DEFAULT_CRON_DOMAIN,
    types: [CRON_TICK_TYPE],
    concurrency: 2,
    retry: { maxAttempts: 5 },
    handler: async (event: EventEnvelope<CronTickData>, job: JobContext): Promise<Outcome> => {
      const giveUp = (reason: string): void =>
        logger.error(
          { tick: event.data.tick, attempts: job.attempt, reason },
          'price sample failed, tick given up',
        );
      let quotes: PriceTick[] | Outcome;
      try {
        quotes =
          'sink' in source
            ? await fromPriceService(source.sink, event, job.signal)
            : await fromProvider(source.provider, job.signal);
      } catch (error) {
        return pollFailure(outcomeFromError(error), job.attempt, giveUp);
      }
      if (!Array.isArray(quotes)) return pollFailure(quotes, job.attempt, giveUp);
      for (const quote of quotes) {
        if (!wanted.has(quote.symbol)) continue;
        const ts = Date.parse(quote.at);
        // one trade per quote time: a repeated sample of the same quote is applied once
        await ctx.bars.applyTrade(
          quote.symbol,
          CFB_SAMPLE_INTERVALS,
          { id: `quote:${ts}`, ts, price: toMinorUnits(quote.price, decimals), qty: '0' },
          () => barTtlMs,
        );
      }
      return outcome.ack();
    },
  };
}
