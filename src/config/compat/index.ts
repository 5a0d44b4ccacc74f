export { fromClaudeDesktop, isClaudeDesktopDocument } from './claude-desktop.js';
export { fromTbxark, isTbxarkDocument } from './tbxark.js';
export { fromEnvironment, hasEnvironmentConfig } from './environment.js';
