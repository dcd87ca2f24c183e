import { InitialSchema1732300000000 } from './1732300000000-initial-schema';
import { DevLakeDora1732500000000 } from './1732500000000-devlake-dora';

/** Every migration, in order. A new migration is a new file plus one line here. */
export const MIGRATIONS = [InitialSchema1732300000000, DevLakeDora1732500000000];
