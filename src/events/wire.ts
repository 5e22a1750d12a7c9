// The public wire format: how an envelope is laid out as stream entry fields, and how an entry is read back.
// Producers in other languages XADD these fields directly, so this layout is a contract, not a detail.
import { Buffer } from 'node:buffer';
import { ValidationError, errorMessage } from '../errors.js';
import type { ValidationIssue } from '../errors.js';
import { describeIssues, envelopeSchema, zodIssues } from './envelope.js';
import type { EventEnvelope } from './envelope.js';

/** Field names in the order encodeEvent writes them; the last three are optional. */
export const WIRE_FIELDS = [
  'id',
  'type',
  'key',
  'occurredAt',
  'source',
  'v',
  'data',
  'traceparent',
  'targetGroup',
  'repetition',
] as const;
export type WireField = (typeof WIRE_FIELDS)[number];

const REQUIRED_FIELDS: readonly WireField[] = ['id', 'type', 'key', 'occurredAt', 'source', 'v', 'data'];
const KNOWN_FIELDS: ReadonlySet<string> = new Set(WIRE_FIELDS);
// `v` is a positive decimal without sign or leading zeros; the schema then bounds it to a safe integer.
const VERSION_TEXT = /^[1-9][0-9]{0,15}$/;
const MAX_ISSUES_IN_MESSAGE = 5;
const MAX_NAME_IN_MESSAGE = 40;

/** The fields of a stream entry that decide whether a consumer handles it, read without parsing anything. */
export interface EntryHeader {
  id?: string;
  type?: string;
  targetGroup?: string;
}

/** Flat field/value list for XADD, in WIRE_FIELDS order. Expects an envelope that passed the schema. */
export function encodeEvent(event: EventEnvelope): string[] {
  const fields = [
    'id',
    event.id,
    'type',
    event.type,
    'key',
    event.key,
    'occurredAt',
    event.occurredAt,
    'source',
    event.source,
    'v',
    String(event.schemaVersion),
    'data',
    encodeData(event),
  ];
  if (event.traceparent !== undefined) fields.push('traceparent', event.traceparent);
  if (event.targetGroup !== undefined) fields.push('targetGroup', event.targetGroup);
  if (event.repetition !== undefined) fields.push('repetition', String(event.repetition));
  return fields;
}

/**
 * Reads a stream entry back into an envelope (data not yet checked by the registry).
 * Throws ValidationError, and only that, for any entry that is not a valid encoding; fields may come in any order.
 */
export function decodeEntry(fields: readonly string[]): EventEnvelope {
  if (fields.length % 2 !== 0) {
    throw new ValidationError(`invalid stream entry: odd number of field/value strings (${fields.length})`, [
      { path: '(entry)', message: 'expected field/value pairs' },
    ]);
  }
  const { values, issues } = collectFields(fields);
  const schemaVersion = readVersion(values.get('v'), issues);
  const data = readData(values.get('data'), issues);
  if (issues.length > 0) throw invalidEntry(issues);

  const candidate: Record<string, unknown> = {
    id: values.get('id'),
    type: values.get('type'),
    key: values.get('key'),
    occurredAt: values.get('occurredAt'),
    source: values.get('source'),
    schemaVersion,
    data,
  };
  const traceparent = values.get('traceparent');
  if (traceparent !== undefined) candidate['traceparent'] = traceparent;
  const targetGroup = values.get('targetGroup');
  if (targetGroup !== undefined) candidate['targetGroup'] = targetGroup;
  const repetition = values.get('repetition');
  if (repetition !== undefined) candidate['repetition'] = readCount('repetition', repetition, issues);
  if (issues.length > 0) throw invalidEntry(issues);

  const result = envelopeSchema.safeParse(candidate);
  if (!result.success) {
    throw invalidEntry(zodIssues(result.error).map((issue) => ({ ...issue, path: wirePath(issue.path) })));
  }
  return result.data;
}

