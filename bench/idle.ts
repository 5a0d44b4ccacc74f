// Idles: used by the benchmark to measure what `node --import tsx` alone adds to RSS.
const forever: number = 1 << 30;
setInterval(() => {}, forever);
process.stdout.write('idle\n');
