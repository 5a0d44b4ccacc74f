export { escapeHtml, html, raw, type SafeHtml } from './html.js';
export {
  PAGE_CSP,
  PAGE_HEADERS,
  renderConsentPage,
  renderErrorPage,
  renderLoginPage,
  type ConsentPageModel,
  type ErrorPageModel,
  type LoginPageModel,
  type LoginProviderButton,
} from './pages.js';
export { usePageTemplateDirectory, type TemplateLogger } from './page-templates.js';
export { ejectTemplates, TemplatesExistError } from './eject-templates.js';
