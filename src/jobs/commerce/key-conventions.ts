// Seed 003's Redis key conventions (`{category}:{tenant?}:{entity}:{identifier}`) mapped onto our key builder: every
// commerce value lives in a cache namespace (`<prefix>:cache:<namespace>:<id>`), locks and counters in core keys.

/** Cache namespaces of the commerce jobs (src/streams/keys.ts `cache(namespace, id)`). */
export const CACHE = {
  /** Seed `fx:` (1 h): rates per base currency, `<prefix>:cache:fx:<BASE>`. */
  fx: 'fx',
  /** One provider answer, reused by every base within FX_PROVIDER_REUSE_MS: `<prefix>:cache:fx.quote:<provider>`. */
  fxQuote: 'fx.quote',
  /** A provider that rate limited us, until its Retry-After: `<prefix>:cache:fx.cooldown:<provider>`. */
  fxCooldown: 'fx.cooldown',
  /** Seed `translation:` (24 h): `<prefix>:cache:translation:<tenant>:<hash of locales and text>`. */
  translation: 'translation',
  /** Seed `sitemap:` (24 h): the last generation's files per tenant, `<prefix>:cache:sitemap:<tenant>`. */
  sitemap: 'sitemap',
  /** Seed `domain:` (5 min): the last check of a domain, `<prefix>:cache:domain:<domainId>`. */
  domain: 'domain',
} as const;

/** The seed's categories and where each went (documentation for operators; the README table is built from it). */
export const SEED_KEY_MAPPING: readonly {
  readonly seed: string;
  readonly ours: string;
  readonly ttl: string;
}[] = [
  { seed: 'fx:{base}', ours: 'cache:fx:{base}', ttl: 'FX_CACHE_TTL_MS (1 h)' },
  { seed: 'tenant:{tenant}', ours: 'not kept by the workers (Commerce reads tenant config)', ttl: '-' },
  {
    seed: 'translation:{tenant}:...',
    ours: 'cache:translation:{tenant}:{sha256(locales, text)}',
    ttl: 'TRANSLATION_CACHE_TTL_MS (24 h)',
  },
  { seed: 'product:{tenant}:...', ours: 'not kept by the workers (Commerce owns the catalogue)', ttl: '-' },
  {
    seed: 'lock:{resource}',
    ours: 'no lock keys: keyed concurrency per event key, {schedule}:lock for cron overlap, consumer groups',
    ttl: 'SCHEDULER_LOCK_TTL_MS',
  },
  {
    seed: 'idempotency:webhook:{source}:{id}',
    ours: 'group dedupe buckets ({partition}:seen:{group}:{bucket}) + Idempotency-Key at the receiver',
    ttl: 'DEDUPE_WINDOW_MS',
  },
  {
    seed: 'ratelimit:{name}',
    ours: '{ratelimit:fx.<provider>|translation.<provider>|webhook.<endpoint>}',
    ttl: 'bucket',
  },
  { seed: 'sitemap:{tenant}', ours: 'cache:sitemap:{tenant}', ttl: 'SITEMAP_CACHE_TTL_MS (24 h)' },
  { seed: 'domain:{domain}', ours: 'cache:domain:{domainId}', ttl: '5 min' },
];

/** Seed `domain:` TTL. */
export const DOMAIN_CHECK_TTL_MS = 300_000;
