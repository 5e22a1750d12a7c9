// The mock platform for the demo and the end-to-end tests: every internal service the jobs call (PlayHub, Payhub,
// Escrow, Funding, Campaigns, Price, Watchlist, Events) plus the external feed/provider server, on loopback ports.
import type { Clock } from '../../src/clock.js';
import { systemClock } from '../../src/clock.js';
import { SERVICE_URL_VARIABLES, type ServiceName } from '../../src/config/index.js';
import type { EventEnvelope } from '../../src/events/envelope.js';
import {
  generateServiceKeyPair,
  type ServicePrivateJwk,
  type ServicePublicJwk,
} from '../../src/sinks/service-keys.js';
import { startMockCampaigns, type CampaignsOptions, type MockCampaigns } from './campaigns.js';
import { startMockEscrow, type MockEscrowService } from './escrow.js';
import { createEventProducer, type EventSink } from './event-producer.js';
import { startMockEvents, type MockEventsService } from './events.js';
import { startMockFeeds, type FeedsOptions, type MockFeeds } from './feeds.js';
import { startMockFunding, type FundingOptions, type MockFunding } from './funding.js';
import { startMockPayhub, type MockPayhub } from './payhub.js';
import type { LatencyOption, PlatformService } from './platform-service.js';
import { startMockPlayhub, type MockPlayhub, type PlayhubOptions } from './playhub.js';
import { startMockPrice, type MockPrice, type PriceOptions } from './price.js';
import { seededRandom } from './seeded-random.js';
import type { ServiceContext } from './service-context.js';
import type { ServiceStats } from './service-stats.js';
import type { UtilityOptions } from './utility-routes.js';
import { startMockWatchlist, type MockWatchlist } from './watchlist.js';

/** The internal services of the mock platform (the config's `discovery` has no mock). */
export const MOCK_SERVICES = [
  'playhub',
  'payhub',
  'escrow',
  'funding',
  'campaigns',
  'price',
  'watchlist',
  'events',
] as const satisfies readonly ServiceName[];

export type MockServiceName = (typeof MOCK_SERVICES)[number];

export interface MockPlatformOptions {
  /** Seeds every random choice (oracle degradation, fault shares, latency, ids, market data); default 1. */
  readonly seed?: string | number;
  /** Share (0-1) of bets the degraded price oracle answers 202 for (PlayHub cfb/settle); default 0. */
  readonly degradedShare?: number;
  /** Added to every answer: fixed ms or a seeded uniform range. */
  readonly latency?: LatencyOption;
  /** Domain time of the services (due checks, createdAt...); tokens are always checked against real time. */
  readonly clock?: Clock;
  /** The key pair whose public half the services trust; default a new one (its private JWK is in `workerEnv`). */
  readonly keys?: { readonly publicJwk: ServicePublicJwk; readonly privateJwk?: ServicePrivateJwk };
  /** Accepted `iss`; default `workers` (SERVICE_JWT_ISSUER's default). */
  readonly issuer?: string;
  /** Where the services' facts go (src/events/publisher.ts createPublisher); without one they are only kept. */
  readonly publisher?: EventSink;
  /** Requests kept per service; default 5000. */
  readonly maxRecordedRequests?: number;
  /** Exports and storage cleanup on every service. */
  readonly utility?: UtilityOptions;
  readonly playhub?: Omit<PlayhubOptions, 'degradedShare' | 'utility'>;
  readonly funding?: Omit<FundingOptions, 'utility'>;
  readonly campaigns?: Omit<CampaignsOptions, 'utility'>;
  readonly price?: Omit<PriceOptions, 'utility'>;
  readonly feeds?: FeedsOptions;
}

export type MockServiceStats = ServiceStats & { readonly domain: Record<string, number> };

export interface MockPlatformStats {
  /** Per service (the feed server as `feeds`). */
  readonly services: Record<MockServiceName | 'feeds', MockServiceStats>;
  readonly totals: {
    readonly requests: number;
    readonly applied: number;
    readonly replays: number;
    readonly faults: number;
    readonly unauthorized: number;
    readonly inProgress: number;
    readonly contractKeyMismatches: number;
    readonly contractViolations: number;
    readonly appliedTwice: number;
  };
}

export interface MockPlatform {
  readonly playhub: MockPlayhub;
  readonly payhub: MockPayhub;
  readonly escrow: MockEscrowService;
  readonly funding: MockFunding;
  readonly campaigns: MockCampaigns;
  readonly price: MockPrice;
  readonly watchlist: MockWatchlist;
  readonly events: MockEventsService;
  readonly feeds: MockFeeds;
  /** The internal services by name. */
  readonly services: Readonly<Record<MockServiceName, PlatformService>>;
  /** SVC_*_URL of every mock service. */
  readonly env: Readonly<Record<string, string>>;
  /**
   * `env` plus what a worker needs to call the platform and its feed server: SERVICE_JWT_ISSUER, the private JWK
   * (when the platform made the key pair), EXTERNAL_ALLOW_HTTP and EXTERNAL_ALLOW_LOOPBACK_HOSTS=localhost.
   */
  readonly workerEnv: Readonly<Record<string, string>>;
  /** The public JWK every service trusts. */
  readonly publicJwk: ServicePublicJwk;
  /** The private half, when the platform generated the pair. */
  readonly privateJwk: ServicePrivateJwk | undefined;
  /** Facts the services produced (bet.opened, ...), published or not. */
  readonly emitted: readonly EventEnvelope[];
  stats(): MockPlatformStats;
  /** Idempotency-Keys applied more than once, over all services: must stay 0. */
  appliedTwice(): number;
  close(): Promise<void>;
}

