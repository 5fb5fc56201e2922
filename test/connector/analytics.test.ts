import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { env, exports } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import worker from '../../workers/connector/index.ts';
import { event, get, orgKey, replicate, unique } from './connector.test-fixture.ts';

type Result = { name: string; columns: string[]; rows: Record<string, string | number | null>[] };

// A time window only this file writes to, so the aggregates see exactly its records.
const base = Date.UTC(2031, 0, 1 + Math.floor(Math.random() * 300), 6);
const from = new Date(base).toISOString();
const to = new Date(base + 3 * 3_600_000).toISOString();
const devA = unique();
const devB = unique();
const values: Record<string, number[]> = { [devA]: [], [devB]: [] };
const perHour = [0, 0, 0];

beforeAll(async () => {
  const key = await orgKey(0);
  const entries = [];
  for (let i = 0; i < 60; i++) {
    const device = i % 3 === 0 ? devB : devA;
    const temperature = Math.round(((i * 37) % 101) * 0.5 * 100) / 100;
    const minute = i * 3;
    values[device]?.push(temperature);
    perHour[Math.floor(minute / 60)]! += 1;
    const time = new Date(base + minute * 60_000).toISOString();
    entries.push(await event({ id: `${devA}-${i}`, type: 'sensor.reading', time, deviceId: device, data: { temperature, site: 'lab' } }, key));
  }
  // Not counted: another type, and a reading without a number.
  entries.push(await event({ id: `${devA}-door`, type: 'door.opened', time: new Date(base).toISOString(), deviceId: devA, data: { temperature: 1000 } }, key));
  entries.push(await event({ id: `${devA}-nan`, type: 'sensor.reading', time: new Date(base).toISOString(), deviceId: devA, data: { temperature: 'warm' } }, key));
  await replicate(entries);
});

const nearestRank = (sorted: number[], p: number) => sorted[Math.ceil((p / 100) * sorted.length) - 1];

describe('GET /analytics/:name', () => {
  it('equals the figures computed from the plaintext, per device', async () => {
    const res = await get<Result>(`/analytics/temperature_by_device?from=${from}&to=${to}`);
    expect(res.status).toBe(200);
    expect(res.body.columns).toEqual(['device', 'count', 'avg', 'min', 'max', 'p50', 'p95']);
    for (const device of [devA, devB]) {
      const v = [...(values[device] ?? [])].sort((a, b) => a - b);
      const row = res.body.rows.find((r) => r.device === device);
      expect(row).toBeDefined();
      expect(row?.count).toBe(v.length);
      expect(row?.avg).toBeCloseTo(v.reduce((a, b) => a + b, 0) / v.length, 9);
      expect(row?.min).toBe(v[0]);
      expect(row?.max).toBe(v.at(-1));
      expect(row?.p50).toBe(nearestRank(v, 50));
      expect(row?.p95).toBe(nearestRank(v, 95));
    }
    // The (random) window holds only this file's two devices (another type or a non-number never counts).
    expect(res.body.rows).toHaveLength(2);
  });

  it('groups by hour bucket and serves CSV', async () => {
    const json = await get<Result>(`/analytics/readings_per_hour?from=${from}&to=${to}`);
    expect(json.body.rows).toEqual(perHour.map((count, h) => ({ bucket: new Date(base + h * 3_600_000).toISOString(), count: count + (h === 0 ? 1 : 0) })));
    const csv = await exports.default.fetch(`https://connector.test/analytics/readings_per_hour?from=${from}&to=${to}&format=csv`);
    expect(csv.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(await csv.text()).toBe(`bucket,count\r\n${json.body.rows.map((r) => `${r.bucket},${r.count}`).join('\r\n')}\r\n`);
  });

  it('answers 404 for an unknown analytics name and 400 for a bad range', async () => {
    const unknown = await get<{ detail: string }>('/analytics/nope');
    expect(unknown.status).toBe(404);
    expect(unknown.body.detail).toBe('No analytics named "nope"; configured: temperature_by_device, readings_per_hour.');
    expect((await get('/analytics/temperature_by_device?from=soon')).status).toBe(400);
    expect((await get('/analytics/temperature_by_device?format=xml')).status).toBe(400);
  });

  it('lists the configured analytics', async () => {
    const list = await get<{ analytics: { name: string }[] }>('/analytics');
    expect(list.body.analytics.map((a) => a.name)).toEqual(['temperature_by_device', 'readings_per_hour']);
  });
});

describe('configuration errors', () => {
  it('answer 503 and log the reason instead of half-applying a broken configuration', async () => {
    const ctx = createExecutionContext();
    const res = await worker.fetch(new Request('https://connector.test/health'), { ...env, CONNECTOR_CONFIG: '{"rules": [{"name": "X"}]}' }, ctx);
    await waitOnExecutionContext(ctx);
    expect(res.status).toBe(503);
    expect(((await res.json()) as { detail: string }).detail).toBe('The connector configuration is invalid; see the connector logs.');
  });
});
