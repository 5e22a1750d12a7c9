// The LLM providers of seed 003 §2 (Anthropic preferred, OpenAI the fallback): one translation request each, in
// their public API shapes (Messages API, Chat Completions), answers read into the text and whether it was cut off.
import { z } from 'zod';
import { PermanentError } from '../../errors.js';
import type { ExternalFetcher } from '../../sinks/external-fetch.js';
import type { CommerceSettings } from './commerce-settings.js';

export type TranslationProvider = 'anthropic' | 'openai';

export interface TranslationCall {
  readonly sourceLocale: string;
  readonly targetLocale: string;
  /** The seed's content type, e.g. product_title: it tells the model the register. */
  readonly contentType: string;
  /** The text with markup already replaced by tokens. */
  readonly text: string;
}

export interface TranslationAnswer {
  readonly text: string;
  /** The model stopped at its token limit. */
  readonly truncated: boolean;
}

/** Largest answer asked for; shop texts are short (the source is at most 20,000 chars). */
const MAX_TOKENS = 8192;
const ANTHROPIC_VERSION = '2023-06-01';

/** Instructions of every call; the user message is the text alone, so nothing in it is taken as an instruction. */
export function translationInstructions(call: TranslationCall): string {
  return (
    `You translate e-commerce ${call.contentType.replaceAll('_', ' ')} text from ${call.sourceLocale} to ` +
    `${call.targetLocale}. Keep every token such as ⟦0⟧ exactly as written, where it belongs in the sentence. ` +
    'Keep line breaks. Answer with the translation only, without quotes or comments.'
  );
}

const anthropicAnswer = z.object({
  content: z.array(z.object({ type: z.string(), text: z.string().optional() })),
  stop_reason: z.string().nullable().optional(),
});

const openaiAnswer = z.object({
  choices: z
    .array(
      z.object({
        message: z.object({ content: z.string().nullable() }),
        finish_reason: z.string().nullable().optional(),
      }),
    )
    .min(1),
});

/** The provider's key, or undefined when it is not configured (it is then left out of the order). */
export function translationKey(
  provider: TranslationProvider,
  settings: CommerceSettings,
): string | undefined {
  return provider === 'anthropic' ? settings.ANTHROPIC_API_KEY : settings.OPENAI_API_KEY;
}

export async function translateWith(
  provider: TranslationProvider,
  call: TranslationCall,
  deps: {
    readonly fetcher: ExternalFetcher;
    readonly settings: CommerceSettings;
    readonly signal: AbortSignal;
  },
): Promise<TranslationAnswer> {
  const { fetcher, settings, signal } = deps;
  const key = translationKey(provider, settings);
  if (key === undefined) throw new PermanentError(`translation provider ${provider} has no API key`);
  const system = translationInstructions(call);
  if (provider === 'anthropic') {
    const answer = await fetcher.fetchJson(settings.TRANSLATION_ANTHROPIC_URL, {
      method: 'POST',
      headers: {
        'x-api-key': key,
        'anthropic-version': ANTHROPIC_VERSION,
        'content-type': 'application/json',
      },
      body: JSON.stringify({
        model: settings.TRANSLATION_ANTHROPIC_MODEL,
        max_tokens: MAX_TOKENS,
        temperature: 0,
        system,
        messages: [{ role: 'user', content: call.text }],
      }),
      signal,
      schema: anthropicAnswer,
    });
    const text = answer.content
      .filter((block) => block.type === 'text')
      .map((block) => block.text ?? '')
      .join('');
    return { text, truncated: answer.stop_reason === 'max_tokens' };
  }
  const answer = await fetcher.fetchJson(settings.TRANSLATION_OPENAI_URL, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      model: settings.TRANSLATION_OPENAI_MODEL,
      max_tokens: MAX_TOKENS,
      temperature: 0,
      messages: [
        { role: 'system', content: system },
        { role: 'user', content: call.text },
      ],
    }),
    signal,
    schema: openaiAnswer,
  });
  const choice = answer.choices[0];
  return { text: choice?.message.content ?? '', truncated: choice?.finish_reason === 'length' };
}
