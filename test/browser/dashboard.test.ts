// The dashboard in a real browser (playwright-core driving Debian's chromium) against a real worker, redis-server and
// admin server: it logs in, sees the jobs table with live lag and sparklines, requeues a DLQ fingerprint group,
// pauses a job (its control key changes), with no console or CSP errors; a screenshot is kept in test-artifacts/.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { ulid } from 'ulid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { createPublisher, type Publisher } from '../../src/events/publisher.js';
import { createEventRegistry } from '../../src/events/registry.js';
import { encodeEvent } from '../../src/events/wire.js';
import { startAdminServer, type AdminServer } from '../../src/ops/admin/admin-server.js';
import type { OutcomeEvent } from '../../src/pipelines/job-runner.js';
import { createKeyBuilder } from '../../src/streams/keys.js';
import { startWorker, type Worker } from '../../src/worker.js';
import { testPrefix } from '../support/prefix.js';
import { useRedisPerFile } from '../support/redis-per-file.js';
import { waitFor } from '../support/streams-fixture.js';
import {
  createFixturePack,
  FIXTURE_DOMAIN,
  FIXTURE_JOB,
  fixtureEvent,
} from '../support/worker-fixture-jobs.js';

const CHROMIUM = '/usr/bin/chromium';
const INSTALL_HINT = "install Debian's chromium (apt-get install chromium)";
const browserAvailable = existsSync(CHROMIUM);
const browserRequired = process.env['REQUIRE_BROWSER'] === '1';
if (!browserAvailable && !browserRequired) console.log(`browser tests skipped: ${INSTALL_HINT}`);

const ARTIFACTS = new URL('../../test-artifacts/', import.meta.url).pathname;
const SCREENSHOT = join(ARTIFACTS, 'dashboard.png');
const ADMIN = { username: 'dash-admin', password: 'dashboard-password-1' };
/** A group nobody reads, so the jobs table has lag to show. */
const UNREAD = 'fixture.unread';
const PARTITIONS = 2;
const POISON = 2;

