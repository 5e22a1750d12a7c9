// translation.translate (seed 003 §2): moves one field from DRAFT to AUTO_TRANSLATED. Skips fields a vendor already
// approved or published, translates with Anthropic (OpenAI as the fallback) with markup protected, scores and flags
// the result, caches it 24 h (so a retry saves the same text under the same key) and saves it through Commerce.
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { ConfigError, PermanentError, errorMessage } from '../../errors.js';
import type { EventEnvelope } from '../../events/envelope.js';
import type { JobContext, JobDefinition } from '../../pipelines/job-definition.js';
import { idempotencyKey } from '../../sinks/idempotency-key.js';
import { CONFLICT_DONE_CODES, conflictMatcher } from '../../sinks/status-mapping.js';
import { outcome, outcomeFromError } from '../../streams/outcome.js';
import type { Outcome } from '../../streams/outcome.js';
import { serviceSinkFor } from '../pack-context.js';
import type { PackContext } from '../pack-context.js';
import { pollWithHealth } from '../provider-health.js';
import {
  TRANSLATION_LOCKED,
  commerceTranslationSave,
  commerceTranslationStatus,
  translationSaveResponse,
  translationStatusResponse,
} from './api.js';
import { TRANSLATION_PROVIDER_ORDER, queueOptionsOf } from './commerce-settings.js';
import type { CommerceSettings } from './commerce-settings.js';
import type { CommerceEventMap } from './events.js';
import { guardedFetcher } from './external-clients.js';
import { CACHE } from './key-conventions.js';
import { COMMERCE_QUEUE_POLICIES, TRANSLATION_TRANSLATE } from './queue-policies.js';
import { protectMarkup, restoreMarkup, scoreTranslation } from './translation-markup.js';
import { translateWith, translationKey } from './translation-providers.js';
import type { TranslationProvider } from './translation-providers.js';

export { TRANSLATION_TRANSLATE };
export const TRANSLATION_PRIORITY = COMMERCE_QUEUE_POLICIES[TRANSLATION_TRANSLATE].priority;

type TranslationRequest = CommerceEventMap['translation.requested'];

/** What `translation:<tenant>:<hash>` holds. */
export const cachedTranslation = z.object({
  text: z.string().min(1),
  provider: z.enum(['anthropic', 'openai']),
  quality: z.number(),
  flags: z.array(z.string()),
});
type CachedTranslation = z.infer<typeof cachedTranslation>;

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

/** Statuses past AUTO_TRANSLATED belong to the vendor: the worker never overwrites them. */
const VENDOR_OWNED = new Set(['VENDOR_APPROVED', 'PUBLISHED']);

