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

  it('counts a cached series into the same line as inc with the same labels', () => {
    const m = new Metrics();
    const c = m.counter('gatehouse_requests_total', 'Requests.');
    let built = 0;
    const labels = () => {
      built++;
      return { route: 'mcp', status: '200' };
    };
    c.incCached('mcp200', labels);
    c.incCached('mcp200', labels);
    c.inc({ status: '200', route: 'mcp' });
    c.incCached('sse401', () => ({ route: 'sse', status: '401' }));
    expect(built).toBe(1);
    const text = m.render();
    expect(text).toContain('gatehouse_requests_total{route="mcp",status="200"} 3');
    expect(text).toContain('gatehouse_requests_total{route="sse",status="401"} 1');
  });
});
