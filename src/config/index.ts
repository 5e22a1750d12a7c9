// The configuration module: environment schema, loader and the PROCESSORS/ENABLE_* resolver.
export {
  ADMIN_ROLES,
  CRON_PREFIX,
  ENABLE_FLAG_PREFIX,
  LOG_LEVELS,
  NODE_ENVS,
  SERVICE_URL_VARIABLES,
  describeVariables,
  workerEnvSchema,
} from './env-schema.js';
export type {
  AdminRole,
  AdminRoleCredentials,
  LogLevel,
  NodeEnv,
  QueueHealthThresholds,
  ServiceName,
  WorkerConfig,
} from './env-schema.js';
export { BOOLEAN_EXPECTED, parseBooleanFlag } from './env-variables.js';
export type { SentinelAddress } from './env-variables.js';
export { isSecretVariable, loadConfig, loadEnvironment } from './load-config.js';
export type { LoadConfigOptions } from './load-config.js';
export { resolveProcessors, unusedEnableFlags } from './processors.js';
export type { JobCatalogEntry } from './processors.js';
