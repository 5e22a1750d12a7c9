// Webhook signatures: HMAC-SHA256 with the endpoint's secret over `<timestamp>.<body>` (the seed names no scheme;
// chosen here, as Stripe and Standard Webhooks do), sent as `X-Webhook-Signature: v1=<hex>` beside the timestamp.
import { createHmac, timingSafeEqual } from 'node:crypto';

/** Headers of every delivery (not in the seeds: chosen here). */
export const WEBHOOK_HEADERS = {
  id: 'x-webhook-id',
  event: 'x-webhook-event',
  /** Unix seconds of this attempt: receivers reject stale ones, so a late retry is still accepted. */
  timestamp: 'x-webhook-timestamp',
  signature: 'x-webhook-signature',
} as const;

/** Receivers should refuse timestamps further than this from their clock (replay window). */
export const WEBHOOK_TOLERANCE_SECONDS = 300;

export function webhookSignature(secret: string, timestampSeconds: number, body: string): string {
  const mac = createHmac('sha256', secret).update(`${timestampSeconds}.${body}`).digest('hex');
  return `v1=${mac}`;
}

/**
 * What a receiver does: recompute and compare in constant time, any of the `v1=` values (several during a secret
 * rotation), and refuse a timestamp outside the tolerance.
 */
export function verifyWebhookSignature(input: {
  readonly secret: string;
  readonly header: string;
  readonly timestamp: string;
  readonly body: string;
  readonly nowSeconds: number;
  readonly toleranceSeconds?: number;
}): boolean {
  if (!/^\d{1,12}$/.test(input.timestamp)) return false;
  const seconds = Number(input.timestamp);
  if (Math.abs(input.nowSeconds - seconds) > (input.toleranceSeconds ?? WEBHOOK_TOLERANCE_SECONDS))
    return false;
  const expected = Buffer.from(webhookSignature(input.secret, seconds, input.body));
  return input.header
    .split(/[,\s]+/)
    .filter((part) => part.startsWith('v1='))
    .some((part) => {
      const given = Buffer.from(part);
      return given.length === expected.length && timingSafeEqual(given, expected);
    });
}