describe.skipIf(!browserAvailable && !browserRequired)('dashboard in a browser', () => {
  const file = useRedisPerFile({ appendonly: true, maxmemoryPolicy: 'noeviction' });
  const prefix = testPrefix(import.meta.url);
  const keys = createKeyBuilder({ prefix });
  let worker: Worker | undefined;
  let admin: AdminServer | undefined;
  let context: BrowserContext | undefined;
  let profile: string | undefined;
  let publisher: Publisher;
  const outcomes: OutcomeEvent[] = [];
  const problems: string[] = [];
  const deadCount = () => outcomes.filter((o) => o.kind === 'dead').length;

  beforeAll(async () => {
    if (!browserAvailable)
      throw new Error(`REQUIRE_BROWSER=1 but there is no browser at ${CHROMIUM}: ${INSTALL_HINT}`);
    const config = loadConfig(
      {
        REDIS_URL: file.server.url,
        QUEUE_PREFIX: prefix,
        LOG_LEVEL: 'silent',
        PARTITIONS_DEFAULT: String(PARTITIONS),
        TRIM_INTERVAL_MS: '0',
        ADMIN_USER: ADMIN.username,
        ADMIN_PASSWORD: ADMIN.password,
      },
      { envFile: false },
    );
    const silent = pino({ level: 'silent' });
    admin = await startAdminServer({
      config,
      redis: file.redis,
      keys,
      metrics: () => worker?.metrics,
      readiness: () => ({ workerStarted: worker !== undefined, shuttingDown: false }),
      logger: silent,
      port: 0,
      host: '127.0.0.1',
    });
    worker = await startWorker({ config, packs: [createFixturePack().pack], logger: silent });
    admin.watchRunners(worker.runners);
    for (const runner of worker.runners) runner.on('outcome', (event) => outcomes.push(event));
    for (let p = 0; p < PARTITIONS; p += 1)
      await file.redis.xgroup('CREATE', keys.partition(FIXTURE_DOMAIN, p).stream, UNREAD, '0', 'MKSTREAM');

    const registry = createEventRegistry();
    createFixturePack().pack.register(registry);
    publisher = createPublisher({ redis: file.redis, keys, registry, partitions: () => PARTITIONS });
    for (let n = 0; n < 3; n += 1) await publisher.publish(fixtureEvent(n));
    // poison: data the job's schema refuses (a foreign producer's XADD), one DLQ fingerprint group
    for (let n = 0; n < POISON; n += 1) {
      const event = { ...fixtureEvent(100 + n), id: ulid(), data: { n: 'poison' } };
      await file.redis.xadd(keys.partition(FIXTURE_DOMAIN, 0).stream, '*', ...encodeEvent(event));
    }
    await waitFor(() => deadCount() === POISON, 'the poison events dead-lettered');

    profile = await mkdtemp(join(tmpdir(), 'dashboard-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-quic',
        '--no-first-run',
        '--disable-component-update',
        '--disable-sync',
      ],
      httpCredentials: { ...ADMIN, origin: admin.url },
      viewport: { width: 1500, height: 900 },
    });
  });

  afterAll(async () => {
    await context?.close();
    if (profile !== undefined) await rm(profile, { recursive: true, force: true });
    await admin?.close();
    await worker?.stop(0);
  });

  function watch(page: Page): void {
    page.on('console', (message) => {
      // failed requests are reported with their URL below
      if (message.type() === 'error' && !message.text().startsWith('Failed to load resource'))
        problems.push(`console: ${message.text()}`);
    });
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('response', (response) => {
      if (response.status() >= 400) problems.push(`${response.status()} ${response.url()}`);
    });
    // confirmations of pause, resume, requeue and drop
    page.on('dialog', (dialog) => void dialog.accept());
  }

  it('logs in, shows live lag, requeues a DLQ group, pauses a job; keeps a screenshot', async () => {
    const page = await context!.newPage();
    watch(page);
    const unauthenticated = await fetch(`${admin!.url}/dashboard/`);
    expect(unauthenticated.status).toBe(401);

    await page.goto(`${admin!.url}/`);
    await page.waitForURL(/\/dashboard\/#?/);
    await expect.poll(() => page.textContent('#who')).toBe(`${ADMIN.username} (admin)`);

    // the jobs table with live lag: the unread group's lag follows what is published
    const total = 3 + POISON;
    const lagCell = page.locator(`tr[data-job="${UNREAD}"] td.lag`);
    await expect.poll(() => lagCell.textContent(), { timeout: 15_000 }).toBe(String(total));
    await expect.poll(() => page.locator(`tr[data-job="${FIXTURE_JOB}"] td.lag`).textContent()).toBe('0');
    for (let n = 10; n < 14; n += 1) await publisher.publish(fixtureEvent(n));
    await expect.poll(() => lagCell.textContent(), { timeout: 15_000 }).toBe(String(total + 4));
    expect(await page.locator(`tr[data-job="${UNREAD}"] .spark canvas`).count()).toBe(2);
    expect(await page.locator(`tr[data-job="${FIXTURE_JOB}"] .badge.status`).textContent()).toBe('OK');

    // DLQ triage: one fingerprint group of the poison, requeued in bulk
    await page.click('nav a[data-view="dlq"]');
    const group = page.locator('#dlq tbody tr[data-fingerprint]');
    await expect.poll(() => group.count(), { timeout: 15_000 }).toBe(1);
    expect(await group.locator('td.count').textContent()).toBe(String(POISON));
    await group.locator('button.show').click();
    await expect.poll(() => page.locator('#dlq tr.entries tbody tr').count()).toBe(POISON);
    await mkdir(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-dlq.png'), fullPage: true });
    const before = deadCount();
    const oldIds = (await file.redis.xrange(keys.partition(FIXTURE_DOMAIN, 0).dlq, '-', '+')).map(
      ([id]) => id,
    );
    await group.locator('button.requeue').click();
    await expect.poll(() => page.textContent('#toast'), { timeout: 15_000 }).toContain(`requeued ${POISON}`);
    // the job handles them again (and, still poison, dead-letters them under new DLQ ids)
    await waitFor(() => deadCount() === before + POISON, 'the requeued dead letters handled again');
    const newIds = (await file.redis.xrange(keys.partition(FIXTURE_DOMAIN, 0).dlq, '-', '+')).map(
      ([id]) => id,
    );
    expect(newIds).toHaveLength(POISON);
    for (const id of oldIds) expect(newIds).not.toContain(id);
    const audit = (await file.redis.xrevrange(keys.audit, '+', '-', 'COUNT', 1))[0]?.[1] ?? [];
    expect(audit).toEqual(expect.arrayContaining(['action', 'dlq.requeue', 'actor', ADMIN.username]));

    // pause the job from the jobs table: its control key changes
    await page.click('nav a[data-view="jobs"]');
    const row = page.locator(`tr[data-job="${FIXTURE_JOB}"]`);
    await row.locator('button.control[data-action="pause"]').click();
    await waitFor(
      async () => (await file.redis.hget(keys.jobControl(FIXTURE_JOB), 'state')) === 'paused',
      'the control key saying paused',
    );
    expect(await file.redis.hget(keys.jobControl(FIXTURE_JOB), 'updatedBy')).toBe(
      `${ADMIN.username} (admin http)`,
    );
    await expect.poll(() => row.locator('.badge.state').textContent(), { timeout: 15_000 }).toBe('paused');
    await expect.poll(() => row.locator('button.control').getAttribute('data-action')).toBe('resume');

    // the job page draws its chart and lists its outcomes
    await row.locator('td').first().click();
    await page.waitForSelector('#job-chart canvas');
    await expect.poll(() => page.locator('#job-outcomes tbody tr').count()).toBeGreaterThan(0);
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-job.png'), fullPage: true });
    await page.click('nav a[data-view="jobs"]');
    await expect.poll(() => row.locator('.badge.state').textContent()).toBe('paused');

    // the audit view lists who requeued and paused; the timers view renders (nothing is due in this run)
    await page.click('nav a[data-view="audit"]');
    await expect
      .poll(() => page.locator('#audit tbody td.mono').allTextContents())
      .toEqual(expect.arrayContaining(['dlq.requeue', 'job.pause']));
    await page.click('nav a[data-view="timers"]');
    await expect.poll(() => page.textContent('#timers-summary')).toMatch(/^\d+ timers?$/);
    await page.click('nav a[data-view="jobs"]');
    await expect.poll(() => row.locator('.badge.state').textContent()).toBe('paused');

    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(existsSync(SCREENSHOT)).toBe(true);
    expect(problems).toEqual([]);
  });
});
