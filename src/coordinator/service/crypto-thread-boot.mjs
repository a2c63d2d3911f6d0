// Entry of the coordinator's crypto process (crypto-pool.ts starts it with
// fork): it registers the tsx loader itself, resolved from this file, so it
// runs whatever the parent was started with, then loads the TypeScript module.
import { register } from 'tsx/esm/api';

register();
await import('./crypto-thread.ts');
