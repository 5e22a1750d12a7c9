// OpenTelemetry tracing for the worker process: @opentelemetry/sdk-node configured from the standard OTEL_* variables
// (exporter, endpoint, protocol, sampler, resource), off unless an exporter or an OTLP endpoint is set. Traces only:
// the SDK's metrics and logs stay off (Prometheus and pino cover those), and no auto-instrumentation is loaded.
import { NodeSDK } from '@opentelemetry/sdk-node';
import type { SpanProcessor } from '@opentelemetry/sdk-trace-base';

export type TracingEnvironment = Readonly<Record<string, string | undefined>>;

export interface TracingOptions {
  /** Decides on/off only: the SDK itself reads `process.env`. Default `process.env`. */
  readonly env?: TracingEnvironment;
  /** `service.name` when OTEL_SERVICE_NAME is unset (e.g. SERVICE_NAME of the config). */
  readonly serviceName?: string;
  /** Span processors to use instead of the exporters OTEL_* names (tests: an in-memory exporter); turns tracing on. */
  readonly spanProcessors?: SpanProcessor[];
}

export interface Tracing {
  /** Flushes spans not yet exported and stops the SDK. */
  shutdown(): Promise<void>;
}

/**
 * True when the environment asks for traces: OTEL_TRACES_EXPORTER names an exporter other than `none`, or an OTLP
 * endpoint is set (OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT). OTEL_SDK_DISABLED=true wins.
 */
export function tracingRequested(env: TracingEnvironment): boolean {
  if (env['OTEL_SDK_DISABLED']?.trim().toLowerCase() === 'true') return false;
  const exporters = (env['OTEL_TRACES_EXPORTER'] ?? '')
    .split(',')
    .map((name) => name.trim().toLowerCase())
    .filter((name) => name !== '');
  if (exporters.includes('none')) return false;
  if (exporters.length > 0) return true;
  return [env['OTEL_EXPORTER_OTLP_ENDPOINT'], env['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT']].some(
    (value) => value !== undefined && value.trim() !== '',
  );
}

/** Starts the SDK and registers it globally (tracer provider, AsyncLocalStorage context, W3C propagator); undefined when off. */
export function startTracing(options: TracingOptions = {}): Tracing | undefined {
  const env = options.env ?? process.env;
  if (options.spanProcessors === undefined && !tracingRequested(env)) return undefined;
  const serviceName = env['OTEL_SERVICE_NAME'] ?? options.serviceName;
  const sdk = new NodeSDK({
    ...(serviceName === undefined ? {} : { serviceName }),
    ...(options.spanProcessors === undefined ? {} : { spanProcessors: options.spanProcessors }),
    metricReaders: [],
    logRecordProcessors: [],
    instrumentations: [],
  });
  sdk.start();
  return { shutdown: () => sdk.shutdown() };
}
