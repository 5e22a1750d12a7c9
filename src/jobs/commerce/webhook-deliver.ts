// webhook.deliver (seed 003 queue `webhook-delivery`): posts one event to a tenant's endpoint through the SSRF guard
// (no redirects), signed with the endpoint's secret, with the same body and Idempotency-Key on every attempt; per
// endpoint a shared rate limit and a circuit breaker, both of which defer a delivery instead of failing it.
import { createHash } from 'node:crypto';
import type { EventEnvelope } from '../../events/envelope.js';
import type { JobContext, JobDefinition } from '../../pipelines/job-definition.js';
import { idempotencyKey } from '../../sinks/idempotency-key.js';
import { outcome, outcomeFromError } from '../../streams/outcome.js';
import type { Outcome } from '../../streams/outcome.js';
import { serviceSinkFor } from '../pack-context.js';
import type { PackContext } from '../pack-context.js';
import { commerceWebhookEndpoint, webhookEndpointResponse } from './api.js';
import { queueOptionsOf } from './commerce-settings.js';
import type { CommerceSettings } from './commerce-settings.js';
import { admitNow, createEndpointBreakers } from './endpoint-breakers.js';
import type { CommerceEventMap } from './events.js';
import { guardedFetcher } from './external-clients.js';
import { COMMERCE_QUEUE_POLICIES, WEBHOOK_DELIVER } from './queue-policies.js';
import { WEBHOOK_HEADERS, webhookSignature } from './webhook-signature.js';

export { WEBHOOK_DELIVER };
export const WEBHOOK_PRIORITY = COMMERCE_QUEUE_POLICIES[WEBHOOK_DELIVER].priority;

type DeliveryRequest = CommerceEventMap['webhook.delivery_requested'];

/** Receivers answer with a short acknowledgement; a bigger body is not read (and fails the attempt). */
const RESPONSE_MAX_BYTES = 65_536;
const RATE_NAME = /^[A-Za-z0-9_.-]{1,40}$/;

/** The body every attempt sends: identical across attempts (the time is the event's, not the attempt's). */
export function webhookBody(event: EventEnvelope<DeliveryRequest>): string {
  const { deliveryId, eventType, tenantId, payload } = event.data;
  return JSON.stringify({
    id: deliveryId,
    type: eventType,
    createdAt: event.occurredAt,
    tenantId,
    data: payload,
  });
}

/** The endpoint's bucket (`webhook.<endpoint>.<rate>x<burst>`): a changed rate gets a bucket of its own. */
export function webhookRateName(endpointId: string, perSecond: number, burst: number): string {
  const id = RATE_NAME.test(endpointId)
    ? endpointId
    : createHash('sha256').update(endpointId).digest('hex').slice(0, 32);
  return `webhook.${id}.${perSecond}x${burst}`.slice(0, 64);
}

