/**
 * `zkp dev` / `npm start`: a whole local cluster proving a sample. Starts the
 * dev cluster (cluster.ts), registers the sample circuit (mulchain, built and
 * cached by scripts/build-circuits.ts), submits a job, shows its progress,
 * prints the verified proof, then keeps one status line until Ctrl-C, which
 * stops every process cleanly.
 */
import type { JobMessage } from '../api/types.ts';
import { JobProgress } from '../cli/progress.ts';
import type { CliStreams } from '../cli/streams.ts';
import { ZkpClient } from '../client/zkp-client.ts';
import type { DevConfig } from '../config/index.ts';
import { ZkpError } from '../errors/index.ts';
import { DevCluster } from './cluster.ts';
import { sampleInput, sampleCircuit } from './sample.ts';

const STATUS_INTERVAL_MS = 2_000;

export async function runDev(config: DevConfig, io: CliStreams): Promise<number> {
  const say = (line: string): void => void io.stderr.write(`zkp dev: ${line}\n`);
  const stop = new AbortController();
  const onSignal = (): void => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  say('building the sample circuit (cached after the first run)');
  const circuit = await sampleCircuit((line) => say(line));
  const cluster = await DevCluster.start({
    stateDir: config.dev.stateDir,
    coordinators: config.dev.coordinators,
    workers: config.dev.workers,
    logLevel: config.log.level,
    say,
  });
  const client = new ZkpClient(cluster.coordinatorAddresses);
  try {
    say(`cluster up; processes in ${cluster.writeClusterFile()}, logs in ${config.dev.stateDir}/logs/`);
    const registered = await client.registerCircuit({ name: circuit.name, wasm: circuit.wasm, zkey: circuit.zkey, vkey: circuit.vkey });
    say(`circuit ${registered.circuit.name} registered: ${registered.circuit.id}${registered.existing ? ' (already known)' : ''}`);
    const submitted = await client.submitJob({ circuit: registered.circuit.id, inputJson: sampleInput() });
    say(`job ${submitted.job.id} submitted`);
    const progress = new JobProgress(io.stderr);
    let final: JobMessage;
    if (config.dev.workers === 0) {
      say('no workers (dev.workers = 0): the job stays queued');
      final = submitted.job;
    } else {
      final = await client.watchJob(submitted.job.id, (job) => progress.update(job), { signal: stop.signal });
      progress.finish();
    }
    if (final.state === 'SUCCEEDED') {
      io.stdout.write(`${JSON.stringify({ job: final.id, proof: JSON.parse(final.proof_json), public: JSON.parse(final.public_json) }, null, 2)}\n`);
      say(
        `proof verified by the worker and by the coordinator (snarkjs groth16 verify against ${circuit.vkey}); proved in ${final.prove_ms} ms on ${final.worker_id}`,
      );
    } else if (config.dev.workers > 0) {
      say(`job ${final.id} ended ${final.state}: ${final.error_code} ${final.error_message}`);
    }
    say('running; Ctrl-C stops every process. Try: npx zkp status, npx zkp submit mulchain input.json --wait');
    await statusLoop(client, cluster, io, stop.signal);
    return final.state === 'SUCCEEDED' || config.dev.workers === 0 ? 0 : 1;
  } finally {
    if (io.stderr.isTTY === true) io.stderr.write('\n');
    say('stopping');
    client.close();
    await cluster.stop();
    say('stopped');
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** One line every STATUS_INTERVAL_MS (updated in place on a terminal) until the signal. */
async function statusLoop(client: ZkpClient, cluster: DevCluster, io: CliStreams, signal: AbortSignal): Promise<void> {
  const tty = io.stderr.isTTY === true;
  while (!signal.aborted) {
    let line: string;
    try {
      const status = await client.status();
      const reachable = status.coordinators.filter((c) => c.reachable).length;
      const alive = status.workers.filter((w) => w.alive).length;
      const down = cluster.children.filter((child) => !child.running).map((child) => `${child.spec.role} ${child.spec.id}`);
      line = `leader ${status.leader_id || '-'} term ${status.term} | coordinators ${reachable}/${status.coordinators.length} | workers ${alive}/${status.workers.length} | jobs ${status.jobs_queued} queued, ${status.jobs_running} running${down.length > 0 ? ` | exited: ${down.join(', ')}` : ''}`;
    } catch (error) {
      line = `status unavailable: ${error instanceof ZkpError ? error.message : String(error)}`;
    }
    io.stderr.write(tty ? `\r\x1b[2Kzkp dev: ${line}` : `zkp dev: ${line}\n`);
    await sleep(tty ? STATUS_INTERVAL_MS : STATUS_INTERVAL_MS * 15, signal);
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });
}
