// price.ingest: on each tick of `price.ingest.<provider>`, polls that provider through the SSRF guard under its shared
// rate limit, normalizes and dedupes the ticks or bars, and posts the new ones to the Price Service's ingest endpoints.
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { PermanentError, errorMessage } from '../../errors.js';
import type { EventEnvelope } from '../../events/envelope.js';
import type { JobContext, JobDefinition } from '../../pipelines/job-definition.js';
import { CRON_TICK_TYPE, DEFAULT_CRON_DOMAIN } from '../../scheduler/cron-tick-event.js';
import type { CronTickData } from '../../scheduler/cron-tick-event.js';
import { idempotencyKey } from '../../sinks/idempotency-key.js';
import { outcome, outcomeFromError } from '../../streams/outcome.js';
import type { Outcome } from '../../streams/outcome.js';
import type { PackJob } from '../catalog.js';
import type { PackContext } from '../pack-context.js';
import { requireServices } from '../pack-settings.js';
import { pollFailure, pollWithHealth } from '../provider-health.js';
import { ingestResponse, priceIngestBars, priceIngestTicks } from './api.js';
import {
  FeedShapeError,
  normalizeBars,
  normalizeTicks,
  providerSymbol,
  uniqueBars,
  uniqueTicks,
} from './provider-feed.js';
import type { NormalizedFeed, PriceBar, PriceTick } from './provider-feed.js';
import { priceIngestSchedule } from './price-settings.js';
import type { PriceProvider, PriceSettings } from './price-settings.js';

export const PRICE_INGEST_JOB = 'price.ingest';
/** 000 §3.1: "poll approved providers on schedules like every minute". */
export const PRICE_INGEST_DEFAULT_SPEC = '*/1 * * * *';
/** Largest batch the ingest endpoints take (api.ts). */
const BATCH = 1000;
/** Dedupe marks outlive a day without polls, after which a provider's answer is all new again. */
const MARKS_TTL_MS = 86_400_000;
const MARKS_NAMESPACE = 'price.ingest.marks';

/** The URLs of one poll: one per symbol with `{symbol}`, else one with `{symbols}` filled in (or the URL as is). */
export function providerUrls(provider: PriceProvider): string[] {
  const symbols = provider.symbols.map((symbol) => encodeURIComponent(providerSymbol(provider, symbol)));
  if (provider.url.includes('{symbol}'))
    return symbols.map((symbol) => provider.url.replaceAll('{symbol}', symbol));
  return [provider.url.replaceAll('{symbols}', symbols.join(','))];
}

/**
 * What was posted last, per symbol: ticks at or before `at` were posted (those at `at` are listed by identity),
 * and the newest bar posted with the digest of its content (the provider updates the current bar in place).
 */
const marksSchema = z.object({
  ticks: z.record(z.string(), z.object({ at: z.string(), ids: z.array(z.string()) })),
  bars: z.record(z.string(), z.object({ openAt: z.string(), digest: z.string() })),
});
type ProviderMarks = z.infer<typeof marksSchema>;

function digestOf(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex');
}

function tickIdentity(tick: PriceTick): string {
  return tick.tradeId ?? `${tick.at}|${tick.price}`;
}

/** Ticks not posted before; ticks older than a symbol's mark are late and dropped (counted in `old`). */
export function newTicks(
  ticks: readonly PriceTick[],
  marks: ProviderMarks['ticks'],
): { fresh: PriceTick[]; old: number; next: ProviderMarks['ticks'] } {
  const next: ProviderMarks['ticks'] = { ...marks };
  const fresh: PriceTick[] = [];
  let old = 0;
  for (const tick of [...ticks].sort((a, b) => a.at.localeCompare(b.at))) {
    const mark = next[tick.symbol];
    const id = tickIdentity(tick);
    if (mark !== undefined && (tick.at < mark.at || (tick.at === mark.at && mark.ids.includes(id)))) {
      old += 1;
      continue;
    }
    fresh.push(tick);
    next[tick.symbol] =
      mark !== undefined && mark.at === tick.at
        ? { at: mark.at, ids: [...mark.ids, id] }
        : { at: tick.at, ids: [id] };
  }
  return { fresh, old, next };
}

