/**
 * The `q` language of `/search`, compiled to a safe FTS5 MATCH expression: words (all must match), "exact phrases",
 * prefixes (`temp*`), and `OR` between two terms. Every term is quoted for FTS5, so no user text is ever FTS5 syntax;
 * a malformed query is an error that names the problem and where it is.
 */

/** A problem in the query, with the 1-based position it concerns. */
export class QuerySyntaxError extends Error {
  override readonly name = 'QuerySyntaxError';
}

const quote = (text: string) => `"${text.replace(/"/g, '""')}"`;
const hasWordChar = (s: string) => /[\p{L}\p{N}]/u.test(s);

/** Compiles `q`; throws QuerySyntaxError. */
export function compileQuery(q: string): string {
  if (q.length > 500) throw new QuerySyntaxError('q is longer than 500 characters');
  const terms: string[] = [];
  let i = 0;
  let pendingOr = false;
  while (i < q.length) {
    const ch = q[i] ?? '';
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    let term: string;
    if (ch === '"') {
      const end = q.indexOf('"', i + 1);
      if (end < 0) throw new QuerySyntaxError(`unterminated phrase: the quote at position ${i + 1} is never closed`);
      const phrase = q.slice(i + 1, end).trim();
      if (!hasWordChar(phrase)) throw new QuerySyntaxError(`empty phrase at position ${i + 1}`);
      term = quote(phrase);
      i = end + 1;
      if (q[i] === '*') throw new QuerySyntaxError(`a phrase cannot be a prefix (position ${i + 1}); put * after a single word`);
    } else {
      const start = i;
      while (i < q.length && !/[\s"]/.test(q[i] ?? '')) i++;
      const word = q.slice(start, i);
      if (word === 'OR') {
        if (terms.length === 0 || pendingOr) throw new QuerySyntaxError(`OR at position ${start + 1} needs a term on each side`);
        pendingOr = true;
        continue;
      }
      const prefix = word.endsWith('*');
      const body = prefix ? word.slice(0, -1) : word;
      if (body.includes('*')) throw new QuerySyntaxError(`* is only allowed at the end of a word (position ${start + 1 + body.indexOf('*')})`);
      if (!hasWordChar(body)) throw new QuerySyntaxError(prefix ? `a prefix needs at least one letter or digit before * (position ${start + 1})` : `"${word}" at position ${start + 1} has no letter or digit to search for`);
      term = prefix ? `${quote(body)}*` : quote(body);
    }
    if (pendingOr) {
      terms.push(`(${terms.pop() ?? ''} OR ${term})`);
      pendingOr = false;
    } else terms.push(term);
  }
  if (pendingOr) throw new QuerySyntaxError('OR at the end of the query needs a term after it');
  if (terms.length === 0) throw new QuerySyntaxError('q has no words to search for');
  return terms.join(' AND ');
}
