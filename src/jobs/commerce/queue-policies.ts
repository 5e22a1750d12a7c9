// Seed 003's queue options mapped onto our jobs: its default job options, its retry table (attempts, exponential base,
// max delay) per queue, the 60 s timeout, and each queue's priority (declared for the core's priority lanes).

/** Seed 003 "Default Job Options", as BullMQ had them. */
export const SEED_DEFAULT_JOB_OPTIONS = {
  attempts: 3,
  backoffMs: 10_000,
  /** BullMQ keeps the last 100 completed jobs; here acked entries stay STREAM_MIN_RETENTION_MS for replay. */
  removeOnComplete: 100,
  /** BullMQ keeps the last 500 failed jobs; here the DLQ keeps DLQ_MAX_LEN per partition for DLQ_MAX_AGE_MS. */
  removeOnFail: 500,
  timeoutMs: 60_000,
} as const;

/** One queue of seed 003 as a job: its retry row and priority. */
export interface QueuePolicy {
  /** The seed's queue name (also a PROCESSORS alias). */
  readonly queue: string;
  /** Failures before the DLQ: BullMQ `attempts` counts the first run too, and so does ours. */
  readonly maxAttempts: number;
  /** Exponential base: our first retry waits up to this (full jitter above half of it). */
  readonly baseMs: number;
  /** The seed's "Max Delay"; undefined (a queue outside the table) = the worker's BACKOFF_MAX_MS. */
  readonly maxMs: number | undefined;
  /**
   * 1 = most urgent. Seed 003 only says "Job prioritization for time-sensitive operations" without numbers, so the
   * order is chosen here: what a person waits for (push, email, webhook receivers), then price correctness (fx),
   * then tenant set-up (domains), then catalogue work (translations, product sync), sitemaps last.
   */
  readonly priority: number;
}

export const FX_REFRESH = 'fx.refresh';
export const TRANSLATION_TRANSLATE = 'translation.translate';
export const PRODUCT_SYNC = 'product.sync';
export const SITEMAP_GENERATE = 'sitemap.generate';
export const DOMAIN_VERIFY = 'domain.verify';
export const EMAIL_SEND = 'email.send';
export const NOTIFICATION_SEND = 'notification.send';
export const WEBHOOK_DELIVER = 'webhook.deliver';

export type CommerceQueueJob =
  | typeof FX_REFRESH
  | typeof TRANSLATION_TRANSLATE
  | typeof PRODUCT_SYNC
  | typeof SITEMAP_GENERATE
  | typeof DOMAIN_VERIFY
  | typeof EMAIL_SEND
  | typeof NOTIFICATION_SEND
  | typeof WEBHOOK_DELIVER;

const seedDefault = { maxAttempts: 3, baseMs: 10_000, maxMs: undefined } as const;

/** Seed 003 "Job Retry Policies" (the five rows) and "Default Job Options" (the other three queues). */
export const COMMERCE_QUEUE_POLICIES: Readonly<Record<CommerceQueueJob, QueuePolicy>> = {
  [FX_REFRESH]: { queue: 'fx-refresh', maxAttempts: 3, baseMs: 5_000, maxMs: 60_000, priority: 4 },
  [TRANSLATION_TRANSLATE]: {
    queue: 'translation',
    maxAttempts: 3,
    baseMs: 10_000,
    maxMs: 300_000,
    priority: 6,
  },
  [PRODUCT_SYNC]: { queue: 'product-sync', maxAttempts: 5, baseMs: 30_000, maxMs: 600_000, priority: 7 },
  [SITEMAP_GENERATE]: {
    queue: 'sitemap-generation',
    maxAttempts: 3,
    baseMs: 60_000,
    maxMs: 600_000,
    priority: 9,
  },
  [DOMAIN_VERIFY]: {
    queue: 'domain-verification',
    maxAttempts: 10,
    baseMs: 60_000,
    maxMs: 3_600_000,
    priority: 5,
  },
  [EMAIL_SEND]: { queue: 'email', ...seedDefault, priority: 2 },
  [NOTIFICATION_SEND]: { queue: 'notification', ...seedDefault, priority: 1 },
  [WEBHOOK_DELIVER]: { queue: 'webhook-delivery', ...seedDefault, priority: 3 },
};

/** A job's `retry` from its row, with the overrides of COMMERCE_QUEUE_OPTIONS (tests, operators). */
export function retryOf(
  policy: QueuePolicy,
  override: { readonly maxAttempts?: number; readonly baseMs?: number; readonly maxMs?: number } = {},
): { maxAttempts: number; backoff: { baseMs: number; maxMs?: number } } {
  const maxMs = override.maxMs ?? policy.maxMs;
  return {
    maxAttempts: override.maxAttempts ?? policy.maxAttempts,
    backoff: { baseMs: override.baseMs ?? policy.baseMs, ...(maxMs === undefined ? {} : { maxMs }) },
  };
}
