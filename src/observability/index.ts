export { createLogger, redactPathToken, redactUrl, REDACTED_PATHS, silentLogger, type Logger, type LoggerSettings } from './logger.js';
export { routeSdkWarnings } from './library-warnings.js';
export { Counter, Gauge, Metrics } from './metrics.js';
