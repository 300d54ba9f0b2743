import { describe, expect, it } from 'vitest';
import { createGatewayMetrics } from './metrics.js';
import { versionCounters } from './reporter.js';

describe('the counters a gateway reports', () => {
  it('sums teams per version, counts 5xx and broken streams as errors, and leaves out its own refusals', async () => {
    const m = createGatewayMetrics();
    const v1 = { model: 'm', version: 'v1' };
    m.requests.inc({ ...v1, team: 'a', status: '200' }, 10);
    m.requests.inc({ ...v1, team: 'b', status: '200' }, 5);
    m.requests.inc({ ...v1, team: 'a', status: '500' }, 2);
    m.errors.inc({ ...v1, team: 'a', reason: 'upstream_500' }, 2);
    m.errors.inc({ ...v1, team: 'b', reason: 'stream_broken' }, 1);
    m.requests.inc({ ...v1, team: 'a', status: '429' }, 4);
    m.errors.inc({ ...v1, team: 'a', reason: 'rate_limited' }, 4);
    m.requests.inc({ ...v1, team: 'a', status: '503' }, 3);
    m.errors.inc({ ...v1, team: 'a', reason: 'cold_start_timeout' }, 3);
    m.ttft.observe({ ...v1, team: 'a' }, 0.03);
    m.ttft.observe({ ...v1, team: 'b' }, 0.3);
    m.interToken.observe({ ...v1, team: 'a' }, 0.004);
    m.interToken.observe({ ...v1, team: 'b' }, 0.004);
    m.interToken.observe({ ...v1, team: 'b' }, 0.2);
    m.requests.inc({ model: 'm', version: 'v2', team: 'a', status: '200' }, 1);
    const counters = await versionCounters(m);
    const c = counters.get('m')!.get('v1')!;
    expect(c.requests).toBe(17);
    expect(c.errors).toBe(3);
    expect(c.ttft.le.length).toBeGreaterThan(5);
    expect(c.ttft.counts.at(-1)).toBe(2);
    expect(c.ttft.counts[c.ttft.le.indexOf(0.04)]).toBe(1);
    // Inter-token gaps, summed over teams the same way.
    expect(c.itl!.counts.at(-1)).toBe(3);
    expect(c.itl!.counts[c.itl!.le.indexOf(0.005)]).toBe(2);
    expect(counters.get('m')!.get('v2')).toMatchObject({ requests: 1, errors: 0 });
  });
});
