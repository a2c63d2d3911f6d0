/**
 * Every schema migration, in order. A migration, once released, never
 * changes: a new schema is a new file with the next version number, added
 * at the end of this list.
 */
import type { Migration } from '../migration.ts';
import { initial } from './0001-initial.ts';

export const MIGRATIONS: readonly Migration[] = [initial];
