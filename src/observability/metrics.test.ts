import { describe, expect, it } from 'vitest';
import { Metrics } from './metrics.js';

describe('metrics', () => {
  it('renders counters and gauges in the Prometheus text format', () => {
    const m = new Metrics();
    const c = m.counter('gatehouse_requests_total', 'Requests.');
    c.inc({ route: 'mcp', status: '200' });
    c.inc({ status: '200', route: 'mcp' });
    c.inc({ route: 'sse', status: '401' });
    m.gauge('gatehouse_upstream_up', 'Upstreams up.', () => [[{ server: 'a"b' }, 1]]);
    const text = m.render();
    expect(text).toContain('# TYPE gatehouse_requests_total counter');
    expect(text).toContain('gatehouse_requests_total{route="mcp",status="200"} 2');
    expect(text).toContain('gatehouse_requests_total{route="sse",status="401"} 1');
    expect(text).toContain('gatehouse_upstream_up{server="a\\"b"} 1');
    expect(text).toMatch(/process_resident_memory_bytes \d+/);
  });
});
