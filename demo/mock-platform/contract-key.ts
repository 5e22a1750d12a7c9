// The Idempotency-Key a contract derives from a request body (src/jobs/internal-endpoint.ts IdempotencyKeySpec):
// the mock compares it with the key a job sent, so a job's key derivation that drifts from the contract shows.
import { createHash } from 'node:crypto';
import type { InternalEndpoint } from '../../src/jobs/internal-endpoint.js';
import { idempotencyKey, type EpochPart } from '../../src/sinks/idempotency-key.js';

const ISO_TIMESTAMP = /^\d{4}-\d{2}-\d{2}T/;

/** The contract's key for this raw (as sent) JSON body, or undefined when the endpoint has no key spec. */
export function contractKeyOf(endpoint: InternalEndpoint, rawBody: unknown): string | undefined {
  const spec = endpoint.idempotencyKey;
  if (spec === undefined || typeof rawBody !== 'object' || rawBody === null) return undefined;
  const body = rawBody as Record<string, unknown>;
  const parts: EpochPart[] = [];
  for (const part of spec.parts) {
    const digest = /^digest\((\w+)\)$/.exec(part);
    if (digest?.[1] !== undefined) {
      parts.push(createHash('sha256').update(JSON.stringify(body[digest[1]])).digest('hex'));
      continue;
    }
    const value = body[part];
    if (typeof value === 'number') parts.push(value);
    else if (typeof value === 'string') parts.push(ISO_TIMESTAMP.test(value) ? new Date(value) : value);
    else return undefined;
  }
  try {
    return idempotencyKey(spec.scope, ...parts);
  } catch {
    return undefined;
  }
}
