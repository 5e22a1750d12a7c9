// Markup protection for translations: pieces that must not be translated become tokens and come back; the score.
import { describe, expect, it } from 'vitest';
import {
  protectMarkup,
  restoreMarkup,
  scoreTranslation,
} from '../../src/jobs/commerce/translation-markup.js';
import { translationInstructions } from '../../src/jobs/commerce/translation-providers.js';

describe('translation markup', () => {
  it('protects HTML, entities, code, URLs, link targets and placeholders', () => {
    const source =
      '<p>Use `npm i` &amp; see [the guide](https://x.example/g) or https://y.example/a?b=1. Hi {name}, {{count}} left, %s!</p>\n```\n<b>raw</b>\n```';
    const { text, pieces } = protectMarkup(source);
    expect(text).toBe('⟦0⟧Use ⟦1⟧ ⟦2⟧ see [the guide⟦3⟧ or ⟦4⟧. Hi ⟦5⟧, ⟦6⟧ left, ⟦7⟧!⟦8⟧\n⟦9⟧');
    expect(pieces).toEqual([
      '<p>',
      '`npm i`',
      '&amp;',
      '](https://x.example/g)',
      'https://y.example/a?b=1',
      '{name}',
      '{{count}}',
      '%s',
      '</p>',
      '```\n<b>raw</b>\n```',
    ]);
    expect(restoreMarkup(text, pieces)).toEqual({ text: source, flags: [] });
  });

  it('restores reordered tokens, appends dropped ones and flags what the model broke', () => {
    const { pieces } = protectMarkup('<b>a</b> <i>b</i>');
    expect(restoreMarkup('⟦2⟧B⟦3⟧ ⟦0⟧A⟦1⟧', pieces)).toEqual({ text: '<i>B</i> <b>A</b>', flags: [] });
    expect(restoreMarkup('⟦0⟧A⟦1⟧ B', pieces)).toEqual({
      text: '<b>A</b> B<i></i>',
      flags: ['placeholder_missing'],
    });
    expect([...restoreMarkup('⟦0⟧⟦0⟧A⟦1⟧⟦2⟧B⟦3⟧⟦9⟧', pieces).flags].sort()).toEqual([
      'placeholder_duplicated',
      'placeholder_unknown',
    ]);
  });

  it('scores a translation: placeholders, length, echoed source, truncation, emptiness', () => {
    const source = '⟦0⟧A comfortable cotton shirt for every day.⟦1⟧';
    expect(
      scoreTranslation({
        source,
        translated: '⟦0⟧Ein bequemes Baumwollhemd für jeden Tag.⟦1⟧',
        restoreFlags: [],
        truncated: false,
      }),
    ).toEqual({ score: 1, flags: [] });
    expect(
      scoreTranslation({
        source,
        translated: source.replace('⟦0⟧', ''),
        restoreFlags: ['placeholder_missing'],
        truncated: false,
      }),
    ).toEqual({
      score: 0.1,
      flags: ['placeholder_missing', 'untranslated'],
    });
    expect(scoreTranslation({ source, translated: 'Hemd', restoreFlags: [], truncated: true })).toEqual({
      score: 0.2,
      flags: ['length_ratio', 'truncated'],
    });
    expect(scoreTranslation({ source, translated: '⟦0⟧⟦1⟧', restoreFlags: [], truncated: false })).toEqual({
      score: 0,
      flags: ['empty'],
    });
  });

  it('tells the model the locales, the register and to keep the tokens', () => {
    expect(
      translationInstructions({
        sourceLocale: 'en',
        targetLocale: 'fr-CA',
        contentType: 'product_title',
        text: 'x',
      }),
    ).toBe(
      'You translate e-commerce product title text from en to fr-CA. Keep every token such as ⟦0⟧ exactly as ' +
        'written, where it belongs in the sentence. Keep line breaks. Answer with the translation only, without ' +
        'quotes or comments.',
    );
  });
});
