// A parser of the Prometheus text exposition format (0.0.4): samples with their labels, and each family's TYPE and
// HELP. For tests and tools that read a worker's `/metrics` (the CLI, the dashboard); throws on malformed lines.
import { ValidationError } from '../../errors.js';

export interface MetricSample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface MetricFamily {
  readonly name: string;
  readonly type: string | undefined;
  readonly help: string | undefined;
}

export interface ParsedMetrics {
  readonly samples: readonly MetricSample[];
  readonly families: ReadonlyMap<string, MetricFamily>;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;

export function parseMetricsText(text: string): ParsedMetrics {
  const samples: MetricSample[] = [];
  const families = new Map<string, { name: string; type: string | undefined; help: string | undefined }>();
  const family = (name: string) => {
    let entry = families.get(name);
    if (!entry) families.set(name, (entry = { name, type: undefined, help: undefined }));
    return entry;
  };
  text.split('\n').forEach((raw, index) => {
    const line = raw.trim();
    if (line === '') return;
    if (line.startsWith('#')) {
      const meta = /^#\s+(HELP|TYPE)\s+([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\s+(.*))?$/.exec(line);
      if (meta === null) return; // other comments are allowed and ignored
      const [, kind, name = '', rest = ''] = meta;
      if (kind === 'TYPE') family(name).type = rest.trim();
      else family(name).help = unescape(rest, false);
      return;
    }
    samples.push(parseSample(line, index + 1));
  });
  return { samples, families };
}

/** Samples of `name` whose labels include every pair of `match`. */
export function samplesOf(
  parsed: ParsedMetrics,
  name: string,
  match: Readonly<Record<string, string>> = {},
): MetricSample[] {
  return parsed.samples.filter(
    (s) => s.name === name && Object.entries(match).every(([label, value]) => s.labels[label] === value),
  );
}

/** Sum of the values of the samples of `name` matching `match` (0 when none). */
export function sumOf(
  parsed: ParsedMetrics,
  name: string,
  match: Readonly<Record<string, string>> = {},
): number {
  return samplesOf(parsed, name, match).reduce((sum, s) => sum + s.value, 0);
}

function parseSample(line: string, lineNumber: number): MetricSample {
  const fail = (why: string): never => {
    throw new ValidationError(`metrics text line ${lineNumber}: ${why}: ${line.slice(0, 120)}`);
  };
  const nameMatch = NAME.exec(line);
  if (nameMatch === null) return fail('expected a metric name');
  const name = nameMatch[0];
  let rest = line.slice(name.length);
  const labels: Record<string, string> = {};
  if (rest.startsWith('{')) {
    rest = rest.slice(1);
    for (;;) {
      rest = rest.trimStart();
      if (rest.startsWith('}')) {
        rest = rest.slice(1);
        break;
      }
      const labelMatch = LABEL_NAME.exec(rest);
      if (labelMatch === null) return fail('expected a label name');
      const label = labelMatch[0];
      rest = rest.slice(label.length).trimStart();
      if (!rest.startsWith('="')) return fail(`expected ="..." after label ${label}`);
      const { value, length } = readQuoted(rest.slice(2)) ?? fail('unterminated label value');
      labels[label] = value;
      rest = rest.slice(2 + length).trimStart();
      if (rest.startsWith(',')) rest = rest.slice(1);
      else if (!rest.startsWith('}')) return fail('expected , or } after a label value');
    }
  }
  const parts = rest.trim().split(/\s+/);
  if (parts.length < 1 || parts.length > 2 || parts[0] === '')
    return fail('expected a value (and a timestamp)');
  const value = parseValue(parts[0] ?? '');
  if (value === undefined) return fail('expected a number, NaN, +Inf or -Inf');
  return { name, labels, value };
}

/** Reads up to the closing quote; returns the unescaped value and the characters consumed (quote included). */
function readQuoted(text: string): { value: string; length: number } | undefined {
  for (let i = 0; i < text.length; i += 1) {
    const char = text[i];
    if (char === '\\') i += 1;
    else if (char === '"') return { value: unescape(text.slice(0, i), true), length: i + 1 };
  }
  return undefined;
}

function unescape(text: string, quotes: boolean): string {
  return text.replace(/\\(.)/g, (whole, char: string) => {
    if (char === 'n') return '\n';
    if (char === '\\') return '\\';
    if (char === '"' && quotes) return '"';
    return whole;
  });
}

/** Like Go's ParseFloat, which Prometheus uses: NaN and Inf in any case (prom-client writes `Nan`). */
function parseValue(text: string): number | undefined {
  const word = text.toLowerCase();
  if (word === 'nan') return Number.NaN;
  if (word === '+inf' || word === 'inf') return Number.POSITIVE_INFINITY;
  if (word === '-inf') return Number.NEGATIVE_INFINITY;
  const value = Number(text);
  return text !== '' && Number.isFinite(value) ? value : undefined;
}