/** Bars newer than a symbol's mark, or the marked bar with new content; older bars were posted before. */
export function newBars(
  bars: readonly PriceBar[],
  marks: ProviderMarks['bars'],
): { fresh: PriceBar[]; old: number; next: ProviderMarks['bars'] } {
  const next: ProviderMarks['bars'] = { ...marks };
  const fresh: PriceBar[] = [];
  let old = 0;
  for (const bar of [...bars].sort((a, b) => a.openAt.localeCompare(b.openAt))) {
    const mark = next[bar.symbol];
    const digest = digestOf(bar);
    if (
      mark !== undefined &&
      (bar.openAt < mark.openAt || (bar.openAt === mark.openAt && mark.digest === digest))
    ) {
      old += 1;
      continue;
    }
    fresh.push(bar);
    next[bar.symbol] = { openAt: bar.openAt, digest };
  }
  return { fresh, old, next };
}

function chunks<T>(items: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += BATCH) out.push(items.slice(i, i + BATCH));
  return out;
}

type Polled =
  | { readonly format: 'ticks'; readonly feed: NormalizedFeed<PriceTick> }
  | { readonly format: 'bars'; readonly feed: NormalizedFeed<PriceBar> };

function normalize(provider: PriceProvider, bodies: readonly unknown[]): Polled {
  try {
    if (provider.format === 'bars') {
      const feeds = bodies.map((body) => normalizeBars(provider, body));
      return {
        format: 'bars',
        feed: {
          items: uniqueBars(feeds.flatMap((f) => f.items)),
          skipped: feeds.reduce((n, f) => n + f.skipped, 0),
          problems: feeds.flatMap((f) => f.problems),
        },
      };
    }
    const feeds = bodies.map((body) => normalizeTicks(provider, body));
    return {
      format: 'ticks',
      feed: {
        items: uniqueTicks(feeds.flatMap((f) => f.items)),
        skipped: feeds.reduce((n, f) => n + f.skipped, 0),
        problems: feeds.flatMap((f) => f.problems),
      },
    };
  } catch (error) {
    if (error instanceof FeedShapeError) {
      throw new PermanentError(
        `provider ${provider.id} answered something that is not a ${provider.format} feed: ${error.message}`,
      );
    }
    throw error;
  }
}

/** Builds the job: one schedule per provider, ticks routed to their provider by schedule name. */
export function priceIngestJob(settings: PriceSettings): PackJob {
  return {
    catalog: {
      name: PRICE_INGEST_JOB,
      domain: DEFAULT_CRON_DOMAIN,
      aliases: ['price'],
      enableFlag: 'ENABLE_PRICE_INGEST',
      // like every pack job: runs when its ENABLE_* flag is true or PROCESSORS names it (it needs SVC_*_URLs)
      enabledByDefault: false,
    },
    schedules: settings.providers.map((provider) => ({
      name: priceIngestSchedule(provider.id),
      defaultSpec: PRICE_INGEST_DEFAULT_SPEC,
      overlap: 'skip',
      missed: 'once',
    })),
    definition: (ctx) => priceIngestDefinition(ctx, settings.providers),
  };
}

