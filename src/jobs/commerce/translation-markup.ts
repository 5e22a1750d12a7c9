// Seed 003 §2 "Preserve HTML/markdown formatting" and "Quality scoring and review flagging": markup, code, URLs and
// template placeholders become numbered tokens the model must keep; the answer is checked and restored, then scored.

/** What replaces the i-th protected piece: brackets no shop text uses, which models keep verbatim. */
export const token = (index: number): string => `⟦${index}⟧`;
const TOKEN = /⟦(\d+)⟧/g;

/** Pieces never translated, longest constructs first (a code block may contain tags). */
const PROTECTED = new RegExp(
  [
    '```[\\s\\S]*?```', // fenced code
    '`[^`\\n]+`', // inline code
    '<!--[\\s\\S]*?-->', // HTML comments
    '<[A-Za-z/!][^<>]*>', // HTML tags
    '&(?:#\\d+|#x[0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);', // entities
    '\\]\\([^)\\s]+\\)', // markdown link targets: the text stays translatable
    '\\bhttps?://[^\\s<>"\')\\]]*[^\\s<>"\')\\].,;:!?]', // bare URLs, without a sentence's final stop
    '\\{\\{[^{}]*\\}\\}', // {{ placeholders }}
    '\\{[A-Za-z_][A-Za-z0-9_.]*\\}', // {placeholders}
    '%(?:\\d+\\$)?[sd]', // printf placeholders
  ].join('|'),
  'g',
);

export interface ProtectedText {
  /** The text with tokens in place of the protected pieces. */
  readonly text: string;
  readonly pieces: readonly string[];
}

export function protectMarkup(source: string): ProtectedText {
  const pieces: string[] = [];
  const text = source.replace(PROTECTED, (piece) => {
    pieces.push(piece);
    return token(pieces.length - 1);
  });
  return { text, pieces };
}

export interface RestoredText {
  readonly text: string;
  /** `placeholder_missing`, `placeholder_duplicated`, `placeholder_unknown` when the model did not keep them. */
  readonly flags: readonly string[];
}

/** Puts the pieces back; a piece the model dropped is appended so no markup or link is lost (and the text flagged). */
export function restoreMarkup(translated: string, pieces: readonly string[]): RestoredText {
  const flags = new Set<string>();
  const seen = new Map<number, number>();
  let text = translated.replace(TOKEN, (_match, digits: string) => {
    const index = Number(digits);
    const piece = pieces[index];
    if (piece === undefined) {
      flags.add('placeholder_unknown');
      return '';
    }
    seen.set(index, (seen.get(index) ?? 0) + 1);
    return piece;
  });
  const missing = pieces.filter((_piece, index) => !seen.has(index));
  if (missing.length > 0) {
    flags.add('placeholder_missing');
    text = `${text}${missing.join('')}`;
  }
  if ([...seen.values()].some((count) => count > 1)) flags.add('placeholder_duplicated');
  return { text, flags: [...flags] };
}

export interface TranslationQuality {
  /** 0-1, two decimals. */
  readonly score: number;
  readonly flags: readonly string[];
}

const LETTERS = /\p{L}/gu;

/** Text without tokens, whitespace collapsed, lower case: what "the same words" means. */
function plain(text: string): string {
  return text.replace(TOKEN, ' ').replace(/\s+/g, ' ').trim().toLowerCase();
}

function letters(text: string): number {
  return text.replace(TOKEN, '').match(LETTERS)?.length ?? 0;
}

/**
 * A heuristic score of the model's answer against the text it was given (both with tokens): kept placeholders, a plausible length ratio (letters, tokens excluded), not the source echoed
 * back, not cut off. Chosen here; the seed only says "quality scoring".
 */
export function scoreTranslation(input: {
  readonly source: string;
  readonly translated: string;
  readonly restoreFlags: readonly string[];
  readonly truncated: boolean;
}): TranslationQuality {
  const flags = [...input.restoreFlags];
  let score = 1;
  if (flags.includes('placeholder_missing')) score -= 0.5;
  if (flags.includes('placeholder_duplicated') || flags.includes('placeholder_unknown')) score -= 0.2;
  const before = letters(input.source);
  const after = letters(input.translated);
  if (after === 0 && before > 0) {
    flags.push('empty');
    score = 0;
  } else if (before >= 20) {
    const ratio = after / before;
    if (ratio < 0.3 || ratio > 3) {
      flags.push('length_ratio');
      score -= 0.3;
    }
  }
  if (before >= 12 && plain(input.translated) === plain(input.source)) {
    flags.push('untranslated');
    score -= 0.4;
  }
  if (input.truncated) {
    flags.push('truncated');
    score -= 0.5;
  }
  return { score: Math.max(0, Math.round(score * 100) / 100), flags };
}