export function translationJob(
  context: PackContext,
  settings: CommerceSettings,
): JobDefinition<TranslationRequest> {
  const sink = serviceSinkFor(context, TRANSLATION_TRANSLATE, 'commerce');
  const logger = context.logger.child({ job: TRANSLATION_TRANSLATE });
  const configured = TRANSLATION_PROVIDER_ORDER.filter((p) => translationKey(p, settings) !== undefined);
  if (configured.length === 0) {
    throw new ConfigError(
      `ANTHROPIC_API_KEY, OPENAI_API_KEY: neither is set (job ${TRANSLATION_TRANSLATE} needs one)`,
      'ANTHROPIC_API_KEY',
    );
  }
  const fetcher = guardedFetcher(context, { timeoutMs: settings.TRANSLATION_TIMEOUT_MS });
  // a 409 saying the row moved on to the vendor is as good as done
  const conflict = conflictMatcher({ done: [...CONFLICT_DONE_CODES, TRANSLATION_LOCKED] });

  async function translate(
    data: TranslationRequest,
    preferred: TranslationProvider | undefined,
    signal: AbortSignal,
  ): Promise<CachedTranslation | Outcome> {
    const order =
      preferred === undefined || !configured.includes(preferred)
        ? configured
        : [preferred, ...configured.filter((p) => p !== preferred)];
    const { text, pieces } = protectMarkup(data.content.sourceText);
    const failures: Outcome[] = [];
    for (const provider of order) {
      try {
        await context
          .rateLimiter(
            `translation.${provider}`,
            settings.TRANSLATION_RATE_PER_SECOND,
            settings.TRANSLATION_RATE_BURST,
          )
          .take(1, signal);
        const answer = await pollWithHealth(context, `translation.${provider}`, () =>
          translateWith(
            provider,
            {
              sourceLocale: data.sourceLocale,
              targetLocale: data.targetLocale,
              contentType: data.content.type,
              text,
            },
            { fetcher, settings, signal },
          ),
        );
        const restored = restoreMarkup(answer.text.trim(), pieces);
        const quality = scoreTranslation({
          source: text,
          translated: answer.text,
          restoreFlags: restored.flags,
          truncated: answer.truncated,
        });
        if (quality.flags.includes('empty'))
          throw new PermanentError(`${provider} answered an empty translation`);
        return { text: restored.text, provider, quality: quality.score, flags: [...quality.flags] };
      } catch (error) {
        if (signal.aborted) throw error;
        failures.push(outcomeFromError(error));
        logger.warn(
          { provider, jobId: data.jobId, err: errorMessage(error) },
          `translation provider ${provider} failed`,
        );
      }
    }
    const why = failures.map((f) =>
      f.kind === 'dead' ? (f.error ?? f.reason) : f.kind === 'retry' ? f.reason : '',
    );
    return failures.some((f) => f.kind === 'retry')
      ? outcome.retry(`no translation provider answered: ${why.join('; ')}`)
      : outcome.dead('permanent', `no translation provider answered: ${why.join('; ')}`);
  }

  async function handle(event: EventEnvelope<TranslationRequest>, job: JobContext): Promise<Outcome> {
    const data = event.data;
    const scope = { event, signal: job.signal };
    const sourceHash = sha256(data.content.sourceText);
    const query = new URLSearchParams({
      tenantId: data.tenantId,
      entityId: data.content.entityId,
      fieldName: data.content.fieldName,
      locale: data.targetLocale,
    });
    const state = await sink.call(
      {
        service: 'commerce',
        method: 'GET',
        path: `${commerceTranslationStatus.path}?${query.toString()}`,
        responseSchema: translationStatusResponse,
      },
      scope,
    );
    if (state.outcome.kind !== 'ack' || state.body === undefined) return state.outcome;
    const status = state.body.status;
    if (status !== null && VENDOR_OWNED.has(status)) return outcome.ack();
    if (status === 'AUTO_TRANSLATED' && state.body.sourceHash === sourceHash) return outcome.ack();

    const cacheId = `${data.tenantId}:${sha256(`${data.sourceLocale}\n${data.targetLocale}\n${data.content.sourceText}`).slice(0, 40)}`;
    const cached = cachedTranslation.safeParse(await context.cache.get(CACHE.translation, cacheId));
    let result: CachedTranslation;
    if (cached.success) result = cached.data;
    else {
      const translated = await translate(data, data.provider, job.signal);
      if ('kind' in translated) return translated;
      result = translated;
      // before the save: a retry after a lost answer sends the same body under the same key
      await context.cache.put(CACHE.translation, cacheId, result, settings.TRANSLATION_CACHE_TTL_MS);
    }
    const flaggedForReview =
      result.quality < settings.TRANSLATION_REVIEW_THRESHOLD || result.flags.includes('placeholder_missing');
    return sink.outcomeOf(
      {
        service: 'commerce',
        path: commerceTranslationSave.path,
        body: {
          jobId: data.jobId,
          tenantId: data.tenantId,
          entityId: data.content.entityId,
          fieldName: data.content.fieldName,
          contentType: data.content.type,
          sourceLocale: data.sourceLocale,
          targetLocale: data.targetLocale,
          sourceHash,
          text: result.text,
          status: 'AUTO_TRANSLATED',
          provider: result.provider,
          quality: result.quality,
          flaggedForReview,
          flags: result.flags,
        },
        idempotencyKey: idempotencyKey(commerceTranslationSave.idempotencyKey.scope, data.jobId),
        responseSchema: translationSaveResponse,
        policy: { conflict },
      },
      scope,
    );
  }

  return {
    name: TRANSLATION_TRANSLATE,
    domain: 'commerce',
    types: ['translation.requested'],
    concurrency: 8,
    ...queueOptionsOf(settings, TRANSLATION_TRANSLATE),
    handler: handle,
  };
}
