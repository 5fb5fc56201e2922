import { eq } from 'drizzle-orm';
import { users } from '../../../schema/index.ts';
import type { Database } from '../../db.ts';
import type { User } from './users.ts';

/** Finds a user by id (the OIDC `sub`). */
export async function findUserById(db: Database, id: string): Promise<User | undefined> {
  return db.query.users.findFirst({ where: eq(users.id, id) });
}
