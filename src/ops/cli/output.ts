// CLI output: aligned tables for people, JSON for scripts, and the few formats both share (ages, times).

/** Where the CLI writes; process streams in the binary, buffers in tests. */
export interface OutputStream {
  write(chunk: string): boolean;
  readonly isTTY?: boolean;
}

export interface Column<T> {
  readonly header: string;
  readonly value: (row: T) => string | number;
  /** Right-aligned (numbers); default: right for numbers, left for text. */
  readonly align?: 'left' | 'right';
}

/** Prints `rows` as an aligned table with a header line; `empty` when there are none. */
export function printTable<T>(
  out: OutputStream,
  columns: readonly Column<T>[],
  rows: readonly T[],
  empty: string,
): void {
  if (rows.length === 0) {
    out.write(`${empty}\n`);
    return;
  }
  const cells = rows.map((row) => columns.map((column) => column.value(row)));
  const right = columns.map(
    (column, i) =>
      column.align === 'right' || (column.align === undefined && typeof cells[0]?.[i] === 'number'),
  );
  const text = cells.map((row) => row.map(String));
  const widths = columns.map((column, i) =>
    Math.max(column.header.length, ...text.map((row) => (row[i] ?? '').length)),
  );
  const line = (values: readonly string[]): string =>
    values
      .map((value, i) => (right[i] ? value.padStart(widths[i] ?? 0) : value.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  out.write(`${line(columns.map((column) => column.header))}\n`);
  for (const row of text) out.write(`${line(row)}\n`);
}

/** One JSON document on its own line (stable for `jq`). */
export function printJson(out: OutputStream, value: unknown): void {
  out.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** `key: value` lines, aligned, for one object (dlq show, results). */
export function printFields(
  out: OutputStream,
  fields: readonly (readonly [string, string | number | undefined])[],
): void {
  const width = Math.max(...fields.map(([name]) => name.length));
  for (const [name, value] of fields) {
    if (value !== undefined) out.write(`${`${name}:`.padEnd(width + 2)}${value}\n`);
  }
}

/** 850ms, 12s, 3m05s, 2h10m, 3d04h; '-' for none. */
export function formatAge(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms) || ms <= 0) return '-';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h${String(m % 60).padStart(2, '0')}m`;
  return `${Math.floor(h / 24)}d${String(h % 24).padStart(2, '0')}h`;
}

/** ISO time without milliseconds, plus `in 5m` / `3m ago` relative to now. */
export function formatTime(ms: number, nowMs: number): string {
  const iso = new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const delta = ms - nowMs;
  if (Math.abs(delta) < 1000) return `${iso} (now)`;
  return delta > 0 ? `${iso} (in ${formatAge(delta)})` : `${iso} (${formatAge(-delta)} ago)`;
}

/** Cuts a text to `max` characters for a table cell. */
export function clip(text: string, max: number): string {
  const oneLine = text.replace(/\s+/g, ' ');
  return oneLine.length > max ? `${oneLine.slice(0, max - 1)}…` : oneLine;
}
