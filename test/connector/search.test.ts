import { exports } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { event, get, orgKey, replicate, unique } from './connector.test-fixture.ts';

type Page = { results: { id: string; score?: number; payload: Record<string, unknown> }[]; next: string | null; order: string };
type Problem = { status: number; detail: string; errors: { path: string; message: string }[] };

const d = unique();
const other = unique();
const readings = [
  { n: 1, temperature: 18.5, site: 'north hall', status: 'door closed quietly', minute: 0 },
  { n: 2, temperature: 25, site: 'north hall', status: 'door opened by the night porter', minute: 1 },
  { n: 3, temperature: 31, site: 'south yard', status: 'overheating alarm raised', minute: 2 },
  { n: 4, temperature: 12, site: 'south yard', status: 'all quiet', minute: 3 },
  { n: 5, temperature: 40.25, site: 'north hall', status: 'alarm door forced', minute: 4 },
];
const id = (n: number) => `${d}-${n}`;

beforeAll(async () => {
  const key = await orgKey(0);
  const entries = [];
  for (const r of readings) {
    entries.push(await event({ id: id(r.n), type: 'sensor.reading', time: `2026-11-25T09:0${r.minute}:00Z`, deviceId: r.n % 2 ? d : other, data: { temperature: r.temperature, site: r.site, status: r.status, tag: d } }, key));
  }
  await replicate(entries);
});

const ids = (p: Page) => p.results.map((r) => r.id);


describe('GET /search', () => {
  it('finds by word, by phrase and by prefix', async () => {
    expect(ids((await get<Page>(`/search?order=time:asc&q=${encodeURIComponent(`${d} door`)}`)).body)).toEqual([id(1), id(2), id(5)]);
    expect(ids((await get<Page>(`/search?order=time:asc&q=${encodeURIComponent(`${d} "night porter"`)}`)).body)).toEqual([id(2)]);
    expect(ids((await get<Page>(`/search?order=time:asc&q=${encodeURIComponent(`${d} overheat*`)}`)).body)).toEqual([id(3)]);
    expect(ids((await get<Page>(`/search?order=time:asc&q=${encodeURIComponent(`${d} "door forced" OR quietly`)}`)).body)).toEqual([id(1), id(5)]);
  });

  it('filters on device, time range and declared fields', async () => {
    const q = `q=${d}&order=time:asc`;
    expect(ids((await get<Page>(`/search?${q}&device=${d}`)).body)).toEqual([id(1), id(3), id(5)]);
    expect(ids((await get<Page>(`/search?${q}&from=2026-11-25T09:01:00Z&to=2026-11-25T09:03:00Z`)).body)).toEqual([id(2), id(3)]);
    expect(ids((await get<Page>(`/search?${q}&where=temperature>=25&where=site=north hall`)).body)).toEqual([id(2), id(5)]);
    expect(ids((await get<Page>(`/search?${q}&where=${encodeURIComponent('status~quiet')}`)).body)).toEqual([id(1), id(4)]);
    expect(ids((await get<Page>(`/search?${q}&type=door.opened`)).body)).toEqual([]);
  });

  it('orders by relevance, time and a declared field, both directions', async () => {
    const q = `q=${d}`;
    expect(ids((await get<Page>(`/search?${q}&order=time:desc`)).body)).toEqual([id(5), id(4), id(3), id(2), id(1)]);
    expect(ids((await get<Page>(`/search?${q}&order=temperature:asc`)).body)).toEqual([id(4), id(1), id(2), id(3), id(5)]);
    expect(ids((await get<Page>(`/search?${q}&order=temperature:desc`)).body)).toEqual([id(5), id(3), id(2), id(1), id(4)]);
    // "door" twice in a short body ranks above one mention in a longer one.
    const rel = (await get<Page>(`/search?q=${encodeURIComponent(`${d} door`)}`)).body;
    expect(rel.order).toBe('relevance');
    expect(rel.results.every((r, i, a) => i === 0 || (a[i - 1]?.score ?? 0) >= (r.score ?? 0))).toBe(true);
    expect(new Set(ids(rel))).toEqual(new Set([id(1), id(2), id(5)]));
  });

  it('pages with a stable cursor, unaffected by records replicated between pages', async () => {
    const first = (await get<Page>(`/search?q=${d}&order=temperature:asc&limit=2`)).body;
    expect(ids(first)).toEqual([id(4), id(1)]);
    // A new matching record arrives between pages: the search's snapshot leaves it out.
    await replicate([await event({ id: `${d}-late`, type: 'sensor.reading', time: '2026-11-25T09:09:00Z', deviceId: d, data: { temperature: 20, tag: d } }, await orgKey(0))]);
    const second = (await get<Page>(`/search?q=${d}&order=temperature:asc&limit=2&cursor=${first.next}`)).body;
    expect(ids(second)).toEqual([id(2), id(3)]);
    const third = (await get<Page>(`/search?q=${d}&order=temperature:asc&limit=2&cursor=${second.next}`)).body;
    expect(ids(third)).toEqual([id(5)]);
    expect(third.next).toBeNull();
    const relevance: string[] = [];
    let cursor = '';
    for (let i = 0; i < 10; i++) {
      const p = (await get<Page>(`/search?q=${d}&limit=2${cursor ? `&cursor=${cursor}` : ''}`)).body;
      relevance.push(...ids(p));
      if (!p.next) break;
      cursor = p.next;
    }
    expect(relevance.sort()).toEqual([id(1), id(2), id(3), id(4), id(5), `${d}-late`].sort());
  });

  it('answers 400 naming the problem for bad syntax and unknown fields', async () => {
    const bad = async (query: string) => {
      const res = await exports.default.fetch(`https://connector.test/search?${query}`);
      expect(res.status).toBe(400);
      return ((await res.json()) as Problem).errors[0];
    };
    expect(await bad(`q=${encodeURIComponent('"north hall')}`)).toEqual({ path: 'q', message: 'unterminated phrase: the quote at position 1 is never closed' });
    expect(await bad('q=door&where=colour=red')).toEqual({ path: 'where[0]', message: '"colour" is not a declared field (declared: temperature, humidity, site, status)' });
    expect(await bad('where=temperature>hot')).toEqual({ path: 'where[0]', message: '"hot" is not a number (field temperature is a number)' });
    expect(await bad('order=colour:asc')).toMatchObject({ path: 'order' });
    expect(await bad('order=relevance')).toEqual({ path: 'order', message: 'relevance needs a q to rank by' });
    expect(await bad('from=yesterday')).toMatchObject({ path: 'from' });
    expect(await bad('limit=0')).toMatchObject({ path: 'limit' });
    expect(await bad(`q=${d}&cursor=garbage`)).toMatchObject({ path: 'cursor' });
    const first = (await get<Page>(`/search?q=${d}&limit=1`)).body;
    expect(await bad(`q=${d}&limit=1&order=time:asc&cursor=${first.next}`)).toMatchObject({ path: 'cursor', message: 'belongs to a different search (change no other parameter when paging)' });
  });
});