export async function startMockPlatform(options: MockPlatformOptions = {}): Promise<MockPlatform> {
  const seed = options.seed ?? 1;
  const clock = options.clock ?? systemClock;
  const generated = options.keys === undefined ? generateServiceKeyPair() : undefined;
  const publicJwk = options.keys?.publicJwk ?? generated!.publicJwk;
  const privateJwk = options.keys?.privateJwk ?? generated?.privateJwk;
  const issuer = options.issuer ?? 'workers';
  const producer = createEventProducer({
    clock,
    random: seededRandom(seed, 'events-producer'),
    publisher: options.publisher,
  });
  const contextOf = (name: string): ServiceContext => ({
    seed,
    clock,
    random: seededRandom(seed, name),
    producer,
    server: {
      clock,
      auth: { publicJwks: [publicJwk], issuers: issuer },
      ...(options.latency === undefined ? {} : { latency: options.latency }),
      ...(options.maxRecordedRequests === undefined
        ? {}
        : { maxRecordedRequests: options.maxRecordedRequests }),
    },
  });

  const started: PlatformService[] = [];
  const track = <T extends PlatformService>(service: T): T => {
    started.push(service);
    return service;
  };
  try {
    // started first: the services' signed storage URLs point at its DELETE /storage/* route (storage.cleanup)
    const feeds = track(await startMockFeeds(contextOf('feeds'), options.feeds));
    const utility = { utility: { storageBaseUrl: `${feeds.url}/storage`, ...options.utility } };
    const payhub = track(await startMockPayhub(contextOf('payhub'), utility));
    const playhub = track(
      await startMockPlayhub(
        contextOf('playhub'),
        {
          ...options.playhub,
          ...utility,
          ...(options.degradedShare === undefined ? {} : { degradedShare: options.degradedShare }),
        },
        payhub,
      ),
    );
    payhub.onSettled((ref) => playhub.markMatchSettled(ref));
    const escrow = track(await startMockEscrow(contextOf('escrow'), utility));
    const funding = track(await startMockFunding(contextOf('funding'), { ...options.funding, ...utility }));
    const campaigns = track(
      await startMockCampaigns(contextOf('campaigns'), { ...options.campaigns, ...utility }, payhub),
    );
    const price = track(await startMockPrice(contextOf('price'), { ...options.price, ...utility }));
    const watchlist = track(await startMockWatchlist(contextOf('watchlist'), utility));
    const events = track(await startMockEvents(contextOf('events'), utility));

    const services = { playhub, payhub, escrow, funding, campaigns, price, watchlist, events } as const;
    const env = Object.fromEntries(
      MOCK_SERVICES.map((name) => [SERVICE_URL_VARIABLES[name], services[name].url] as const),
    );
    const workerEnv: Record<string, string> = {
      ...env,
      SERVICE_JWT_ISSUER: issuer,
      ...(privateJwk === undefined ? {} : { SERVICE_JWT_PRIVATE_JWK: JSON.stringify(privateJwk) }),
      EXTERNAL_ALLOW_HTTP: 'true',
      EXTERNAL_ALLOW_LOOPBACK_HOSTS: 'localhost',
    };
    const all = [...MOCK_SERVICES.map((name) => services[name]), feeds];

    function stats(): MockPlatformStats {
      const snapshots = [
        ...MOCK_SERVICES.map((name) => [name, services[name]] as const),
        ['feeds', feeds] as const,
      ].map(([name, service]) => {
        const domain = 'domainStats' in service ? service.domainStats() : {};
        return [name, { ...service.stats(), domain }] as const;
      });
      const sum = (field: keyof MockPlatformStats['totals']): number =>
        snapshots.reduce((total, [, s]) => total + s[field], 0);
      return {
        services: Object.fromEntries(snapshots) as Record<MockServiceName | 'feeds', MockServiceStats>,
        totals: {
          requests: sum('requests'),
          applied: sum('applied'),
          replays: sum('replays'),
          faults: sum('faults'),
          unauthorized: sum('unauthorized'),
          inProgress: sum('inProgress'),
          contractKeyMismatches: sum('contractKeyMismatches'),
          contractViolations: sum('contractViolations'),
          appliedTwice: sum('appliedTwice'),
        },
      };
    }

    return {
      ...services,
      feeds,
      services,
      env,
      workerEnv,
      publicJwk,
      privateJwk,
      emitted: producer.emitted,
      stats,
      appliedTwice: () => all.reduce((total, service) => total + service.appliedTwice(), 0),
      close: async () => {
        await Promise.all(all.map((service) => service.close()));
      },
    };
  } catch (error) {
    await Promise.allSettled(started.map((service) => service.close()));
    throw error;
  }
}
