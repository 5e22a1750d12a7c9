// The Helm chart without helm: values.yaml against values.schema.json (ajv), what the schema must refuse, the
// invariants the templates enforce with `fail`, template structure (balanced blocks, defined includes, declared
// values), and the chart's env, PROCESSORS and KEDA triggers against the worker's config schema, catalog and keys.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Ajv from 'ajv';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import {
  describeVariables,
  loadConfig,
  resolveProcessors,
  unusedEnableFlags,
} from '../../src/config/index.js';
import type { WorkerConfig } from '../../src/config/index.js';
import { jobPacks, packJobsOf } from '../../src/jobs/catalog.js';
import type { PackJob } from '../../src/jobs/catalog.js';
import { STOP_MARGIN_MS } from '../../src/main.js';
import { createKeyBuilder } from '../../src/streams/keys.js';
import { CRON_DOMAIN, strayCronVariables } from '../../src/worker-cron.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CHART = join(ROOT, 'deploy/helm/fuze-workers');
const TEMPLATES = join(CHART, 'templates');

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

interface KedaGroup {
  domain: string;
  group: string;
}

interface ProcessorSet {
  enabled?: boolean;
  processors: string;
  replicas?: number;
  resources?: Resources;
  env?: Record<string, string>;
  keda?: {
    enabled: boolean;
    minReplicaCount?: number;
    maxReplicaCount?: number;
    lagCount?: number;
    activationLagCount?: number;
    groups?: KedaGroup[];
  };
}

interface Resources {
  requests?: { cpu?: string; memory?: string };
  limits?: { cpu?: string; memory?: string };
}

interface Values {
  resources: Resources;
  envFrom: { secretRef?: string; configMapRef?: string }[];
  config: Record<string, string>;
  terminationGracePeriodSeconds: number;
  processorSets: Record<string, ProcessorSet>;
  keda: { enabled: boolean; redis: { type: string; address: string } };
  probes: Record<'startup' | 'liveness' | 'readiness', { path: string }>;
  podSecurityContext: { runAsNonRoot: boolean; runAsUser: number };
}

const valuesText = readFileSync(join(CHART, 'values.yaml'), 'utf8');
const values = parseYaml(valuesText) as Values;
const schema = JSON.parse(readFileSync(join(CHART, 'values.schema.json'), 'utf8')) as Record<string, Json>;
const ajv = new Ajv({ allErrors: true, jsonPointers: true });
const validate = ajv.compile(schema);

/** Validation errors as `path message` lines, [] when valid. */
function schemaErrors(candidate: unknown): string[] {
  if (validate(candidate)) return [];
  return (validate.errors ?? []).map((error) => `${error.dataPath || '/'} ${error.message ?? ''}`.trim());
}

function valuesWith(change: (copy: Values) => void): Values {
  const copy = structuredClone(values);
  change(copy);
  return copy;
}

function set(copy: Values, name: string): ProcessorSet {
  const found = copy.processorSets[name];
  if (found === undefined) throw new Error(`values.yaml has no processor set ${name}`);
  return found;
}

const enabledSets = Object.entries(values.processorSets).filter(([, s]) => s.enabled !== false);
const kedaSets = enabledSets.filter(([, s]) => values.keda.enabled && s.keda?.enabled === true);

/** Secrets the pods read from the secret, stand-ins here: the config schema only sees their presence. */
const SECRET_STAND_INS = {
  REDIS_URL: 'redis://:stand-in-password@redis-master:6379',
  SERVICE_JWT_PRIVATE_JWK: '{"kty":"OKP","crv":"Ed25519","d":"stand-in","x":"stand-in"}',
};

/** What a pod of the set sees: ConfigMap, then the secret, then the set's own env (env wins over envFrom). */
function podEnvironment(processorSet: ProcessorSet): Record<string, string> {
  return {
    ...values.config,
    ...SECRET_STAND_INS,
    PROCESSORS: processorSet.processors,
    ...processorSet.env,
  };
}

function packJobsFor(environment: Record<string, string>): PackJob[] {
  return jobPacks.flatMap((pack) => [...packJobsOf(pack, environment)]);
}

