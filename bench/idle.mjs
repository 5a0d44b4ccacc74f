// Idles: the plain-node twin of idle.ts (see run.ts, tsxOverhead).
import { setInterval } from 'node:timers';
import process from 'node:process';

setInterval(() => {}, 1 << 30);
process.stdout.write('idle\n');
