// The utility endpoints every mock domain service serves (src/jobs/utility/api.ts): exports that take a while to
// build (202 then 200 with a signed URL) and object-storage cleanup candidates with their confirmation.
import {
  serviceExport,
  storageCleanupCandidates,
  storageCleanupConfirm,
} from '../../src/jobs/utility/api.js';
import { contractRoute, type ServiceRoute } from './platform-service.js';
import { hash32 } from './seeded-random.js';
import { badCursor, invalid, iso, pageOf, type ServiceContext } from './service-context.js';

export interface UtilityOptions {
  /** How long an export takes to build; 0 = the first call completes it. Default 1000 ms. */
  readonly exportBuildMs?: number;
  /** Base of the signed delete URLs handed out for cleanup (https by contract). */
  readonly storageBaseUrl?: string;
}

export interface MockExport {
  readonly exportId: string;
  readonly dataset: string;
  readonly format: 'csv' | 'json';
  readonly readyAt: number;
  completed: boolean;
}

export interface UtilityHelpers {
  /** Objects the next cleanup scan lists. */
  addStorageObjects(objectKeys: readonly string[]): void;
  storageObjects(): string[];
  exports(): MockExport[];
}

export function utilityRoutes(
  ctx: ServiceContext,
  service: string,
  options: UtilityOptions = {},
): { routes: ServiceRoute[]; helpers: UtilityHelpers } {
  const buildMs = options.exportBuildMs ?? 1000;
  const storageBase = options.storageBaseUrl ?? 'https://storage.mock.test';
  const exportsById = new Map<string, MockExport>();
  const objects = new Set<string>();

  const routes: ServiceRoute[] = [
    contractRoute(serviceExport, ({ data, now }) => {
      let job = exportsById.get(data.exportId);
      if (job === undefined) {
        job = {
          exportId: data.exportId,
          dataset: data.dataset,
          format: data.format,
          readyAt: now + buildMs,
          completed: false,
        };
        exportsById.set(data.exportId, job);
      } else if (job.dataset !== data.dataset || job.format !== data.format) {
        return invalid(`export ${data.exportId} was requested with another dataset or format`);
      }
      if (now < job.readyAt) {
        return {
          status: 202,
          body: { exportId: job.exportId, state: 'running', retryAt: iso(job.readyAt) },
          headers: { 'retry-after': String(Math.max(1, Math.ceil((job.readyAt - now) / 1000))) },
        };
      }
      const applied = !job.completed;
      job.completed = true;
      return {
        status: 200,
        applied,
        body: {
          exportId: job.exportId,
          state: 'completed',
          url: `https://exports.mock.test/${service}/${encodeURIComponent(job.exportId)}.${job.format}`,
          expiresAt: iso(now + 3_600_000),
          rows: hash32(ctx.seed, 'export', job.exportId) % 10_000,
        },
      };
    }),
    contractRoute(storageCleanupCandidates, ({ data }) => {
      const page = pageOf([...objects], (key) => key, data.cursor, data.limit);
      if (page === undefined) return badCursor();
      return {
        status: 200,
        body: {
          items: page.items.map((objectKey) => ({
            objectKey,
            deleteUrl: `${storageBase}/${service}/${encodeURIComponent(objectKey)}?sig=${hash32(ctx.seed, 'sig', objectKey).toString(16)}`,
          })),
          nextCursor: page.nextCursor,
        },
      };
    }),
    contractRoute(storageCleanupConfirm, ({ data }) => {
      let confirmed = 0;
      for (const key of data.objectKeys) if (objects.delete(key)) confirmed += 1;
      return { status: 200, applied: confirmed > 0, body: { confirmed } };
    }),
  ];

  return {
    routes,
    helpers: {
      addStorageObjects(objectKeys) {
        for (const key of objectKeys) objects.add(key);
      },
      storageObjects: () => [...objects],
      exports: () => [...exportsById.values()],
    },
  };
}
