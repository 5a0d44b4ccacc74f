// The one place our code loads oidc-provider's code from (types may still come from
// 'oidc-provider'): its runtime notice is held while it loads (runtime-notice.ts). The order
// of the three statements below is the point: ES modules are evaluated in import order.
import { stopHoldingRuntimeNotice, takeRuntimeNotice } from './runtime-notice.js';
import Provider, { errors, interactionPolicy } from 'oidc-provider';

stopHoldingRuntimeNotice();

export { errors, interactionPolicy, Provider, takeRuntimeNotice };