/** Hot path for consumers: finds id, type and targetGroup by a field scan, before any JSON or zod work. */
export function readEntryHeader(fields: readonly string[]): EntryHeader {
  const header: EntryHeader = {};
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const name = fields[i];
    const value = fields[i + 1];
    if (name === 'id') header.id ??= value;
    else if (name === 'type') header.type ??= value;
    else if (name === 'targetGroup') header.targetGroup ??= value;
  }
  return header;
}

/** UTF-8 bytes of every field name and value: what the size cap is measured on. */
export function eventByteSize(fields: readonly string[]): number {
  let bytes = 0;
  for (const text of fields) bytes += Buffer.byteLength(text, 'utf8');
  return bytes;
}

function encodeData(event: EventEnvelope): string {
  let text: string | undefined;
  try {
    // JSON.stringify returns undefined (despite its typing) for undefined, functions and symbols.
    text = JSON.stringify(event.data);
  } catch (error) {
    // BigInt, cycles and very deep nesting all throw here.
    throw new ValidationError(
      `event ${event.id}: data is not JSON-serializable (${errorMessage(error)})`,
      [{ path: 'data', message: 'expected JSON-serializable data' }],
      { cause: error },
    );
  }
  if (text === undefined) {
    throw new ValidationError(
      `event ${event.id}: data has no JSON form (undefined, a function or a symbol)`,
      [{ path: 'data', message: 'expected JSON-serializable data' }],
    );
  }
  return text;
}

function collectFields(fields: readonly string[]): {
  values: Map<WireField, string>;
  issues: ValidationIssue[];
} {
  const values = new Map<WireField, string>();
  const issues: ValidationIssue[] = [];
  for (let i = 0; i < fields.length; i += 2) {
    const name = fields[i];
    const value = fields[i + 1];
    if (typeof name !== 'string' || typeof value !== 'string') {
      issues.push({ path: `(entry)[${i}]`, message: 'expected field names and values to be strings' });
    } else if (!isWireField(name)) {
      issues.push({ path: `(entry)[${i}]`, message: `unknown field "${shorten(name)}"` });
    } else if (values.has(name)) {
      issues.push({ path: name, message: 'duplicate field' });
    } else {
      values.set(name, value);
    }
  }
  for (const name of REQUIRED_FIELDS) {
    if (!values.has(name)) issues.push({ path: name, message: 'missing field' });
  }
  return { values, issues };
}

function readVersion(text: string | undefined, issues: ValidationIssue[]): number | undefined {
  return text === undefined ? undefined : readCount('v', text, issues);
}

/** A positive decimal integer field (`v`, `repetition`); the schema then bounds it to a safe integer. */
function readCount(field: WireField, text: string, issues: ValidationIssue[]): number | undefined {
  if (!VERSION_TEXT.test(text)) {
    issues.push({
      path: field,
      message: 'expected a positive decimal integer without sign or leading zeros',
    });
    return undefined;
  }
  return Number(text);
}

function readData(text: string | undefined, issues: ValidationIssue[]): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    issues.push({ path: 'data', message: 'expected JSON text' });
    return undefined;
  }
}

function isWireField(name: string): name is WireField {
  return KNOWN_FIELDS.has(name);
}

/** Reports envelope paths by their wire names, so the message points at the field a producer wrote. */
function wirePath(path: string): string {
  return path === 'schemaVersion' ? 'v' : path;
}

function invalidEntry(issues: readonly ValidationIssue[]): ValidationError {
  const shown = describeIssues(issues.slice(0, MAX_ISSUES_IN_MESSAGE));
  const more =
    issues.length > MAX_ISSUES_IN_MESSAGE ? ` (+${issues.length - MAX_ISSUES_IN_MESSAGE} more)` : '';
  return new ValidationError(`invalid stream entry: ${shown}${more}`, issues);
}

function shorten(text: string): string {
  return text.length > MAX_NAME_IN_MESSAGE ? `${text.slice(0, MAX_NAME_IN_MESSAGE)}...` : text;
}
