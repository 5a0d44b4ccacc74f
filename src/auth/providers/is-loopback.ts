/** http is accepted only towards a loopback host (local stand-ins); the config schema refuses it elsewhere. */
export function isLoopbackHttp(url: string): boolean {
  const u = URL.parse(url);
  if (!u || u.protocol !== 'http:') return false;
  return u.hostname === 'localhost' || u.hostname === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(u.hostname);
}
