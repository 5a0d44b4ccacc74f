export { fromClaudeDesktop, isClaudeDesktopDocument } from './claude-desktop.js';
export { fromTbxark, isTbxarkDocument, type Converted } from './tbxark.js';
export { ENVIRONMENT_CLIENT_REDIRECTS, ENVIRONMENT_VARIABLES, environmentRedirectAdvice, fromEnvironment, hasEnvironmentConfig, parseDotEnv } from './environment.js';
