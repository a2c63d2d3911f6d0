/**
 * The fake coordinator (fake-coordinator.ts) as its own process, for tests
 * that stop it with SIGSTOP: prints {"address": ...} once listening. argv:
 * id, then the state its WatchJob streams start with.
 */
import type { JobStateName } from '../../src/api/types.ts';
import { startFakeCoordinator } from './fake-coordinator.ts';

const fake = await startFakeCoordinator(process.argv[2] ?? 'x');
fake.watchState = (process.argv[3] as JobStateName | undefined) ?? null;
process.stdout.write(`${JSON.stringify({ address: fake.address })}\n`);
process.on('SIGTERM', () => process.exit(0));