export function webhookDeliverJob(
  context: PackContext,
  settings: CommerceSettings,
): JobDefinition<DeliveryRequest> {
  const sink = serviceSinkFor(context, WEBHOOK_DELIVER, 'commerce');
  const logger = context.logger.child({ job: WEBHOOK_DELIVER });
  // a redirect is a misconfigured endpoint: following a 302 would turn the POST into a GET that "succeeds"
  const fetcher = guardedFetcher(context, {
    timeoutMs: settings.WEBHOOK_TIMEOUT_MS,
    maxRedirects: 0,
    maxBytes: RESPONSE_MAX_BYTES,
  });
  const breakers = createEndpointBreakers({
    failures: settings.WEBHOOK_BREAKER_FAILURES,
    windowMs: settings.WEBHOOK_BREAKER_WINDOW_MS,
    openMs: settings.WEBHOOK_BREAKER_OPEN_MS,
  });

  /** Waits up to WEBHOOK_RATE_WAIT_MS for the endpoint's token; false = none came (the delivery is deferred). */
  async function token(
    name: string,
    perSecond: number,
    burst: number,
    signal: AbortSignal,
  ): Promise<boolean> {
    const limiter = context.rateLimiter(name, perSecond, burst);
    try {
      await limiter.take(1, AbortSignal.any([signal, AbortSignal.timeout(settings.WEBHOOK_RATE_WAIT_MS)]));
      return true;
    } catch (error) {
      if (signal.aborted) throw error;
      return false;
    }
  }

  async function deliver(event: EventEnvelope<DeliveryRequest>, job: JobContext): Promise<Outcome> {
    const data = event.data;
    const query = new URLSearchParams({ endpointId: data.endpointId });
    const found = await sink.call(
      {
        service: 'commerce',
        method: 'GET',
        path: `${commerceWebhookEndpoint.path}?${query.toString()}`,
        responseSchema: webhookEndpointResponse,
      },
      { event, signal: job.signal },
    );
    if (found.outcome.kind !== 'ack' || found.body === undefined) return found.outcome;
    const endpoint = found.body;
    if (endpoint.status === 'disabled') {
      return outcome.dead('endpoint_disabled', `webhook endpoint ${data.endpointId} is disabled`);
    }

    const breaker = breakers.of(data.endpointId);
    const now = context.clock.now();
    const permit = admitNow(breaker);
    if (permit === undefined) {
      const wait = Math.max(breaker.msUntilHalfOpen(), 1000);
      return outcome.defer(now + wait, `endpoint ${data.endpointId} circuit ${breaker.state}`);
    }
    const perSecond = endpoint.ratePerSecond ?? settings.WEBHOOK_RATE_PER_SECOND;
    const burst = endpoint.burst ?? settings.WEBHOOK_RATE_BURST;
    let recorded = false;
    try {
      if (!(await token(webhookRateName(data.endpointId, perSecond, burst), perSecond, burst, job.signal))) {
        return outcome.defer(
          now + Math.max(1000, Math.ceil(1000 / perSecond)),
          `endpoint ${data.endpointId} is over its rate limit`,
        );
      }
      const body = webhookBody(event);
      const timestamp = Math.floor(context.clock.now() / 1000);
      try {
        await fetcher.fetchText(endpoint.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'idempotency-key': idempotencyKey(WEBHOOK_DELIVER, data.deliveryId),
            [WEBHOOK_HEADERS.id]: data.deliveryId,
            [WEBHOOK_HEADERS.event]: data.eventType,
            [WEBHOOK_HEADERS.timestamp]: String(timestamp),
            [WEBHOOK_HEADERS.signature]: webhookSignature(endpoint.secret, timestamp, body),
          },
          body,
          signal: job.signal,
        });
      } catch (error) {
        if (job.signal.aborted) throw error;
        const failed = outcomeFromError(error);
        // only transient failures (5xx, 429, timeouts, resets) say the endpoint is unwell
        breaker.record(permit, failed.kind === 'retry');
        recorded = true;
        if (failed.kind === 'dead') {
          logger.warn(
            { endpointId: data.endpointId, deliveryId: data.deliveryId, reason: failed.error },
            'webhook delivery refused by its endpoint',
          );
        }
        return failed;
      }
      breaker.record(permit, false);
      recorded = true;
      return outcome.ack();
    } finally {
      if (!recorded) breaker.release(permit);
    }
  }

  return {
    name: WEBHOOK_DELIVER,
    domain: 'commerce',
    types: ['webhook.delivery_requested'],
    concurrency: 16,
    ...queueOptionsOf(settings, WEBHOOK_DELIVER),
    // one delivery per endpoint at a time in a consumer (the event key is the endpoint id)
    keyOf: (event) => event.data.endpointId,
    handler: deliver,
    defer: {
      jitterMs: 1000,
      // deferrals (open circuit, rate limit) stop at the delivery's age limit: to the DLQ for an operator
      deadline: (event) =>
        event.repetition === undefined
          ? undefined
          : Date.parse(event.occurredAt) + settings.WEBHOOK_MAX_AGE_MS,
    },
  };
}
