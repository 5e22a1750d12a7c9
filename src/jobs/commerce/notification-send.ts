// notification.send (seed 003 queue `notification`): posts each push notification to the push provider
// (NOTIFICATION_PROVIDER_URL) through the SSRF guard, with an Idempotency-Key per notification, under the provider's
// shared rate limit and a breaker.
import { ConfigError } from '../../errors.js';
import type { JobDefinition } from '../../pipelines/job-definition.js';
import { idempotencyKey } from '../../sinks/idempotency-key.js';
import { outcome, outcomeFromError } from '../../streams/outcome.js';
import type { PackContext } from '../pack-context.js';
import { queueOptionsOf } from './commerce-settings.js';
import type { CommerceSettings } from './commerce-settings.js';
import type { CommerceEventMap } from './events.js';
import { COMMERCE_QUEUE_POLICIES, NOTIFICATION_SEND } from './queue-policies.js';

export { NOTIFICATION_SEND };
export const NOTIFICATION_PRIORITY = COMMERCE_QUEUE_POLICIES[NOTIFICATION_SEND].priority;

type NotificationRequest = CommerceEventMap['notification.requested'];

/**
 * The provider request (not in the seeds: chosen here; push services that address users by an external id):
 * POST JSON `{ notificationId, tenantId, userId, title, body, data? }`, `Authorization: Bearer <key>`,
 * `Idempotency-Key`; 2xx = accepted, 429/5xx = retry, other 4xx (unknown user) = DLQ.
 */
export function notificationSendJob(
  context: PackContext,
  settings: CommerceSettings,
): JobDefinition<NotificationRequest> {
  const url = settings.NOTIFICATION_PROVIDER_URL;
  if (url === undefined) {
    throw new ConfigError(
      `NOTIFICATION_PROVIDER_URL: is not set (job ${NOTIFICATION_SEND} posts notifications to it)`,
      'NOTIFICATION_PROVIDER_URL',
    );
  }
  const key = settings.NOTIFICATION_PROVIDER_API_KEY;
  return {
    name: NOTIFICATION_SEND,
    domain: 'commerce',
    types: ['notification.requested'],
    concurrency: 16,
    ...queueOptionsOf(settings, NOTIFICATION_SEND),
    distributedRateLimit: {
      name: 'notification.provider',
      perSecond: settings.NOTIFICATION_RATE_PER_SECOND,
      burst: settings.NOTIFICATION_RATE_BURST,
    },
    circuitBreaker: { failures: 10, windowMs: 60_000, openMs: 30_000 },
    handler: async (event, job) => {
      const { notificationId, tenantId, userId, title, body, data } = event.data;
      try {
        await context.external().fetchText(url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'idempotency-key': idempotencyKey(NOTIFICATION_SEND, notificationId),
            ...(key === undefined ? {} : { authorization: `Bearer ${key}` }),
          },
          body: JSON.stringify({
            notificationId,
            tenantId,
            userId,
            title,
            body,
            ...(data === undefined ? {} : { data }),
          }),
          signal: job.signal,
        });
        return outcome.ack();
      } catch (error) {
        if (job.signal.aborted) throw error;
        return outcomeFromError(error);
      }
    },
  };
}
