import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWranglerD1, inlineParams, sqlLiteral, WranglerD1Error, type WranglerRun } from '../../scripts/lib/remote-d1.ts';

const root = path.resolve(import.meta.dirname, '../..');
const configPath = path.join(root, 'wrangler.toml');

describe('SQL literals for wrangler --command', () => {
  it('renders every type D1 binds', () => {
    expect(sqlLiteral(null)).toBe('NULL');
    expect(sqlLiteral("O'Brien ''x''")).toBe("'O''Brien ''''x'''''");
    expect(sqlLiteral('é😀')).toBe("'é😀'");
    expect(sqlLiteral('a\0b')).toBe("CAST(X'610062' AS TEXT)");
    expect(sqlLiteral(42)).toBe('42');
    expect(sqlLiteral(-7)).toBe('(-7)');
    expect(sqlLiteral(2.5)).toBe('2.5');
    expect(sqlLiteral(1e-7)).toBe('1e-7');
    expect(sqlLiteral(12345678901234567890n)).toBe('12345678901234567890');
    expect(sqlLiteral(true)).toBe('1');
    expect(sqlLiteral(false)).toBe('0');
    expect(sqlLiteral(new Uint8Array([0, 15, 255]))).toBe("X'000fff'");
    expect(sqlLiteral(new Uint8Array([1, 2, 3, 4]).subarray(1, 3))).toBe("X'0203'");
    expect(() => sqlLiteral(undefined)).toThrow('D1 cannot bind a value of type undefined');
    expect(() => sqlLiteral(Number.NaN)).toThrow('D1 cannot bind the number NaN');
    expect(() => sqlLiteral({})).toThrow(TypeError);
  });

  it('replaces placeholders only outside strings, identifiers and comments', () => {
    expect(inlineParams('select ?, "a?", `b?`, [c?], \'d?\' -- e?\n, ? /* f? */ , x-?', ["it's", null, -1])).toBe(
      'select \'it\'\'s\', "a?", `b?`, [c?], \'d?\' -- e?\n, NULL /* f? */ , x-(-1)',
    );
    expect(inlineParams("select ?2, ?1, 'it''s ?', ?", ['a', 'b', 'c'])).toBe("select 'b', 'a', 'it''s ?', 'c'");
    expect(() => inlineParams('select ?, ?', [1])).toThrow('SQL uses parameter 2 but 1 were bound');
    expect(() => inlineParams('select ?', [1, 2])).toThrow('2 parameters were bound but the SQL uses 1');
    expect(() => inlineParams('select :name', [])).toThrow('named SQL parameters are not supported');
    expect(() => inlineParams("select 'open", [])).toThrow('unterminated');
  });
});

describe('the wrangler D1 adapter', () => {
  it('builds the remote command line and turns wrangler errors into one clean message', async () => {
    const calls: string[][] = [];
    const reply = (run: WranglerRun) => async (args: string[]) => (calls.push(args), run);
    const ok = createWranglerD1({ configPath: 'w.toml', target: { remote: true, env: 'production' }, exec: reply({ code: 0, stdout: '[{"results":[{"n":1}],"success":true,"meta":{"changes":3,"last_row_id":9}}]', stderr: '' }) });
    const result = await ok.prepare('select ? as n').bind("x'y").run();
    expect(calls[0]).toEqual(['d1', 'execute', 'DB', '--json', '--yes', '-c', 'w.toml', '--remote', '--env', 'production', '--command', "select 'x''y' as n"]);
    expect(result.meta).toMatchObject({ changes: 3, last_row_id: 9, rows_read: 0 });

    const secret = 'pbkdf2-sha256$100000$c2VjcmV0';
    const failing = createWranglerD1({ configPath: 'w.toml', target: { remote: true }, exec: reply({ code: 1, stdout: '{"error":{"text":"UNIQUE constraint failed: users.username"}}', stderr: '' }) });
    const err = await failing.prepare('insert into users values (?)').bind(secret).run().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WranglerD1Error);
    expect((err as Error).message).toBe('D1_ERROR: UNIQUE constraint failed: users.username');
    const login = createWranglerD1({ configPath: 'w.toml', target: { remote: true }, exec: reply({ code: 1, stdout: '', stderr: 'You are not logged in.\n' }) });
    await expect(login.prepare('select 1').all()).rejects.toThrow('wrangler d1 execute failed (exit 1): You are not logged in.');
    await expect(ok.prepare(`select '${'x'.repeat(130_000)}'`).all()).rejects.toThrow('SQL too large for one wrangler command');
  });

  describe('against local state through the real wrangler', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'gatehouse-remote-d1-'));
    const state = path.join(dir, 'state');
    const d1 = createWranglerD1({ configPath, cwd: root, target: { remote: false, persistTo: state } });
    beforeAll(async () => {
      await promisify(execFile)(process.execPath, ['scripts/setup.ts', '--dev-vars', path.join(dir, '.dev.vars'), '--persist-to', state, '--no-seed'], { cwd: root });
      await d1.exec('CREATE TABLE scratch (id INTEGER PRIMARY KEY, s TEXT, r REAL, b BLOB, n TEXT)');
    }, 120_000);
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('round-trips strings with quotes, unicode, NUL and SQL syntax, NULLs, integers, reals and blobs', async () => {
      const tricky = "O'Brien; -- ''; /* ? */ \"x\" é😀 \n line2 \0 end";
      const insert = d1.prepare('INSERT INTO scratch (id, s, r, b, n) VALUES (?, ?, ?, ?, ?) RETURNING id, s');
      const [inserted] = await d1.batch([insert.bind(1, tricky, -2.5, new Uint8Array([0, 39, 255]), null), insert.bind(-9007199254740991, '', 1e-7, null, 'x')]);
      expect(inserted?.results).toEqual([{ id: 1, s: tricky }]);
      const rows = await d1.prepare('SELECT id, s, r, hex(b) AS b, n, typeof(n) AS t FROM scratch ORDER BY id').all();
      expect(rows.results).toEqual([
        { id: -9007199254740991, s: '', r: 1e-7, b: '', n: 'x', t: 'text' },
        { id: 1, s: tricky, r: -2.5, b: '0027FF', n: null, t: 'null' },
      ]);
      expect(await d1.prepare('SELECT s FROM scratch WHERE id = ?').bind(1).first('s')).toBe(tricky);
      expect(await d1.prepare('SELECT count(*) AS c, max(id) AS m FROM scratch').raw({ columnNames: true })).toEqual([['c', 'm'], [2, 1]]);
      expect(await d1.prepare('SELECT * FROM scratch WHERE id = 404').first()).toBeNull();
    }, 60_000);

    it('runs a batch as one transaction: a failing statement undoes the ones before it', async () => {
      const insert = d1.prepare('INSERT INTO scratch (id, s) VALUES (?, ?)');
      const err = await d1.batch([insert.bind(10, 'first'), insert.bind(1, 'duplicate id')]).catch((e: unknown) => e);
      expect((err as Error).message).toMatch(/^D1_ERROR: UNIQUE constraint failed: scratch\.id/);
      expect((err as Error).message).not.toContain('first');
      expect(await d1.prepare('SELECT count(*) AS c FROM scratch WHERE id = 10').first('c')).toBe(0);
    }, 60_000);
  });
});
