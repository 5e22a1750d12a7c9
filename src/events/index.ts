// The events layer: envelope schema, public wire format, partition function, type registry and publisher.
export {
  EVENT_TYPE_MAX_CHARS,
  EVENT_TYPE_PATTERN,
  PARTITION_KEY_MAX_CHARS,
  ULID_PATTERN,
  UUID_V7_PATTERN,
  describeIssues,
  envelopeSchema,
  eventIdSchema,
  eventTypeSchema,
  minorUnits,
  occurredAtSchema,
  parseEnvelope,
  partitionKeySchema,
  traceparentSchema,
  zodIssues,
} from './envelope.js';
export type { EventEnvelope } from './envelope.js';
export { WIRE_FIELDS, decodeEntry, encodeEvent, eventByteSize, readEntryHeader } from './wire.js';
export type { EntryHeader, WireField } from './wire.js';
export { MAX_PARTITIONS, fnv1a32, isPartitionCount, partitionOf } from './partition.js';
export { createEventRegistry } from './registry.js';
export type { EventRegistry, EventTypeDefinition } from './registry.js';
export { ensurePartitionCount } from './partition-store.js';
export { DEFAULT_DEDUPE_WINDOW_MS, DEFAULT_MAX_EVENT_BYTES, createPublisher } from './publisher.js';
export type { PublishResult, Publisher, PublisherDeps } from './publisher.js';
