import { drizzle } from 'drizzle-orm/d1';
import * as schema from '../schema/index.ts';

/** A drizzle handle over the platform's D1 database. Cheap to make: a wrapper around the binding. */
export const database = (d1: D1Database) => drizzle(d1, { schema });

/** The drizzle handle type that store functions take. */
export type Database = ReturnType<typeof database>;
