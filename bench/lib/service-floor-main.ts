/**
 * The floor of the service bench as a process of its own (service-floor.ts
 * says what it is):
 *
 *   node --import tsx bench/lib/service-floor-main.ts --listen 127.0.0.1:PORT \
 *     --circuits FILE [--queue-max N]
 *
 * FILE is a JSON array of BenchCircuit (service-circuit.ts). Prints
 * {"event":"ready","grpc":"127.0.0.1:PORT","pid":N} on stdout once serving;
 * logs JSON lines on stderr; SIGTERM or SIGINT stop it.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import type { BenchCircuit } from './service-circuit.ts';
import { type FloorCircuit, FloorService } from './service-floor.ts';

function log(fields: Record<string, unknown>): void {
  process.stderr.write(`${JSON.stringify({ time: Date.now(), role: 'floor', ...fields })}\n`);
}

function floorCircuit(circuit: BenchCircuit): FloorCircuit {
  return {
    message: {
      id: circuit.id,
      name: circuit.built.name,
      wasm_sha256: circuit.wasm_sha256,
      zkey_sha256: circuit.zkey_sha256,
      vkey_sha256: circuit.vkey_sha256,
      wasm_bytes: circuit.wasm_bytes,
      zkey_bytes: circuit.zkey_bytes,
      vkey_bytes: circuit.vkey_bytes,
      n_constraints: circuit.built.nConstraints,
      n_vars: 0,
      n_public: circuit.built.nPublic,
      domain_size: 2 ** circuit.built.power,
      registered_ms: Date.now(),
    },
    vkey: JSON.parse(readFileSync(circuit.built.vkey, 'utf8')) as unknown,
    artifacts: [
      { sha256: circuit.wasm_sha256, kind: 'WASM', path: circuit.built.wasm },
      { sha256: circuit.zkey_sha256, kind: 'ZKEY', path: circuit.built.zkey },
      { sha256: circuit.vkey_sha256, kind: 'VKEY', path: circuit.built.vkey },
    ],
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: { listen: { type: 'string' }, circuits: { type: 'string' }, 'queue-max': { type: 'string' } },
    strict: true,
    allowPositionals: false,
  });
  if (values.listen === undefined || values.circuits === undefined) throw new Error('--listen HOST:PORT and --circuits FILE are required');
  const queueMax = Number(values['queue-max'] ?? '10000');
  if (!Number.isSafeInteger(queueMax) || queueMax < 1) throw new Error(`--queue-max needs an integer >= 1, got ${JSON.stringify(values['queue-max'])}`);
  const circuits = (JSON.parse(readFileSync(values.circuits, 'utf8')) as BenchCircuit[]).map(floorCircuit);
  const service = new FloorService({ circuits, queueMax, maxAttempts: 3, lease_ms: 5_000, log });
  // The coordinator's server options (src/coordinator/service/grpc-server.ts).
  const server = new grpc.Server({
    'grpc.max_receive_message_length': 64 * 1024 * 1024,
    'grpc.max_send_message_length': 64 * 1024 * 1024,
    'grpc.keepalive_permit_without_calls': 1,
    'grpc.http2.min_ping_interval_without_data_ms': 1_000,
  });
  service.addTo(server);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(values.listen!, grpc.ServerCredentials.createInsecure(), (error, bound) => (error === null ? resolve(bound) : reject(error))),
  );
  // After the bind: the crypto process is unref'd, so only the listening server keeps this process alive while it warms.
  await service.warm();
  const host = values.listen.slice(0, values.listen.lastIndexOf(':'));
  process.stdout.write(`${JSON.stringify({ event: 'ready', grpc: `${host}:${port}`, pid: process.pid })}\n`);
  const stop = (): void => {
    server.forceShutdown();
    void service.close().finally(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`service floor: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