function jobsOf(processorSet: ProcessorSet): { config: WorkerConfig; jobs: PackJob[]; selected: string[] } {
  const environment = podEnvironment(processorSet);
  const config = loadConfig(environment, { envFile: false });
  const jobs = packJobsFor(environment);
  const selected = resolveProcessors(
    jobs.map((job) => job.catalog),
    config.jobs.processors,
    config.jobs.enableFlags,
  );
  return { config, jobs, selected };
}

/** Kubernetes memory quantity -> bytes (the suffixes values.schema.json allows). */
function bytesOf(quantity: string): number {
  const match = /^([0-9.]+)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(quantity);
  if (match === null) throw new Error(`not a memory quantity: ${quantity}`);
  const units: Record<string, number> = {
    '': 1,
    k: 1e3,
    M: 1e6,
    G: 1e9,
    T: 1e12,
    Ki: 2 ** 10,
    Mi: 2 ** 20,
    Gi: 2 ** 30,
    Ti: 2 ** 40,
  };
  return Number(match[1]) * (units[match[2] ?? ''] ?? Number.NaN);
}

function templateFiles(): { name: string; text: string }[] {
  return readdirSync(TEMPLATES)
    .sort()
    .map((name) => ({ name, text: readFileSync(join(TEMPLATES, name), 'utf8') }));
}

/** Template actions without comments (`{{/* … *\/}}`), each as its inner text. */
function actionsOf(text: string): string[] {
  const withoutComments = text.replace(/\{\{-?\s*\/\*[\s\S]*?\*\/\s*-?\}\}/g, '');
  return [...withoutComments.matchAll(/\{\{-?([\s\S]*?)-?\}\}/g)].map((match) => (match[1] ?? '').trim());
}

/** The schema node a dotted path leads to (following $ref and additionalProperties), undefined if undeclared. */
function schemaAt(
  path: readonly string[],
  node: Record<string, Json> = schema,
): Record<string, Json> | undefined {
  let current: Record<string, Json> | undefined = node;
  for (const segment of path) {
    current = resolveRef(current);
    if (current === undefined) return undefined;
    const properties = current['properties'] as Record<string, Record<string, Json>> | undefined;
    const additional = current['additionalProperties'];
    current =
      properties?.[segment] ??
      (typeof additional === 'object' && additional !== null && !Array.isArray(additional)
        ? additional
        : undefined);
  }
  return resolveRef(current);
}

/** A property (or `items`) of a schema node. */
function childOf(node: Record<string, Json> | undefined, key: string): Record<string, Json> | undefined {
  const next =
    key === 'items' ? node?.['items'] : (node?.['properties'] as Record<string, Json> | undefined)?.[key];
  return typeof next === 'object' && next !== null && !Array.isArray(next) ? next : undefined;
}

function resolveRef(node: Record<string, Json> | undefined): Record<string, Json> | undefined {
  const ref = node?.['$ref'];
  if (typeof ref !== 'string') return node;
  const definitions = schema['definitions'] as Record<string, Record<string, Json>>;
  return resolveRef(definitions[ref.replace('#/definitions/', '')]);
}

