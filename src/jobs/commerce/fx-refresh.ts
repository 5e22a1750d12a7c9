// fx.refresh (seed 003 §1): rates of one base currency from the primary provider, or the fallbacks in order when it
// fails or is rate limited (cooled down per provider), under each provider's shared rate limit; a durable snapshot
// through Commerce's internal API, then the Redis cache `fx:<base>` with a 1 h TTL.
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { ConfigError, PermanentError, TransientError, errorMessage } from '../../errors.js';
import type { EventEnvelope } from '../../events/envelope.js';
import type { JobContext, JobDefinition } from '../../pipelines/job-definition.js';
import { idempotencyKey } from '../../sinks/idempotency-key.js';
import { outcome, outcomeFromError } from '../../streams/outcome.js';
import type { Outcome } from '../../streams/outcome.js';
import { serviceSinkFor } from '../pack-context.js';
import type { PackContext } from '../pack-context.js';
import { pollWithHealth } from '../provider-health.js';
import { commerceFxSnapshot, fxSnapshotResponse } from './api.js';
import { queueOptionsOf } from './commerce-settings.js';
import type { CommerceSettings } from './commerce-settings.js';
import type { CommerceEventMap } from './events.js';
import {
  FxRateLimitedError,
  crossRates,
  fxProviderUrl,
  parseEcb,
  parseFixer,
  parseOpenExchangeRates,
} from './fx-providers.js';
import type { FxProvider, FxQuote } from './fx-providers.js';
import { CACHE } from './key-conventions.js';
import { COMMERCE_QUEUE_POLICIES, FX_REFRESH } from './queue-policies.js';

export { FX_REFRESH };
/** Declared for the core's priority lanes (queue-policies.ts). */
export const FX_REFRESH_PRIORITY = COMMERCE_QUEUE_POLICIES[FX_REFRESH].priority;

type FxRequest = CommerceEventMap['fx.refresh_requested'];

/** What `fx:<base>` holds: the rates readers use, and when the worker stored them. */
export const cachedRates = z.object({
  base: z.string(),
  provider: z.string(),
  asOf: z.string(),
  rates: z.record(z.string(), z.string()),
  storedAt: z.number(),
});
export type CachedRates = z.infer<typeof cachedRates>;

const cachedQuote = z.object({
  provider: z.enum(['openexchangerates', 'fixer', 'ecb']),
  base: z.string(),
  asOf: z.string(),
  rates: z.record(z.string(), z.number()),
});

/** A provider answering 429 without Retry-After is left alone this long. */
const DEFAULT_COOLDOWN_MS = 60_000;

function digestOf(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex');
}

function isRateLimit(error: unknown): error is TransientError {
  return (
    error instanceof FxRateLimitedError ||
    (error instanceof TransientError && / answered 429$/.test(error.message))
  );
}

