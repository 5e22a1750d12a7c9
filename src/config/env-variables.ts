// Builders of single environment variables: absent -> default, empty or malformed -> an issue saying what was expected.
import { IANAZone } from 'luxon';
import { z } from 'zod';

/** setTimeout overflows past 2^31-1 ms and fires at once, so every duration stays below it. */
const MAX_TIMER_MS = 2_147_483_647;
const WHOLE_DECIMAL = /^\d+$/;

export interface SentinelAddress {
  readonly host: string;
  readonly port: number;
}

const textInput = z.string({ error: 'is not text (expected a string)' }).optional();

/** What a variable's parser made of a non-empty value. */
type Parsed<T> = { readonly value: T } | { readonly problem: string };
const accept = <T>(value: T): Parsed<T> => ({ value });
const reject = (problem: string): { readonly problem: string } => ({ problem });

/** Shared front of every variable: absent -> fallback, empty -> issue, otherwise the parser decides. */
function variable<T>(
  description: string,
  expected: string,
  fallback: T,
  parse: (raw: string) => Parsed<T>,
): z.ZodType<T, string | undefined> {
  return textInput
    .transform((raw, ctx): T => {
      if (raw === undefined) return fallback;
      const parsed = raw === '' ? reject('is empty') : parse(raw);
      if ('problem' in parsed) {
        ctx.addIssue({ code: 'custom', message: `${parsed.problem} (expected ${expected})` });
        return z.NEVER;
      }
      return parsed.value;
    })
    .describe(description);
}

export function integerVar(
  description: string,
  options: { fallback: number; min: number; max?: number },
): z.ZodType<number, string | undefined> {
  const { fallback, min, max = Number.MAX_SAFE_INTEGER } = options;
  const expected =
    max === Number.MAX_SAFE_INTEGER
      ? `a whole decimal number >= ${min}, default ${fallback}`
      : `a whole decimal number from ${min} to ${max}, default ${fallback}`;
  return variable(description, expected, fallback, (raw) => {
    if (!WHOLE_DECIMAL.test(raw)) return reject('is not a whole decimal number');
    const value = Number(raw);
    if (!Number.isSafeInteger(value) || value < min || value > max) return reject('is out of range');
    return accept(value);
  });
}

export const durationVar = (description: string, fallback: number, min = 1) =>
  integerVar(description, { fallback, min, max: MAX_TIMER_MS });

/** Parses a toggle: true/false/1/0/yes/no in any case; undefined when it is none of them. */
export function parseBooleanFlag(raw: string): boolean | undefined {
  const normalised = raw.trim().toLowerCase();
  if (normalised === 'true' || normalised === '1' || normalised === 'yes') return true;
  if (normalised === 'false' || normalised === '0' || normalised === 'no') return false;
  return undefined;
}
export const BOOLEAN_EXPECTED = 'true, false, 1, 0, yes or no';

export function booleanVar(description: string, fallback: boolean): z.ZodType<boolean, string | undefined> {
  return variable(description, `${BOOLEAN_EXPECTED}, default ${fallback}`, fallback, (raw) => {
    const value = parseBooleanFlag(raw);
    return value === undefined ? reject('is not a boolean') : accept(value);
  });
}

export function textVar(
  description: string,
  options: { fallback: string; pattern?: RegExp; expected?: string },
): z.ZodType<string, string | undefined> {
  const { fallback, pattern, expected = 'text' } = options;
  return variable(description, `${expected}, default "${fallback}"`, fallback, (raw) =>
    pattern === undefined || pattern.test(raw)
      ? accept(raw)
      : reject('has characters or a length not allowed'),
  );
}

export function optionalTextVar(
  description: string,
  expected: string,
): z.ZodType<string | undefined, string | undefined> {
  return variable<string | undefined>(description, expected, undefined, accept);
}

/** Optional text that must match `pattern` (credentials, names); a mismatch never echoes the value. */
export function optionalPatternVar(
  description: string,
  pattern: RegExp,
  expected: string,
): z.ZodType<string | undefined, string | undefined> {
  return variable<string | undefined>(description, expected, undefined, (raw) =>
    pattern.test(raw) ? accept(raw) : reject('has characters or a length not allowed'),
  );
}

