export { ConfigError, type ConfigIssue } from './errors.js';
export {
  DEFAULT_CONFIG_FILES,
  dotEnvDocument,
  environmentDocument,
  findDefaultConfig,
  findNativeDocument,
  loadConfig,
  readNativeDocument,
  resolveConfig,
  toNative,
  type LoadOptions,
  type ResolveOptions,
  type NativeDocument,
} from './load.js';
export { CALLBACK_PREFIX, defaultCallbackPath } from './callback-path.js';
export { configJsonSchema } from './json-schema.js';
export { issuerFor } from './issuer.js';
export { protectedResourceList } from './serve-checks.js';
export { ENVIRONMENT_CLIENT_REDIRECTS, ENVIRONMENT_VARIABLES, environmentRedirectAdvice } from './compat/index.js';
export { GatehouseConfigSchema, PreRegisteredClientSchema, SERVER_NAME_PATTERN, type GatehouseConfigInput } from './schema.js';
export type {
  ConfigFormat,
  ResolvedAuth,
  ResolvedConfig,
  ResolvedOutboundOAuth,
  ResolvedRemoteServer,
  ResolvedServer,
  ResolvedStdioServer,
  ResolvedStore,
  ToolFilter,
} from './resolved.js';
export { parseDuration, parseListen, parseSize } from './units.js';
export { configWarnings, isLoopbackListen, type WarnedConfig } from './warnings.js';
export { REDIRECT_PRESET_NAMES, REDIRECT_PRESETS, type RedirectPreset } from './redirect-presets.js';
