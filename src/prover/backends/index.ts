/** Registers every built-in backend by name; each loads lazily on first use. */
import { registerBackend } from '../backend.ts';

registerBackend('snarkjs', async () => (await import('./snarkjs/index.ts')).createSnarkjsBackend());
registerBackend('native', async () => (await import('./native/index.ts')).createNativeBackend());
registerBackend('webgpu', async () => (await import('./webgpu/index.ts')).createWebgpuBackend());

export { backendNames, getBackendFactory } from '../backend.ts';