export function priceIngestDefinition(
  ctx: PackContext,
  providers: readonly PriceProvider[],
): JobDefinition<CronTickData> {
  requireServices(ctx.config, PRICE_INGEST_JOB, 'price');
  const sink = ctx.services();
  const logger = ctx.logger.child({ job: PRICE_INGEST_JOB });
  if (providers.length === 0) logger.warn('price.ingest is enabled but PRICE_PROVIDERS lists no provider');
  const bySchedule = new Map(providers.map((p) => [priceIngestSchedule(p.id), p]));

  async function poll(provider: PriceProvider, signal: AbortSignal): Promise<Polled> {
    const limiter = ctx.rateLimiter(`price.${provider.id}`, provider.perSecond, provider.burst);
    const bodies: unknown[] = [];
    for (const url of providerUrls(provider)) {
      await limiter.take(1, signal);
      bodies.push(await ctx.external().fetchJson(url, { headers: provider.headers ?? {}, signal }));
    }
    return normalize(provider, bodies);
  }

  interface Batch {
    readonly path: string;
    readonly body: unknown;
    readonly key: string;
  }

  function tickBatches(provider: PriceProvider, ticks: readonly PriceTick[]): Batch[] {
    return chunks(ticks).map((batch) => ({
      path: priceIngestTicks.path,
      body: { provider: provider.id, ticks: batch },
      key: idempotencyKey(priceIngestTicks.idempotencyKey.scope, provider.id, digestOf(batch)),
    }));
  }

  function barBatches(provider: PriceProvider, bars: readonly PriceBar[]): Batch[] {
    const { scope } = priceIngestBars.idempotencyKey;
    return chunks(bars).map((batch) => ({
      path: priceIngestBars.path,
      body: { provider: provider.id, interval: provider.interval, bars: batch },
      key: idempotencyKey(scope, provider.id, provider.interval, digestOf(batch)),
    }));
  }

  /** Posts the batches in order; the first that is not acked decides the outcome. */
  async function post(
    batches: readonly Batch[],
    event: EventEnvelope<CronTickData>,
    signal: AbortSignal,
  ): Promise<Outcome> {
    for (const batch of batches) {
      const result = await sink.call(
        {
          service: 'price',
          path: batch.path,
          body: batch.body,
          idempotencyKey: batch.key,
          responseSchema: ingestResponse,
        },
        { event, signal },
      );
      if (result.outcome.kind !== 'ack') return result.outcome;
    }
    return outcome.ack();
  }

  return {
    name: PRICE_INGEST_JOB,
    domain: DEFAULT_CRON_DOMAIN,
    types: [CRON_TICK_TYPE],
    concurrency: 4,
    // the handler gives a tick up after POLL_ATTEMPTS (pollFailure); this only bounds a crash loop
    retry: { maxAttempts: 5 },
    handler: async (event: EventEnvelope<CronTickData>, job: JobContext): Promise<Outcome> => {
      const provider = bySchedule.get(event.data.schedule);
      if (provider === undefined) {
        // a tick of a provider removed from PRICE_PROVIDERS since it was scheduled
        logger.warn({ schedule: event.data.schedule }, 'tick of an unknown price provider ignored');
        return outcome.ack();
      }
      const giveUp = (reason: string): void =>
        logger.error(
          { provider: provider.id, tick: event.data.tick, attempts: job.attempt, reason },
          `price provider ${provider.id}: poll failed, giving the tick up (the next tick polls again)`,
        );
      let polled: Polled;
      try {
        polled = await pollWithHealth(ctx, `price.${provider.id}`, () => poll(provider, job.signal));
      } catch (error) {
        return pollFailure(outcomeFromError(error), job.attempt, giveUp);
      }
      if (polled.feed.skipped > 0) {
        logger.warn(
          { provider: provider.id, skipped: polled.feed.skipped, problems: polled.feed.problems },
          `price provider ${provider.id}: ${polled.feed.skipped} items could not be normalized and were skipped`,
        );
      }
      const marks = await readMarks(provider.id);
      let batches: Batch[];
      let next: ProviderMarks;
      if (polled.format === 'ticks') {
        const fresh = newTicks(polled.feed.items, marks.ticks);
        batches = tickBatches(provider, fresh.fresh);
        next = { ...marks, ticks: fresh.next };
      } else {
        const fresh = newBars(polled.feed.items, marks.bars);
        batches = barBatches(provider, fresh.fresh);
        next = { ...marks, bars: fresh.next };
      }
      if (batches.length === 0) return outcome.ack();
      const posted = await post(batches, event, job.signal);
      if (posted.kind !== 'ack') return pollFailure(posted, job.attempt, giveUp);
      await ctx.cache.put(MARKS_NAMESPACE, provider.id, next, MARKS_TTL_MS);
      return outcome.ack();
    },
  };

  async function readMarks(provider: string): Promise<ProviderMarks> {
    let stored: unknown;
    try {
      stored = await ctx.cache.get(MARKS_NAMESPACE, provider);
    } catch (error) {
      // unreadable marks only cost a repeated post, which the Price Service counts as duplicates
      logger.warn({ provider, err: errorMessage(error) }, 'price.ingest marks unreadable, starting afresh');
      return { ticks: {}, bars: {} };
    }
    const parsed = marksSchema.safeParse(stored);
    return parsed.success ? parsed.data : { ticks: {}, bars: {} };
  }
}
