import { execFileSync } from 'node:child_process';

/** Whether `openssl` runs here: it makes the throwaway certificates of the https tests (.ci/run installs it). */
export const hasOpenssl: boolean = (() => {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
