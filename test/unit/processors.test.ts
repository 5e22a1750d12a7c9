// Tests of the job resolver: PROCESSORS names and aliases, ENABLE_* toggles, and the errors between them.
import { describe, expect, it } from 'vitest';
import { resolveProcessors, unusedEnableFlags } from '../../src/config/index.js';
import type { JobCatalogEntry } from '../../src/config/index.js';
import { ConfigError } from '../../src/errors.js';

const catalog: readonly JobCatalogEntry[] = [
  { name: 'cfb.settle', domain: 'playhub', enableFlag: 'ENABLE_CFB_SETTLE' },
  {
    name: 'cfb.price.sample',
    domain: 'playhub',
    enableFlag: 'ENABLE_PRICE_SAMPLER',
    enabledByDefault: false,
  },
  { name: 'escrow.expire', domain: 'escrow', enableFlag: 'ENABLE_ESCROW' },
  { name: 'escrow.adjudicate', domain: 'escrow', enableFlag: 'ENABLE_ESCROW' },
  {
    name: 'payhub.orphan_holds.gc',
    domain: 'payhub',
    aliases: ['recon'],
    enableFlag: 'ENABLE_RECON_ORPHAN_HOLDS',
  },
];

function resolveError(
  processors: readonly string[] | undefined,
  flags: Record<string, boolean> = {},
): ConfigError {
  try {
    resolveProcessors(catalog, processors, flags);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error(`expected a ConfigError for PROCESSORS=${String(processors)}`);
}

describe('resolveProcessors with PROCESSORS', () => {
  it('runs cfb.settle and every escrow job for PROCESSORS=cfb.settle,escrow (the issue example)', () => {
    expect(resolveProcessors(catalog, ['cfb.settle', 'escrow'], {})).toEqual([
      'cfb.settle',
      'escrow.adjudicate',
      'escrow.expire',
    ]);
  });

  it('accepts the domain, a listed alias or the first dotted segment as an alias', () => {
    expect(resolveProcessors(catalog, ['playhub'], {})).toEqual(['cfb.price.sample', 'cfb.settle']);
    expect(resolveProcessors(catalog, ['cfb'], {})).toEqual(['cfb.price.sample', 'cfb.settle']);
    expect(resolveProcessors(catalog, ['payhub'], {})).toEqual(['payhub.orphan_holds.gc']);
    expect(resolveProcessors(catalog, ['recon'], {})).toEqual(['payhub.orphan_holds.gc']);
  });

  it('runs a job named explicitly even when it is off by default', () => {
    expect(resolveProcessors(catalog, ['cfb.price.sample'], {})).toEqual(['cfb.price.sample']);
  });

  it('fails on a name that matches nothing, listing every known job name and alias', () => {
    const error = resolveError(['cfb.settle', 'escrw', 'games']);
    expect(error.variable).toBe('PROCESSORS');
    expect(error.message).toContain('PROCESSORS: unknown "escrw", "games"');
    expect(error.message).toContain(
      'job names: cfb.price.sample, cfb.settle, escrow.adjudicate, escrow.expire, payhub.orphan_holds.gc',
    );
    expect(error.message).toContain('aliases: cfb, escrow, payhub, playhub, recon');
  });

  it('refuses a job named in PROCESSORS whose ENABLE_ flag is false, naming both variables', () => {
    const error = resolveError(['cfb.settle', 'escrow'], { ENABLE_CFB_SETTLE: false });
    expect(error.variable).toBe('PROCESSORS');
    expect(error.message).toContain(
      'PROCESSORS: "cfb.settle" selects cfb.settle but ENABLE_CFB_SETTLE=false',
    );
  });

  it('refuses an alias whose every job is switched off', () => {
    const error = resolveError(['escrow'], { ENABLE_ESCROW: false });
    expect(error.message).toContain('"escrow" selects escrow.expire but ENABLE_ESCROW=false');
    expect(error.message).toContain('"escrow" selects escrow.adjudicate but ENABLE_ESCROW=false');
  });

  it('leaves out a job of an alias that its own flag switches off', () => {
    expect(resolveProcessors(catalog, ['cfb'], { ENABLE_PRICE_SAMPLER: false })).toEqual(['cfb.settle']);
  });
});

describe('resolveProcessors without PROCESSORS', () => {
  it('runs every job enabled by default when no flag is set', () => {
    expect(resolveProcessors(catalog, undefined, {})).toEqual([
      'cfb.settle',
      'escrow.adjudicate',
      'escrow.expire',
      'payhub.orphan_holds.gc',
    ]);
  });

  it('follows the ENABLE_ flags alone: false switches off, true switches on an optional job', () => {
    expect(
      resolveProcessors(catalog, undefined, {
        ENABLE_CFB_SETTLE: true,
        ENABLE_PRICE_SAMPLER: true,
        ENABLE_ESCROW: false,
        ENABLE_RECON_ORPHAN_HOLDS: false,
      }),
    ).toEqual(['cfb.price.sample', 'cfb.settle']);
  });

  it('runs nothing for an empty catalog, and reports flags no job uses', () => {
    expect(resolveProcessors([], undefined, { ENABLE_ESCROW: true })).toEqual([]);
    expect(unusedEnableFlags(catalog, { ENABLE_ESCROW: true, ENABLE_ESCROWW: false })).toEqual([
      'ENABLE_ESCROWW',
    ]);
  });
});
