export { createLogger, redactUrl, REDACTED_PATHS, silentLogger, type Logger, type LoggerSettings } from './logger.js';
