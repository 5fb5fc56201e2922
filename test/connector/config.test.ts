import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig, parseSettings } from '../../workers/connector/config.ts';
import { compileQuery, QuerySyntaxError } from '../../workers/connector/search/query.ts';
import { conditionSql, matches, parseCondition } from '../../workers/connector/where.ts';

const issuesOf = (raw: unknown) => {
  try {
    parseConfig(raw);
  } catch (e) {
    if (e instanceof ConfigError) return e.issues;
    throw e;
  }
  return [];
};

describe('connector configuration', () => {
  it('accepts fields, analytics and rules and parses rule conditions against the fields', () => {
    const c = parseConfig({
      fields: { temp: { path: 'reading.temp', type: 'number', index: true } },
      analytics: { t: { field: 'temp', metrics: ['avg', 'p95'], groupBy: ['time'], bucket: 'hour' } },
      rules: [{ name: 'hot', when: { type: 'sensor', where: ['temp>=80'] }, action: { kind: 'append', type: 'alert' } }],
    });
    expect(c.fields.get('temp')).toEqual({ name: 'temp', path: 'reading.temp', type: 'number', index: true });
    expect(c.rules[0]?.conditions).toEqual([{ field: c.fields.get('temp'), op: '>=', value: 80 }]);
    expect(c.analytics.get('t')?.bucket).toBe('hour');
  });

  it('names every problem with its path', () => {
    expect(issuesOf({ fields: { Temp: { path: 'x', type: 'number' } } })[0]).toMatch(/^fields\.Temp: must be 1–63 of a-z/);
    expect(issuesOf({ analytics: { a: { field: 'nope', metrics: ['avg'] } } })).toEqual(['analytics.a.field: "nope" is not a declared field (declare it under "fields")']);
    expect(issuesOf({ analytics: { a: { metrics: ['p100'] } } })[0]).toMatch(/^analytics\.a\.metrics\.0: must be count, sum, avg, min, max or pN/);
    expect(issuesOf({ analytics: { a: { metrics: ['count'], groupBy: ['time'] } } })).toEqual(['analytics.a.bucket: give a bucket (minute, hour or day) exactly when grouping by time']);
    expect(issuesOf({ fields: { t: { path: 't', type: 'number' } }, rules: [{ name: 'r', when: { type: 'x', where: ['t>warm'] }, action: { kind: 'append', type: 'y' } }] })).toEqual([
      'rules.0.when.where.0: "warm" is not a number (field t is a number)',
    ]);
    expect(issuesOf({ rules: [{ name: 'r', when: { type: 'x' }, action: { kind: 'append', type: 'x' } }] })).toEqual(['rules.0.action.type: must differ from when.type, or the rule would match its own records']);
    expect(issuesOf({ surprise: 1 })[0]).toMatch(/^\(root\): Unrecognized key/);
  });

  it('validates the vars', () => {
    const ok = { GATEHOUSE_URL: 'https://id.example.com/', ORG_ID: 'o', CONNECTOR_AUTH: 'gatehouse', REPLICATION_PAGE_SIZE: '500', REPLICATION_RESYNC_SECONDS: '30', MEMBERSHIP_CACHE_SECONDS: '60' };
    expect(parseSettings(ok)).toMatchObject({ gatehouseUrl: 'https://id.example.com', auth: 'gatehouse', pageSize: 500 });
    expect(() => parseSettings({ ...ok, CONNECTOR_AUTH: 'off' })).toThrow(/CONNECTOR_AUTH: must be "gatehouse" or "none"/);
    expect(() => parseSettings({ ...ok, ORG_ID: '' })).toThrow(/ORG_ID: is required/);
    expect(() => parseSettings({ ...ok, REPLICATION_PAGE_SIZE: '501' })).toThrow(/REPLICATION_PAGE_SIZE/);
  });
});

describe('the search query language', () => {
  it('quotes every term, keeps phrases and prefixes, and groups OR', () => {
    expect(compileQuery('hot  door')).toBe('"hot" AND "door"');
    expect(compileQuery('"north hall" temp*')).toBe('"north hall" AND "temp"*');
    expect(compileQuery('alarm OR alert open')).toBe('("alarm" OR "alert") AND "open"');
    expect(compileQuery('NEAR(a b)')).toBe('"NEAR(a" AND "b)"');
  });

  it('names the problem and its position', () => {
    const err = (q: string) => {
      try {
        compileQuery(q);
      } catch (e) {
        if (e instanceof QuerySyntaxError) return e.message;
      }
      return 'no error';
    };
    expect(err('door "north hall')).toBe('unterminated phrase: the quote at position 6 is never closed');
    expect(err('*')).toBe('a prefix needs at least one letter or digit before * (position 1)');
    expect(err('te*mp')).toBe('* is only allowed at the end of a word (position 3)');
    expect(err('OR door')).toBe('OR at position 1 needs a term on each side');
    expect(err('door OR')).toBe('OR at the end of the query needs a term after it');
    expect(err('""')).toBe('empty phrase at position 1');
    expect(err('   ')).toBe('q has no words to search for');
  });
});

describe('field conditions', () => {
  const fields = parseConfig({ fields: { t: { path: 'payload.t', type: 'number' }, s: { path: 's', type: 'string' }, b: { path: 'b', type: 'boolean' } } }).fields;
  const cond = (text: string) => {
    const c = parseCondition(text, fields);
    if (!c.ok) throw new Error(c.error);
    return c.condition;
  };

  it('evaluates on payloads with typed comparisons (a string never equals a number)', () => {
    expect(matches({ payload: { t: 81 } }, cond('t>80'))).toBe(true);
    expect(matches({ payload: { t: '81' } }, cond('t>80'))).toBe(false);
    expect(matches({ s: 'north hall' }, cond('s~hall'))).toBe(true);
    expect(matches({ b: false }, cond('b=false'))).toBe(true);
    expect(matches({}, cond('s!=x'))).toBe(false);
  });

  it('compiles to SQL on the given column, bound value apart', () => {
    expect(conditionSql(cond('t>=1.5'), 'r.payload')).toEqual({ sql: "(json_type(r.payload, '$.payload.t') IN ('integer','real') AND json_extract(r.payload, '$.payload.t') >= ?)", value: 1.5 });
    expect(conditionSql(cond("s~it's"))).toEqual({ sql: "instr(json_extract(payload, '$.s'), ?) > 0", value: "it's" });
    expect(parseCondition('b>true', fields)).toEqual({ ok: false, error: 'a boolean field (b) takes only = or !=' });
  });
});
