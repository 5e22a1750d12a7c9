// The commerce pack (seed 003): its eight queues as jobs on the `commerce` streams (fx.refresh, translation.translate,
// product.sync, sitemap.generate, domain.verify, email.send, notification.send, webhook.deliver) and the three cron
// feeders that replace BullMQ's repeatable jobs (fx every 15 min, product delta every 6 h, sitemaps daily 03:00 UTC).
import type { JobPack, PackJob } from '../catalog.js';
import { environmentPack } from '../pack-settings.js';
import type { Environment } from '../pack-settings.js';
import { commerceSettingsFrom } from './commerce-settings.js';
import type { CommerceSettings } from './commerce-settings.js';
import type { DnsResolver } from './domain-checks.js';
import { domainVerifyJob } from './domain-verify.js';
import { emailSendJob } from './email-send.js';
import { COMMERCE_DOMAIN, registerCommerceEvents } from './events.js';
import { FX_REFRESH_SCHEDULE, fxRefreshSchedule, fxRefreshScheduleJob } from './fx-refresh-schedule.js';
import { fxRefreshJob } from './fx-refresh.js';
import { notificationSendJob } from './notification-send.js';
import {
  PRODUCT_SYNC_SCHEDULE,
  productSyncSchedule,
  productSyncScheduleJob,
} from './product-sync-schedule.js';
import { productSyncJob } from './product-sync.js';
import {
  COMMERCE_QUEUE_POLICIES,
  DOMAIN_VERIFY,
  EMAIL_SEND,
  FX_REFRESH,
  NOTIFICATION_SEND,
  PRODUCT_SYNC,
  SITEMAP_GENERATE,
  TRANSLATION_TRANSLATE,
  WEBHOOK_DELIVER,
} from './queue-policies.js';
import type { CommerceQueueJob } from './queue-policies.js';
import { sitemapGenerateJob } from './sitemap-generate.js';
import { SITEMAP_SCHEDULE, sitemapSchedule, sitemapScheduleJob } from './sitemap-schedule.js';
import { translationJob } from './translation-translate.js';
import { webhookDeliverJob } from './webhook-deliver.js';

/** The ENABLE_* flag of each queue (seed 003 names none; one per queue, off by default like every pack job). */
export const COMMERCE_ENABLE_FLAGS: Readonly<Record<CommerceQueueJob, string>> = {
  [FX_REFRESH]: 'ENABLE_FX_REFRESH',
  [TRANSLATION_TRANSLATE]: 'ENABLE_TRANSLATION',
  [PRODUCT_SYNC]: 'ENABLE_PRODUCT_SYNC',
  [SITEMAP_GENERATE]: 'ENABLE_SITEMAP_GENERATION',
  [DOMAIN_VERIFY]: 'ENABLE_DOMAIN_VERIFICATION',
  [EMAIL_SEND]: 'ENABLE_EMAIL',
  [NOTIFICATION_SEND]: 'ENABLE_NOTIFICATION',
  [WEBHOOK_DELIVER]: 'ENABLE_WEBHOOK_DELIVERY',
};

/** Seed 003 queue priorities (1 = most urgent), for the core's priority lanes: see queue-policies.ts. */
export const COMMERCE_PRIORITIES: Readonly<Record<CommerceQueueJob, number>> = Object.fromEntries(
  Object.entries(COMMERCE_QUEUE_POLICIES).map(([job, policy]) => [job, policy.priority]),
) as Record<CommerceQueueJob, number>;

/** Listing pages of the feeders: 500 tenants or sources per page, at most 1,000 pages per tick. */
const FEEDER_PAGING = { pageSize: 500, maxPages: 1000 } as const;

export interface CommercePackDeps {
  /** DNS of domain.verify's dns_txt and dns_cname checks; default the system resolver. */
  readonly resolver?: DnsResolver;
}

function queueJob(job: CommerceQueueJob, definition: PackJob['definition']): PackJob {
  return {
    catalog: {
      name: job,
      domain: COMMERCE_DOMAIN,
      aliases: [COMMERCE_QUEUE_POLICIES[job].queue],
      enableFlag: COMMERCE_ENABLE_FLAGS[job],
      enabledByDefault: false,
    },
    definition,
  };
}

/** A feeder runs with the flag of the queue it feeds (PROCESSORS can still split them). */
function feederJob(
  name: string,
  feeds: CommerceQueueJob,
  rest: Pick<PackJob, 'definition' | 'schedules'>,
): PackJob {
  return {
    catalog: {
      name,
      domain: 'cron',
      aliases: [COMMERCE_DOMAIN, COMMERCE_QUEUE_POLICIES[feeds].queue],
      enableFlag: COMMERCE_ENABLE_FLAGS[feeds],
      enabledByDefault: false,
    },
    ...rest,
  };
}

export function commerceJobs(settings: CommerceSettings, deps: CommercePackDeps = {}): PackJob[] {
  return [
    queueJob(FX_REFRESH, (context) => fxRefreshJob(context, settings)),
    feederJob(FX_REFRESH_SCHEDULE, FX_REFRESH, {
      schedules: [fxRefreshSchedule],
      definition: (context) => fxRefreshScheduleJob(context, settings),
    }),
    queueJob(TRANSLATION_TRANSLATE, (context) => translationJob(context, settings)),
    queueJob(PRODUCT_SYNC, (context) => productSyncJob(context, settings)),
    feederJob(PRODUCT_SYNC_SCHEDULE, PRODUCT_SYNC, {
      schedules: [productSyncSchedule],
      definition: (context) => productSyncScheduleJob(context, FEEDER_PAGING),
    }),
    queueJob(SITEMAP_GENERATE, (context) => sitemapGenerateJob(context, settings)),
    feederJob(SITEMAP_SCHEDULE, SITEMAP_GENERATE, {
      schedules: [sitemapSchedule],
      definition: (context) => sitemapScheduleJob(context, FEEDER_PAGING),
    }),
    queueJob(DOMAIN_VERIFY, (context) => domainVerifyJob(context, settings, deps)),
    queueJob(EMAIL_SEND, (context) => emailSendJob(context, settings)),
    queueJob(NOTIFICATION_SEND, (context) => notificationSendJob(context, settings)),
    queueJob(WEBHOOK_DELIVER, (context) => webhookDeliverJob(context, settings)),
  ];
}

/** The pack for the settings in `env`; throws ConfigError when they are bad. */
export function createCommercePack(env: Environment, deps: CommercePackDeps = {}): JobPack {
  return {
    name: 'commerce',
    register: registerCommerceEvents,
    jobs: commerceJobs(commerceSettingsFrom(env), deps),
  };
}

export const commercePack: JobPack = environmentPack('commerce', registerCommerceEvents, (env) =>
  commerceJobs(commerceSettingsFrom(env)),
);