describe('values.yaml', () => {
  it('validates against values.schema.json', () => {
    expect(schemaErrors(values)).toEqual([]);
  });

  it('reads the same under YAML 1.1 (what Helm’s parser follows) as under 1.2: no yes/no/on/off surprises', () => {
    expect(parseYaml(valuesText, { version: '1.1' })).toEqual(values);
  });

  it('keeps seed 001’s requests/limits and envFrom secretRef', () => {
    expect(values.resources).toEqual({
      requests: { cpu: '100m', memory: '256Mi' },
      limits: { cpu: '500m', memory: '512Mi' },
    });
    expect(values.envFrom).toContainEqual({ secretRef: 'workers-secrets' });
  });

  it('probes /healthz for start-up and liveness and /readyz for readiness', () => {
    expect(values.probes.startup.path).toBe('/healthz');
    expect(values.probes.liveness.path).toBe('/healthz');
    expect(values.probes.readiness.path).toBe('/readyz');
  });

  it('runs as the image’s non-root uid', () => {
    expect(values.podSecurityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000 });
    expect(readFileSync(join(ROOT, 'Dockerfile'), 'utf8')).toMatch(/^USER 1000:1000$/m);
  });

  it.each(enabledSets)(
    'set %s: terminationGracePeriodSeconds is above SHUTDOWN_GRACE_MS + the shutdown margin',
    (_name, processorSet) => {
      const { config } = jobsOf(processorSet);
      expect(values.terminationGracePeriodSeconds * 1000).toBeGreaterThan(
        config.consumer.shutdownGraceMs + STOP_MARGIN_MS,
      );
    },
  );

  it('the template’s grace check uses the worker’s own shutdown margin', () => {
    const helpers = readFileSync(join(TEMPLATES, '_helpers.tpl'), 'utf8');
    expect(helpers).toContain(`$stopMarginMs := ${STOP_MARGIN_MS}`);
  });

  it.each(enabledSets)(
    'set %s: the pod environment passes the worker’s config schema',
    (_name, processorSet) => {
      const { config, jobs, selected } = jobsOf(processorSet);
      expect(selected.length).toBeGreaterThan(0);
      expect(
        unusedEnableFlags(
          jobs.map((job) => job.catalog),
          config.jobs.enableFlags,
        ),
      ).toEqual([]);
      expect(strayCronVariables(jobs, config)).toEqual([]);
      expect(String(config.admin.port)).toBe(values.config['PORT']);
    },
  );

  it.each(enabledSets)('set %s: the V8 heap cap stays below the memory limit', (_name, processorSet) => {
    const environment = podEnvironment(processorSet);
    const limit = (processorSet.resources?.limits ?? values.resources.limits)?.memory;
    expect(limit).toBeDefined();
    const heapMb = /--max-old-space-size=(\d+)/.exec(environment['NODE_OPTIONS'] ?? '')?.[1];
    expect(heapMb, 'NODE_OPTIONS sets --max-old-space-size').toBeDefined();
    expect(Number(heapMb) * 2 ** 20).toBeLessThan(bytesOf(limit ?? '0') * 0.9);
  });

  it('every ConfigMap variable is one the worker knows', () => {
    const environment = podEnvironment({ processors: 'escrow' });
    const config = loadConfig(environment, { envFile: false });
    const jobs = packJobsFor(environment);
    const known = new Set(describeVariables().map(({ name }) => name));
    const unknown = Object.keys(values.config).filter(
      (name) =>
        !known.has(name) &&
        !name.startsWith('ENABLE_') &&
        !name.startsWith('CRON_') &&
        name !== 'NODE_OPTIONS',
    );
    expect(unknown).toEqual([]);
    expect(
      unusedEnableFlags(
        jobs.map((job) => job.catalog),
        config.jobs.enableFlags,
      ),
    ).toEqual([]);
  });
});

describe('KEDA', () => {
  it('scales at least one set, never to zero, with min <= max', () => {
    expect(kedaSets.length).toBeGreaterThan(0);
    for (const [name, processorSet] of kedaSets) {
      const keda = processorSet.keda;
      expect(keda?.minReplicaCount, name).toBeGreaterThanOrEqual(1);
      expect(keda?.minReplicaCount, name).toBeLessThanOrEqual(keda?.maxReplicaCount ?? 0);
    }
  });

  it.each(kedaSets)(
    'set %s: each trigger group is a job of the set in that domain, and every event job has one',
    (_name, processorSet) => {
      const { jobs, selected } = jobsOf(processorSet);
      const domainOf = new Map(jobs.map((job) => [job.catalog.name, job.catalog.domain]));
      const groups = processorSet.keda?.groups ?? [];
      for (const { domain, group } of groups) {
        expect(selected, `${group} is selected by PROCESSORS=${processorSet.processors}`).toContain(group);
        expect(domainOf.get(group)).toBe(domain);
      }
      // cron jobs are driven by ticks the workers themselves put on the wheel: lag there is not demand
      const eventJobs = selected.filter((job) => domainOf.get(job) !== CRON_DOMAIN);
      expect(groups.map(({ group }) => group).sort()).toEqual(eventJobs.sort());
    },
  );

  it('the trigger streams are the partition streams the key builder names', () => {
    const helpers = readFileSync(join(TEMPLATES, '_helpers.tpl'), 'utf8');
    const format =
      /define "fuze-workers\.partitionStream"[\s\S]*?printf "([^"]+)" \.prefix \.domain \.partition/.exec(
        helpers,
      )?.[1];
    expect(format).toBeDefined();
    const prefix = values.config['QUEUE_PREFIX'] ?? 'tg';
    const partitions = Number(values.config['PARTITIONS_DEFAULT']);
    const keys = createKeyBuilder({ prefix });
    for (const [, processorSet] of kedaSets) {
      for (const { domain } of processorSet.keda?.groups ?? []) {
        for (let partition = 0; partition < partitions; partition++) {
          const rendered = [prefix, domain, String(partition)].reduce(
            (text, part) => text.replace(/%[sd]/, part),
            format ?? '',
          );
          expect(rendered).toBe(keys.partition(domain, partition).stream);
        }
      }
    }
  });

  it('renders one trigger per (group, partition) with lagCount, for Redis 7+', () => {
    const template = readFileSync(join(TEMPLATES, 'scaledobject.yaml'), 'utf8');
    expect(template).toMatch(/\$keda := default \(dict\) \$set\.keda/);
    expect(template).toMatch(/range \$target := \$keda\.groups/);
    expect(template).toMatch(/range \$partition := until \$partitions/);
    expect(template).toMatch(/lagCount: \{\{ \$keda\.lagCount \| quote \}\}/);
    expect(template).toMatch(/activationLagCount:/);
    expect(template).toContain('consumerGroup:');
    expect(values.keda.redis.address).not.toMatch(/^rediss?:/);
  });
});

