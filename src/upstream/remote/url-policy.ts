import { isLoopbackHost, remoteUrlProblem } from '../../config/remote-url.js';
import { RemoteLinkError } from './errors.js';

export { isLoopbackHost };

/**
 * The remote URL policy (config/remote-url.ts) as the remote link applies it: https, or http to
 * this machine, or `allowHttp`; no credentials in the URL. A config's servers were checked when
 * it was resolved (`servers.NAME.url: ...`); this says the command line's words (`--allow-http`).
 */
export function checkRemoteUrl(raw: string, options: { readonly allowHttp?: boolean } = {}): URL {
  const problem = remoteUrlProblem(raw, { allowHttp: options.allowHttp, howToAllowHttp: 'allow it explicitly with --allow-http (allowHttp: true)' });
  if (problem !== undefined) throw new RemoteLinkError('insecure-url', problem);
  return new URL(raw);
}
