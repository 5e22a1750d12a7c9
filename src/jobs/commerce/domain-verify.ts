// domain.verify (seed 003 §5): checks a pending custom domain by its method every DOMAIN_VERIFICATION_EVERY_MS (a
// deferral per domain, not a scan) until the token shows (verified) or the window ends (a last check, then failed);
// the status goes to Commerce and, when someone is to be told, a notification.requested is published.
import { createHash } from 'node:crypto';
import type { EventEnvelope } from '../../events/envelope.js';
import type { JobContext, JobDefinition } from '../../pipelines/job-definition.js';
import { idempotencyKey } from '../../sinks/idempotency-key.js';
import { outcome } from '../../streams/outcome.js';
import type { Outcome } from '../../streams/outcome.js';
import { derivedEventId } from '../due-sweeper.js';
import { serviceSinkFor } from '../pack-context.js';
import type { PackContext } from '../pack-context.js';
import { commerceDomainStatus, domainStatusResponse } from './api.js';
import { queueOptionsOf } from './commerce-settings.js';
import type { CommerceSettings } from './commerce-settings.js';
import { checkDomain, systemDnsResolver } from './domain-checks.js';
import type { CheckResult, DnsResolver, DomainCheckSettings } from './domain-checks.js';
import type { CommerceEventMap } from './events.js';
import { CACHE, DOMAIN_CHECK_TTL_MS } from './key-conventions.js';
import { COMMERCE_QUEUE_POLICIES, DOMAIN_VERIFY } from './queue-policies.js';

export { DOMAIN_VERIFY };
export const DOMAIN_VERIFY_PRIORITY = COMMERCE_QUEUE_POLICIES[DOMAIN_VERIFY].priority;

type DomainRequest = CommerceEventMap['domain.verification_requested'];
type Notification = CommerceEventMap['notification.requested'];

export interface DomainVerifyDeps {
  /** DNS for the dns_txt and dns_cname methods; default the system resolver. */
  readonly resolver?: DnsResolver;
}

const digestOf = (value: unknown): string => createHash('sha256').update(JSON.stringify(value)).digest('hex');

export function domainVerifyJob(
  context: PackContext,
  settings: CommerceSettings,
  deps: DomainVerifyDeps = {},
): JobDefinition<DomainRequest> {
  const sink = serviceSinkFor(context, DOMAIN_VERIFY, 'commerce');
  const resolver = deps.resolver ?? systemDnsResolver();
  const checks: DomainCheckSettings = {
    txtPrefix: settings.DOMAIN_VERIFICATION_TXT_PREFIX,
    cnameTarget: settings.DOMAIN_VERIFICATION_CNAME_TARGET,
    fileUrl: settings.DOMAIN_VERIFICATION_FILE_URL,
    homeUrl: settings.DOMAIN_VERIFICATION_HOME_URL,
    metaName: settings.DOMAIN_VERIFICATION_META_NAME,
  };

  async function check(data: DomainRequest, signal: AbortSignal): Promise<CheckResult> {
    const result = await checkDomain(data, checks, { resolver, fetcher: context.external(), signal });
    // seed `domain:` (5 min): the last check, for Commerce's "pending: TXT record not found yet"
    await context.cache.put(
      CACHE.domain,
      data.domainId,
      { method: data.method, checkedAt: new Date(context.clock.now()).toISOString(), ...result },
      DOMAIN_CHECK_TTL_MS,
    );
    return result;
  }

  function notification(data: DomainRequest, status: 'verified' | 'failed', reason?: string): EventEnvelope {
    const identity = [data.domainId, data.token, status];
    const payload: Notification = {
      notificationId: `domain_${digestOf(identity).slice(0, 32)}`,
      tenantId: data.tenantId,
      userId: data.notifyUserId ?? '',
      title: status === 'verified' ? 'Domain verified' : 'Domain verification failed',
      body:
        status === 'verified'
          ? `${data.domain} is verified and ready to use.`
          : `${data.domain} could not be verified: ${reason ?? 'the token was not found'}`.slice(0, 2000),
      data: { domainId: data.domainId, domain: data.domain, status },
    };
    return {
      id: derivedEventId(Date.parse(data.requestedAt), 'notification.requested', ...identity),
      type: 'notification.requested',
      key: payload.notificationId,
      occurredAt: new Date(context.clock.now()).toISOString(),
      source: context.config.service.id,
      schemaVersion: 1,
      data: payload,
    };
  }

  async function settle(
    event: EventEnvelope<DomainRequest>,
    status: 'verified' | 'failed',
    reason: string | undefined,
    signal: AbortSignal,
  ): Promise<Outcome> {
    const data = event.data;
    const body = {
      domainId: data.domainId,
      tenantId: data.tenantId,
      domain: data.domain,
      method: data.method,
      status,
      ...(reason === undefined ? {} : { reason: reason.slice(0, 500) }),
    };
    const stored = await sink.call(
      {
        service: 'commerce',
        path: commerceDomainStatus.path,
        body,
        // the finding of a failed check may differ between attempts: its digest keeps one key per body
        idempotencyKey: idempotencyKey(
          commerceDomainStatus.idempotencyKey.scope,
          data.domainId,
          data.token,
          status,
          digestOf(body),
        ),
        responseSchema: domainStatusResponse,
      },
      { event, signal },
    );
    if (stored.outcome.kind !== 'ack') return stored.outcome;
    // seed 003 §5 "Send notification on success/failure"; its id is derived, so a retry publishes it once
    if (data.notifyUserId !== undefined) await context.publisher.publish(notification(data, status, reason));
    return outcome.ack();
  }

  async function verify(event: EventEnvelope<DomainRequest>, job: JobContext): Promise<Outcome> {
    const result = await check(event.data, job.signal);
    if (result.verified) return settle(event, 'verified', undefined, job.signal);
    return outcome.later(`${event.data.domain} not verified yet: ${result.finding}`);
  }

  return {
    name: DOMAIN_VERIFY,
    domain: 'commerce',
    types: ['domain.verification_requested'],
    concurrency: 8,
    ...queueOptionsOf(settings, DOMAIN_VERIFY),
    handler: verify,
    defer: {
      everyMs: settings.DOMAIN_VERIFICATION_EVERY_MS,
      jitterMs: Math.min(30_000, Math.floor(settings.DOMAIN_VERIFICATION_EVERY_MS / 10)),
      // the first check always runs, however late; the re-checks stop at the end of the window
      deadline: (event) =>
        event.repetition === undefined
          ? undefined
          : Date.parse(event.data.requestedAt) + settings.DOMAIN_VERIFICATION_WINDOW_MS,
      // one last look, so a record that appeared since the previous check still counts
      onTimeout: async (event, _cause, signal) => {
        const result = await check(event.data, signal);
        return result.verified
          ? settle(event, 'verified', undefined, signal)
          : settle(event, 'failed', result.finding, signal);
      },
    },
  };
}