export function choiceVar<const T extends readonly string[]>(
  description: string,
  choices: T,
  fallback: T[number],
): z.ZodType<T[number], string | undefined> {
  return variable(description, `one of ${choices.join(', ')}, default ${fallback}`, fallback, (raw) => {
    const normalised = raw.toLowerCase();
    const choice = choices.find((candidate) => candidate === normalised);
    return choice === undefined ? reject('is not one of the allowed values') : accept(choice);
  });
}

export function urlVar<T extends string | undefined>(
  description: string,
  protocols: readonly string[],
  fallback: T,
): z.ZodType<T | string, string | undefined> {
  const schemes = protocols.map((protocol) => `${protocol}//`).join(' or ');
  const expected =
    fallback === undefined ? `a ${schemes} URL, optional` : `a ${schemes} URL, default ${fallback}`;
  return variable<T | string>(description, expected, fallback, (raw) => {
    if (!URL.canParse(raw)) return reject('is not a URL');
    return protocols.includes(new URL(raw).protocol) ? accept(raw) : reject('has the wrong scheme');
  });
}

function parseSentinels(raw: string): Parsed<SentinelAddress[] | undefined> {
  const sentinels: SentinelAddress[] = [];
  for (const item of raw.split(',')) {
    const address = item.trim();
    const colon = address.lastIndexOf(':');
    // IPv6 literals come bracketed ([::1]:26379) so the last colon is still the port separator.
    const host = address.slice(0, Math.max(colon, 0)).replace(/^\[(.*)\]$/, '$1');
    const portText = address.slice(colon + 1);
    const port = Number(portText);
    if (colon < 1 || host === '' || !WHOLE_DECIMAL.test(portText) || port < 1 || port > 65535) {
      return reject(`has a bad address "${address}"`);
    }
    sentinels.push({ host, port });
  }
  return accept(sentinels);
}

function parseProcessors(raw: string): Parsed<string[] | undefined> {
  const items = raw.split(',').map((item) => item.trim());
  if (items.some((item) => item === '')) return reject('has an empty item');
  return accept([...new Set(items)]);
}

export function sentinelsVar(
  description: string,
): z.ZodType<SentinelAddress[] | undefined, string | undefined> {
  return variable(description, 'a comma-separated host:port list, optional', undefined, parseSentinels);
}

export function processorsVar(description: string): z.ZodType<string[] | undefined, string | undefined> {
  return variable(
    description,
    'a comma-separated list of job names or domain aliases; unset it to run every enabled job',
    undefined,
    parseProcessors,
  );
}

function parseNameList(raw: string): Parsed<string[]> {
  const items = raw.split(',').map((item) => item.trim());
  if (items.some((item) => item === '')) return reject('has an empty item');
  const bad = items.find((item) => !/^[A-Za-z0-9_.-]{1,64}$/.test(item));
  if (bad !== undefined) return reject(`has a bad name "${bad}"`);
  return accept([...new Set(items)]);
}

/** A comma-separated list of names (domains, groups); absent = empty list. */
export function nameListVar(description: string): z.ZodType<string[], string | undefined> {
  return variable(
    description,
    'a comma-separated list of names of letters, digits, "_", "." or "-"; unset = none',
    [],
    parseNameList,
  );
}

const HOST_ITEM = /^(\*\.)?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*$/;

/** A comma-separated list of host names or `*.suffix` patterns; absent = empty list. */
export function hostListVar(description: string): z.ZodType<string[], string | undefined> {
  return variable(
    description,
    'a comma-separated list of host names or *.example.com patterns',
    [],
    (raw) => {
      const items = raw.split(',').map((item) => item.trim().toLowerCase());
      const bad = items.find((item) => !HOST_ITEM.test(item));
      return bad === undefined ? accept([...new Set(items)]) : reject(`has a bad host "${bad}"`);
    },
  );
}

/** An IANA time zone name such as Europe/Berlin, checked against the runtime's zone database. */
export function timeZoneVar(description: string, fallback: string): z.ZodType<string, string | undefined> {
  return variable(description, 'an IANA time zone such as UTC or Europe/Berlin', fallback, (raw) =>
    IANAZone.isValidZone(raw) ? accept(raw) : reject(`is not a known time zone "${raw}"`),
  );
}