describe('values.schema.json refuses', () => {
  const cases: [string, (copy: Values) => void][] = [
    ['the JWK in the ConfigMap', (c) => (c.config['SERVICE_JWT_PRIVATE_JWK'] = '{}')],
    ['REDIS_URL in the ConfigMap', (c) => (c.config['REDIS_URL'] = 'redis://:pw@redis:6379')],
    ['an admin password in the ConfigMap', (c) => (c.config['ADMIN_PASSWORD'] = 'x'.repeat(16))],
    ['an admin token in a set’s env', (c) => (set(c, 'escrow').env = { ADMIN_TOKEN: 'x'.repeat(32) })],
    ['PROCESSORS in the ConfigMap', (c) => (c.config['PROCESSORS'] = 'escrow')],
    ['PROCESSORS in a set’s env', (c) => (set(c, 'escrow').env = { PROCESSORS: 'playhub' })],
    ['a number in the ConfigMap', (c) => ((c.config as Record<string, unknown>)['PARTITIONS_DEFAULT'] = 4)],
    ['a ConfigMap without SHUTDOWN_GRACE_MS', (c) => delete c.config['SHUTDOWN_GRACE_MS']],
    ['ALLOW_UNSAFE_REDIS=true', (c) => (c.config['ALLOW_UNSAFE_REDIS'] = 'true')],
    [
      'KEDA scaling to zero',
      (c) => (set(c, 'escrow').keda = { ...set(c, 'escrow').keda!, minReplicaCount: 0 }),
    ],
    ['KEDA without groups', (c) => (set(c, 'escrow').keda = { ...set(c, 'escrow').keda!, groups: [] })],
    ['KEDA enabled without a lagCount', (c) => delete set(c, 'escrow').keda!.lagCount],
    ['a redis:// URL as the KEDA address', (c) => (c.keda.redis.address = 'redis://redis-master:6379')],
    ['an unknown KEDA scaler type', (c) => (c.keda.redis.type = 'redis')],
    ['a set name Kubernetes cannot use', (c) => (c.processorSets['Bad_Name'] = { processors: 'escrow' })],
    ['a set without processors', (c) => delete (set(c, 'escrow') as Partial<ProcessorSet>).processors],
    ['a memory limit without a unit Kubernetes knows', (c) => (c.resources.limits = { memory: '512MB' })],
    [
      'a PDB with both minAvailable and maxUnavailable',
      (c) =>
        ((c as unknown as { podDisruptionBudget: object }).podDisruptionBudget = {
          enabled: true,
          minAvailable: 1,
          maxUnavailable: 1,
        }),
    ],
    ['running as root', (c) => (c.podSecurityContext.runAsNonRoot = false)],
    ['an unknown top-level key (a typo)', (c) => ((c as unknown as Record<string, unknown>)['replicas'] = 3)],
  ];

  it.each(cases)('%s', (_what, change) => {
    expect(schemaErrors(valuesWith(change))).not.toEqual([]);
  });

  it('but accepts the chart rendering its own Secret', () => {
    const withSecret = valuesWith((c) => {
      (c as unknown as { secret: object }).secret = {
        create: true,
        stringData: { REDIS_URL: 'redis://:pw@redis:6379', REDIS_PASSWORD: 'pw' },
      };
    });
    expect(schemaErrors(withSecret)).toEqual([]);
  });
});

