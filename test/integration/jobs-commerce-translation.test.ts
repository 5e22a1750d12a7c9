// translation.translate in a worker: DRAFT -> AUTO_TRANSLATED with markup kept, vendor-owned rows left alone, the
// OpenAI fallback when Anthropic fails, low-quality answers flagged for review, one LLM call per text across retries
// (the 24 h cache), and a row locked by a vendor meanwhile acked.
import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { idempotencyKey } from '../../src/sinks/idempotency-key.js';
import { useCommerceWorker } from '../support/commerce-worker.js';
import { commerceEvent } from '../support/mock-commerce.js';

const cw = useCommerceWorker({ url: import.meta.url, env: { ENABLE_TRANSLATION: 'true' } });
const { start } = cw;
const JOB = 'translation.translate';
const SAVE = 'POST /internal/v1/commerce/translations';
const ANTHROPIC = 'POST /anthropic/v1/messages';
const OPENAI = 'POST /openai/v1/chat/completions';

function translation(jobId: string, sourceText: string, extra: object = {}) {
  return commerceEvent('translation.requested', jobId, {
    jobId,
    tenantId: 'tenant-1',
    sourceLocale: 'en',
    targetLocale: 'de',
    content: { type: 'product_description', entityId: `prod-${jobId}`, fieldName: 'description', sourceText },
    ...extra,
  });
}

const rowOf = (jobId: string) => cw.commerce.translations.get(`tenant-1|prod-${jobId}|description|de`);

describe('translation.translate', () => {
  it('translates with markup protected and restored, saves AUTO_TRANSLATED with its score and key', async () => {
    const w = await start();
    expect(w.worker.jobs).toEqual([JOB]);
    const source = '<p>Soft <b>cotton</b> shirt, see https://shop.example/care and {{size}} guide.</p>';
    const event = translation('tr-1', source);
    await w.publish(event);
    await w.waitOutcome((o) => o.eventId === event.id && o.kind === 'ack', 'the translation');
    const [call] = cw.external.requestsTo(ANTHROPIC);
    const sent = call?.body as { system: string; messages: { content: string }[]; model: string };
    // the model never sees the markup, only tokens
    expect(sent.messages[0]?.content).toBe('⟦0⟧Soft ⟦1⟧cotton⟦2⟧ shirt, see ⟦3⟧ and ⟦4⟧ guide.⟦5⟧');
    expect(sent.system).toContain('from en to de');
    expect(sent.model).toBe('claude-sonnet-4-5');
    const row = rowOf('tr-1');
    expect(row?.status).toBe('AUTO_TRANSLATED');
    expect(row?.text).toBe(`[de] ${source}`);
    expect(row?.body).toMatchObject({
      status: 'AUTO_TRANSLATED',
      provider: 'anthropic',
      quality: 1,
      flaggedForReview: false,
      sourceHash: createHash('sha256').update(source).digest('hex'),
    });
    expect(cw.commerce.requestsTo(SAVE)[0]?.headers['idempotency-key']).toBe(
      idempotencyKey('translation', 'tr-1'),
    );

    // the same source again: already AUTO_TRANSLATED from it, nothing to do
    const again = translation('tr-1', source);
    await w.publish(again);
    await w.waitOutcome((o) => o.eventId === again.id && o.kind === 'ack', 'the repeat');
    expect(cw.external.requestsTo(ANTHROPIC)).toHaveLength(1);
    expect(cw.commerce.requestsTo(SAVE)).toHaveLength(1);
  });

  it('leaves vendor-approved and published texts alone and acks a row a vendor locked meanwhile', async () => {
    cw.commerce.translations.set('tenant-1|prod-tr-approved|description|de', {
      status: 'VENDOR_APPROVED',
      sourceHash: null,
    });
    const w = await start();
    const approved = translation('tr-approved', 'A vendor wrote this one.');
    await w.publish(approved);
    await w.waitOutcome((o) => o.eventId === approved.id && o.kind === 'ack', 'the approved row');
    expect(cw.external.requestsTo(ANTHROPIC)).toHaveLength(0);

    cw.commerce.script(SAVE, [
      { status: 409, body: { error: { code: 'TRANSLATION_LOCKED', message: 'approved' } } },
    ]);
    const locked = translation('tr-locked', 'Approved while we translated.');
    await w.publish(locked);
    await w.waitOutcome((o) => o.eventId === locked.id && o.kind === 'ack', 'the locked row');
    expect(
      w
        .outcomesOf(JOB)
        .filter((o) => o.eventId === locked.id)
        .map((o) => o.kind),
    ).toEqual(['ack']);
  });

  it('falls back to OpenAI when Anthropic fails, and calls no model again when only the save is retried', async () => {
    cw.external.script(ANTHROPIC, [
      { status: 529, body: { type: 'error', error: { type: 'overloaded_error' } } },
    ]);
    cw.commerce.script(SAVE, [{ status: 503, body: { error: { code: 'UNAVAILABLE', message: 'down' } } }]);
    const w = await start();
    const event = translation('tr-fallback', 'Warm wool socks for cold winter days.');
    await w.publish(event);
    await w.waitOutcome((o) => o.eventId === event.id && o.kind === 'ack', 'the translation');
    expect(w.outcomesOf(JOB).map((o) => o.kind)).toEqual(['retry', 'ack']);
    expect(cw.external.requestsTo(ANTHROPIC)).toHaveLength(1);
    expect(cw.external.requestsTo(OPENAI)).toHaveLength(1);
    expect(cw.external.requestsTo(OPENAI)[0]?.headers.authorization).toMatch(/^Bearer /);
    const [failed, saved] = cw.commerce.requestsTo(SAVE);
    expect(saved?.text).toBe(failed?.text);
    expect(rowOf('tr-fallback')?.body).toMatchObject({
      provider: 'openai',
      text: '[de] Warm wool socks for cold winter days.',
    });
    expect(w.polls).toContainEqual({ provider: 'translation.anthropic', up: false });
    expect(w.polls).toContainEqual({ provider: 'translation.openai', up: true });
  });

  it('flags a translation that lost its markup or echoed the source for review', async () => {
    // a careless model: drops the tokens
    cw.external.translator = (text) => text.replace(/⟦\d+⟧/g, '');
    const w = await start({ TRANSLATION_REVIEW_THRESHOLD: '0.8' });
    const event = translation(
      'tr-flag',
      '<p>Linen trousers with <a href="/fit">a relaxed fit</a> for summer.</p>',
    );
    await w.publish(event);
    await w.waitOutcome((o) => o.eventId === event.id && o.kind === 'ack', 'the translation');
    const body = rowOf('tr-flag')?.body as {
      flaggedForReview: boolean;
      quality: number;
      flags: string[];
      text: string;
    };
    expect(body.flaggedForReview).toBe(true);
    expect(body.flags).toContain('placeholder_missing');
    expect(body.flags).toContain('untranslated');
    expect(body.quality).toBeLessThan(0.8);
    // the dropped markup is kept (appended), never lost
    expect(body.text).toContain('<a href="/fit">');
  });

  it('dead-letters when every provider refuses the request', async () => {
    const w = await start({ ANTHROPIC_API_KEY: 'wrong', OPENAI_API_KEY: 'wrong' });
    const event = translation('tr-refused', 'Nobody will translate this.');
    await w.publish(event);
    const dead = await w.waitOutcome((o) => o.eventId === event.id, 'the refused translation');
    expect(dead).toMatchObject({ kind: 'dead', reason: 'permanent' });
    expect(cw.commerce.requestsTo(SAVE)).toHaveLength(0);
  });
});
