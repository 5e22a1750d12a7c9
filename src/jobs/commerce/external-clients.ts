// SSRF-guarded fetchers of the commerce jobs that need other limits than the worker's shared one (EXTERNAL_*): a
// longer deadline for LLM calls, no redirects for webhook deliveries. Same guard settings (allow lists, http, caps).
import { createExternalFetcher } from '../../sinks/external-fetch.js';
import type { ExternalFetcher } from '../../sinks/external-fetch.js';
import type { PackContext } from '../pack-context.js';

export interface FetcherOverrides {
  readonly timeoutMs?: number;
  readonly maxRedirects?: number;
  readonly maxBytes?: number;
}

/**
 * A fetcher with the worker's SSRF guard settings and these overrides. Built once per job definition and kept for
 * the process's life (the pack context has no close hook; its idle sockets close on the agent's keep-alive timeout).
 */
export function guardedFetcher(context: PackContext, overrides: FetcherOverrides): ExternalFetcher {
  const { external, service } = context.config;
  return createExternalFetcher(
    {
      allowHosts: [...external.allowHosts],
      allowHttp: external.allowHttp,
      allowLoopbackHosts: [...external.allowLoopbackHosts],
      maxBytes: overrides.maxBytes ?? external.maxBytes,
      timeoutMs: overrides.timeoutMs ?? external.timeoutMs,
      connectTimeoutMs: external.connectTimeoutMs,
      maxRedirects: overrides.maxRedirects ?? external.maxRedirects,
      userAgent: `${service.name} (${service.id})`,
    },
    { logger: context.logger },
  );
}