describe('templates (render-free)', () => {
  const files = templateFiles();

  it.each(files.map(({ name, text }) => [name, text] as const))(
    '%s: every if/range/with/define has its end',
    (_name, text) => {
      let depth = 0;
      for (const action of actionsOf(text)) {
        if (/^(if|range|with|define|block)\b/.test(action)) depth++;
        else if (/^end\b/.test(action)) depth--;
        expect(depth).toBeGreaterThanOrEqual(0);
      }
      expect(depth).toBe(0);
    },
  );

  it('every include names a defined template', () => {
    const all = files.map(({ text }) => text).join('\n');
    const defined = new Set([...all.matchAll(/define "([^"]+)"/g)].map((match) => match[1]));
    const used = new Set([...all.matchAll(/(?:include|template) "([^"]+)"/g)].map((match) => match[1]));
    expect([...used].filter((name) => !defined.has(name))).toEqual([]);
  });

  it('every .Values path a template reads is declared in values.schema.json', () => {
    const paths = new Set(
      files.flatMap(({ text }) =>
        [...text.matchAll(/\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)/g)].map((m) => m[1]),
      ),
    );
    expect(paths.size).toBeGreaterThan(20);
    const undeclared = [...paths].filter((path) => schemaAt((path ?? '').slice(1).split('.')) === undefined);
    expect(undeclared).toEqual([]);
  });

  it.each([
    ['$set', ['processorSet']],
    ['$keda', ['processorSet', 'keda']],
    ['$target', ['processorSet', 'keda', 'groups', 'items']],
    ['$redis', null],
  ] as const)('every %s field a template reads is declared in the schema', (variable, at) => {
    const definitions = schema['definitions'] as Record<string, Record<string, Json>>;
    const [definition = '', ...inner] = at ?? [];
    const root =
      at === null
        ? schemaAt(['keda', 'redis'])
        : inner.reduce<Record<string, Json> | undefined>(
            (node, key) => resolveRef(childOf(node, key)),
            definitions[definition],
          );
    expect(root).toBeDefined();
    const pattern = new RegExp(`\\${variable}((?:\\.[A-Za-z_][A-Za-z0-9_]*)+)`, 'g');
    const fields = new Set(files.flatMap(({ text }) => [...text.matchAll(pattern)].map((m) => m[1])));
    expect(fields.size).toBeGreaterThan(0);
    const undeclared = [...fields].filter(
      (field) => schemaAt((field ?? '').slice(1).split('.'), root) === undefined,
    );
    expect(undeclared).toEqual([]);
  });

  it('renders a Deployment, PDB and ScaledObject per set, a ConfigMap, Service and TriggerAuthentication', () => {
    const kinds = files.flatMap(({ text }) => [...text.matchAll(/^kind: (\w+)$/gm)].map((m) => m[1]));
    expect(kinds.sort()).toEqual(
      [
        'ConfigMap',
        'Deployment',
        'PodDisruptionBudget',
        'ScaledObject',
        'Secret',
        'Service',
        'ServiceAccount',
        'ServiceMonitor',
        'TriggerAuthentication',
      ].sort(),
    );
    const deployment = readFileSync(join(TEMPLATES, 'deployment.yaml'), 'utf8');
    expect(deployment).toMatch(/range \$name, \$set := \.Values\.processorSets/);
    expect(deployment).toMatch(
      /terminationGracePeriodSeconds: \{\{ \$\.Values\.terminationGracePeriodSeconds \}\}/,
    );
    // KEDA owns the replica count of the sets it scales: a rendered `replicas` would fight its HPA on upgrade
    expect(deployment).toMatch(/if not \$scaled \}\}\s+replicas:/);
  });

  it('Chart.yaml names the chart and the app version of package.json', () => {
    const chart = parseYaml(readFileSync(join(CHART, 'Chart.yaml'), 'utf8')) as Record<string, string>;
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(chart).toMatchObject({ apiVersion: 'v2', name: 'fuze-workers', appVersion: pkg.version });
  });
});
