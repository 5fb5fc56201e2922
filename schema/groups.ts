import { integer, primaryKey, sqliteTable, text, index } from 'drizzle-orm/sqlite-core';
import { createdAt } from './columns.ts';
import { users } from './users.ts';

/** User groups, published as `cognito:groups` and mapped to Hasura roles when a user has no stored claims. */
export const groups = sqliteTable('groups', {
  name: text('name').primaryKey(),
  description: text('description'),
  /** Lower wins, as in Cognito. */
  precedence: integer('precedence'),
  createdAt: createdAt(),
});

/** Membership of users in groups. */
export const userGroups = sqliteTable(
  'user_groups',
  {
    userId: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    groupName: text('group_name')
      .notNull()
      .references(() => groups.name, { onDelete: 'cascade' }),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.userId, t.groupName] }), index('user_groups_group_idx').on(t.groupName)],
);
