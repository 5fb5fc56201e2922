import { integer, text } from 'drizzle-orm/sqlite-core';

/** A time column: milliseconds since the Unix epoch, as `Date.now()` gives. Every `*_at` column in the schema uses it. */
export const at = (name: string) => integer(name);

/** A creation time that defaults to now (milliseconds). */
export const createdAt = () =>
  integer('created_at')
    .notNull()
    .$defaultFn(() => Date.now());

/** A JSON column stored as text, typed on the TypeScript side. */
export const json = <T>(name: string) => text(name, { mode: 'json' }).$type<T>();
