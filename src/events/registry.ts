// The event-type registry: the one place that maps an event type to its data schema and its domain stream.
import type { z } from 'zod';
import { ValidationError } from '../errors.js';
import { assertKeyName } from '../streams/keys.js';
import { EVENT_TYPE_MAX_CHARS, EVENT_TYPE_PATTERN, describeIssues, zodIssues } from './envelope.js';
import type { EventEnvelope } from './envelope.js';

export interface EventTypeDefinition<S extends z.ZodType = z.ZodType> {
  readonly type: string;
  /** The domain whose partitioned streams carry this type (e.g. `escrow`). */
  readonly domain: string;
  /** Schema of `data`. */
  readonly schema: S;
  /** Newest data version this schema understands; older versions must still parse with it. */
  readonly schemaVersion: number;
}

export interface EventRegistry {
  /** Adds a type. Registering it again is a no-op only with the same domain, schema and version. */
  // S keeps the caller's schema type at the call site (the public shape agreed with the consumer).
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters
  register<S extends z.ZodType>(def: {
    type: string;
    domain: string;
    schema: S;
    schemaVersion?: number;
  }): void;
  get(type: string): EventTypeDefinition | undefined;
  /** The domain of a registered type; throws ValidationError for an unknown type. */
  domainOf(type: string): string;
  types(): string[];
  /** Returns the envelope with `data` parsed by its type's schema; unknown type or invalid data -> ValidationError. */
  validate(envelope: EventEnvelope): EventEnvelope;
}

export function createEventRegistry(): EventRegistry {
  const definitions = new Map<string, EventTypeDefinition>();

  function definitionOf(type: string): EventTypeDefinition {
    const def = definitions.get(type);
    if (!def) {
      throw new ValidationError(`unknown event type "${type}": no schema is registered for it`, [
        { path: 'type', message: 'expected a registered event type' },
      ]);
    }
    return def;
  }

  return {
    register({ type, domain, schema, schemaVersion = 1 }) {
      if (type.length > EVENT_TYPE_MAX_CHARS || !EVENT_TYPE_PATTERN.test(type)) {
        throw new ValidationError(
          `event type "${type}" must be noun.verb: dot-separated lower-case segments of [a-z0-9_], at most ${EVENT_TYPE_MAX_CHARS} chars`,
          [{ path: 'type', message: 'invalid event type' }],
        );
      }
      assertKeyName('domain', domain);
      if (!Number.isInteger(schemaVersion) || schemaVersion < 1) {
        throw new ValidationError(
          `event type "${type}": schemaVersion must be an integer >= 1, got ${schemaVersion}`,
          [{ path: 'schemaVersion', message: 'expected an integer >= 1' }],
        );
      }
      const existing = definitions.get(type);
      if (existing) {
        if (existing.domain !== domain) {
          throw new ValidationError(
            `event type "${type}" is already registered for domain "${existing.domain}", not "${domain}"`,
            [{ path: 'domain', message: `expected "${existing.domain}"` }],
          );
        }
        // Two schemas for one type would make validation depend on registration order.
        if (existing.schema !== schema || existing.schemaVersion !== schemaVersion) {
          throw new ValidationError(
            `event type "${type}" is already registered with a different schema or schemaVersion; register it once`,
            [{ path: 'schema', message: 'expected the schema it was first registered with' }],
          );
        }
        return;
      }
      definitions.set(type, { type, domain, schema, schemaVersion });
    },

    get: (type) => definitions.get(type),

    domainOf: (type) => definitionOf(type).domain,

    types: () => [...definitions.keys()],

    validate(envelope) {
      const def = definitionOf(envelope.type);
      if (envelope.schemaVersion > def.schemaVersion) {
        throw new ValidationError(
          `event ${envelope.id} (${envelope.type}) has schemaVersion ${envelope.schemaVersion}, newer than the ${def.schemaVersion} this registry knows`,
          [{ path: 'schemaVersion', message: `expected at most ${def.schemaVersion}` }],
        );
      }
      const result = def.schema.safeParse(envelope.data);
      if (!result.success) {
        const issues = zodIssues(result.error, 'data');
        throw new ValidationError(
          `event ${envelope.id} (${envelope.type}) has invalid data: ${describeIssues(issues)}`,
          issues,
        );
      }
      return { ...envelope, data: result.data };
    },
  };
}
