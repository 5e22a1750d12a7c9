// email.send (seed 003 queue `email`): posts each email to the transactional email provider (EMAIL_PROVIDER_URL)
// through the SSRF guard, with an Idempotency-Key per message, under the provider's shared rate limit and a breaker.
import { ConfigError } from '../../errors.js';
import type { JobDefinition } from '../../pipelines/job-definition.js';
import { idempotencyKey } from '../../sinks/idempotency-key.js';
import { outcome, outcomeFromError } from '../../streams/outcome.js';
import type { PackContext } from '../pack-context.js';
import { queueOptionsOf } from './commerce-settings.js';
import type { CommerceSettings } from './commerce-settings.js';
import type { CommerceEventMap } from './events.js';
import { COMMERCE_QUEUE_POLICIES, EMAIL_SEND } from './queue-policies.js';

export { EMAIL_SEND };
export const EMAIL_PRIORITY = COMMERCE_QUEUE_POLICIES[EMAIL_SEND].priority;

type EmailRequest = CommerceEventMap['email.requested'];

/**
 * The provider request (not in the seeds: chosen here, the common shape of template-based email APIs): POST JSON
 * `{ messageId, from?, to, template, locale?, subject?, variables?, tenantId? }`, `Authorization: Bearer <key>`,
 * `Idempotency-Key`; 2xx = accepted, 429/5xx = retry, other 4xx (bad address, unknown template) = DLQ.
 */
export function emailSendJob(context: PackContext, settings: CommerceSettings): JobDefinition<EmailRequest> {
  const url = settings.EMAIL_PROVIDER_URL;
  if (url === undefined) {
    throw new ConfigError(
      `EMAIL_PROVIDER_URL: is not set (job ${EMAIL_SEND} posts emails to it)`,
      'EMAIL_PROVIDER_URL',
    );
  }
  const key = settings.EMAIL_PROVIDER_API_KEY;
  return {
    name: EMAIL_SEND,
    domain: 'commerce',
    types: ['email.requested'],
    concurrency: 16,
    ...queueOptionsOf(settings, EMAIL_SEND),
    // one provider: its limit is taken before entries are read, and a provider outage stops the job pulling
    distributedRateLimit: {
      name: 'email.provider',
      perSecond: settings.EMAIL_RATE_PER_SECOND,
      burst: settings.EMAIL_RATE_BURST,
    },
    circuitBreaker: { failures: 10, windowMs: 60_000, openMs: 30_000 },
    handler: async (event, job) => {
      const data = event.data;
      const body = {
        messageId: data.messageId,
        ...(settings.EMAIL_FROM === undefined ? {} : { from: settings.EMAIL_FROM }),
        to: data.to,
        template: data.template,
        ...(data.locale === undefined ? {} : { locale: data.locale }),
        ...(data.subject === undefined ? {} : { subject: data.subject }),
        ...(data.variables === undefined ? {} : { variables: data.variables }),
        ...(data.tenantId === undefined ? {} : { tenantId: data.tenantId }),
      };
      try {
        await context.external().fetchText(url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'idempotency-key': idempotencyKey(EMAIL_SEND, data.messageId),
            ...(key === undefined ? {} : { authorization: `Bearer ${key}` }),
          },
          body: JSON.stringify(body),
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