export function fxRefreshJob(context: PackContext, settings: CommerceSettings): JobDefinition<FxRequest> {
  const sink = serviceSinkFor(context, FX_REFRESH, 'commerce');
  const logger = context.logger.child({ job: FX_REFRESH });
  const configured = settings.FX_PROVIDER_ORDER.filter((p) => fxProviderUrl(p, settings) !== undefined);
  if (configured.length === 0) {
    throw new ConfigError(
      `FX_PROVIDER_ORDER: no provider of ${settings.FX_PROVIDER_ORDER.join(', ')} is usable (expected ` +
        'OPEN_EXCHANGE_RATES_APP_ID for openexchangerates, FIXER_API_KEY for fixer, or ecb)',
      'FX_PROVIDER_ORDER',
    );
  }

  async function fetchQuote(provider: FxProvider, signal: AbortSignal): Promise<FxQuote> {
    const url = fxProviderUrl(provider, settings) as string;
    await context
      .rateLimiter(`fx.${provider}`, settings.FX_RATE_PER_SECOND, settings.FX_RATE_BURST)
      .take(1, signal);
    return pollWithHealth(context, `fx.${provider}`, async () => {
      if (provider === 'ecb') return parseEcb(await context.external().fetchText(url, { signal }));
      const body = await context.external().fetchJson(url, { signal });
      return provider === 'fixer' ? parseFixer(body) : parseOpenExchangeRates(body);
    });
  }

  /** Fetches in flight in this process, so the bases of one tick that start together share one provider call. */
  const inFlight = new Map<FxProvider, Promise<FxQuote>>();

  /** One answer per provider within FX_PROVIDER_REUSE_MS serves every base (a tick asks once per base). */
  async function quoteOf(provider: FxProvider, force: boolean, signal: AbortSignal): Promise<FxQuote> {
    if (!force) {
      const reused = cachedQuote.safeParse(await context.cache.get(CACHE.fxQuote, provider));
      if (reused.success) return reused.data;
      const pending = inFlight.get(provider);
      if (pending !== undefined) return pending;
    }
    const fetching = (async () => {
      const quote = await fetchQuote(provider, signal);
      await context.cache.put(CACHE.fxQuote, provider, quote, settings.FX_PROVIDER_REUSE_MS);
      return quote;
    })();
    inFlight.set(provider, fetching);
    try {
      return await fetching;
    } finally {
      if (inFlight.get(provider) === fetching) inFlight.delete(provider);
    }
  }

  async function coolingDown(provider: FxProvider): Promise<boolean> {
    return (await context.cache.get(CACHE.fxCooldown, provider)) !== undefined;
  }

  async function coolDown(provider: FxProvider, error: TransientError): Promise<void> {
    const ms = Math.max(1000, error.retryAfterMs ?? DEFAULT_COOLDOWN_MS);
    await context.cache.put(CACHE.fxCooldown, provider, { reason: error.message }, ms);
    logger.warn(
      { provider, cooldownMs: ms },
      `fx provider ${provider} is rate limiting, falling back meanwhile`,
    );
  }

  async function refresh(event: EventEnvelope<FxRequest>, job: JobContext): Promise<Outcome> {
    const { baseCurrency: base, targetCurrencies, provider: preferred, forceRefresh = false } = event.data;
    if (!forceRefresh) {
      const cached = cachedRates.safeParse(await context.cache.get(CACHE.fx, base));
      if (cached.success && context.clock.now() - cached.data.storedAt < settings.FX_MIN_REFRESH_MS) {
        return outcome.ack();
      }
    }
    // a request may name any usable provider (ECB needs no key), even one outside FX_PROVIDER_ORDER
    const order =
      preferred === undefined || fxProviderUrl(preferred, settings) === undefined
        ? configured
        : [preferred, ...configured.filter((p) => p !== preferred)];
    const failures: Outcome[] = [];
    let found: { quote: FxQuote; all: Record<string, string> } | undefined;
    for (const provider of order) {
      if (await coolingDown(provider)) {
        failures.push(outcome.retry(`${provider} is cooling down after a rate limit`));
        continue;
      }
      try {
        const quote = await quoteOf(provider, forceRefresh, job.signal);
        const all = crossRates(quote, base);
        if (all === undefined) {
          failures.push(outcome.dead('permanent', `${provider} does not quote ${base}`));
          continue;
        }
        found = { quote, all };
        break;
      } catch (error) {
        if (job.signal.aborted) throw error;
        if (isRateLimit(error)) await coolDown(provider, error);
        failures.push(outcomeFromError(error));
        logger.warn({ provider, base, err: errorMessage(error) }, `fx provider ${provider} failed`);
      }
    }
    if (found === undefined) {
      const reasons = failures.map((f) =>
        f.kind === 'dead' ? (f.error ?? f.reason) : f.kind === 'retry' ? f.reason : f.kind,
      );
      const why = `no fx provider could serve ${base}: ${reasons.join('; ')}`;
      const waits = failures.flatMap((f) =>
        f.kind === 'retry' && f.afterMs !== undefined ? [f.afterMs] : [],
      );
      // any provider that may answer later makes it worth another attempt; only permanent refusals are dead
      if (!failures.some((f) => f.kind === 'retry')) throw new PermanentError(why);
      return outcome.retry(why, waits.length === failures.length ? Math.min(...waits) : undefined);
    }
    const { quote, all } = found;
    const wanted =
      targetCurrencies ??
      (settings.FX_TARGET_CURRENCIES.length > 0 ? settings.FX_TARGET_CURRENCIES : undefined);
    const rates = wanted === undefined ? all : (crossRates(quote, base, wanted) ?? {});
    if (Object.keys(rates).length === 0) {
      return outcome.dead(
        'permanent',
        `${quote.provider} quotes none of ${wanted?.join(', ') ?? ''} for ${base}`,
      );
    }
    const stored = await sink.call(
      {
        service: 'commerce',
        path: commerceFxSnapshot.path,
        body: { baseCurrency: base, provider: quote.provider, asOf: quote.asOf, rates },
        idempotencyKey: idempotencyKey(
          commerceFxSnapshot.idempotencyKey.scope,
          base,
          quote.provider,
          new Date(quote.asOf),
          digestOf(rates),
        ),
        responseSchema: fxSnapshotResponse,
      },
      { event, signal: job.signal },
    );
    if (stored.outcome.kind !== 'ack') return stored.outcome;
    // after the durable snapshot: readers never see rates the database lacks
    const value: CachedRates = {
      base,
      provider: quote.provider,
      asOf: quote.asOf,
      rates: all,
      storedAt: context.clock.now(),
    };
    await context.cache.put(CACHE.fx, base, value, settings.FX_CACHE_TTL_MS);
    return outcome.ack();
  }

  return {
    name: FX_REFRESH,
    domain: 'commerce',
    types: ['fx.refresh_requested'],
    concurrency: 4,
    ...queueOptionsOf(settings, FX_REFRESH),
    handler: refresh,
  };
}
