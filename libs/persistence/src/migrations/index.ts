import { InitialSchema1732300000000 } from './1732300000000-initial-schema';

/** Every migration, in order. A new migration is a new file plus one line here. */
export const MIGRATIONS = [InitialSchema1732300000000];
