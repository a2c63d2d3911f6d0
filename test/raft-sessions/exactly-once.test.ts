import { describe, expect, it } from 'vitest';
import { decodeRequests, encodeRequests } from '../../src/raft/kv/protocol.ts';
import { encodePut, KvStateMachine } from '../../src/raft/kv/kv-state-machine.ts';
import { ClientSession } from '../../src/raft/sessions/client-session.ts';
import {
  decodeSessionResult,
  encodePlainCommand,
  encodeRegisterCommand,
  encodeSessionCommand,
  type SessionResult,
  type SessionTag,
} from '../../src/raft/sessions/envelope.ts';
import { ExactlyOnceStateMachine } from '../../src/raft/sessions/exactly-once.ts';
import { Reader } from '../../src/raft/codec.ts';
import { seededRandom, testSeed } from '../raft-driver/helpers.ts';

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const text = (b: Uint8Array | undefined): string | undefined => (b === undefined ? undefined : new TextDecoder().decode(b));

/** One replica: the KV map behind exactly-once sessions, fed entries by index. */
function replica(options = {}, lastIndex = 0) {
  const sm = new ExactlyOnceStateMachine(new KvStateMachine(), options);
  let index = lastIndex;
  return {
    sm,
    get index() {
      return index;
    },
    /** Opens a session; the id the cluster issues. */
    register(): string {
      const result = decodeSessionResult(sm.apply({ index: ++index, term: 1, type: 'normal', data: encodeRegisterCommand() }));
      expect(result.status).toBe('applied');
      return text((result as { result: Uint8Array }).result)!;
    },
    put(tag: SessionTag | null, key: string, value: string): SessionResult {
      const command = tag === null ? encodePlainCommand(encodePut(key, bytes(value))) : encodeSessionCommand(tag, encodePut(key, bytes(value)));
      return decodeSessionResult(sm.apply({ index: ++index, term: 1, type: 'normal', data: command }));
    },
  };
}

const appliedAt = (result: SessionResult): number => {
  expect(result.status).not.toBe('stale');
  return new Reader((result as { result: Uint8Array }).result, 'put result').varuint();
};

describe('ExactlyOnceStateMachine', () => {
  it('applies a retried request once and answers the retry with the first result', () => {
    const r = replica();
    const [c1, c2] = [r.register(), r.register()];
    expect([c1, c2]).toEqual(['s1', 's2']); // named after the entry that opened each
    const first = r.put({ clientId: c1, seq: 1, ackedBelow: 1 }, 'job-1', 'queued');
    expect(first.status).toBe('applied');
    r.put({ clientId: c2, seq: 1, ackedBelow: 1 }, 'job-1', 'taken-by-w2');
    // c1's reply was lost; it retries: not applied again, answered with the first index.
    const retry = r.put({ clientId: c1, seq: 1, ackedBelow: 1 }, 'job-1', 'queued');
    expect(retry.status).toBe('duplicate');
    expect(appliedAt(retry)).toBe(appliedAt(first));
    expect(text(r.sm.inner.get('job-1'))).toBe('taken-by-w2');
    expect(r.sm.inner.applied_count).toBe(2);
    expect(r.sm.stats()).toEqual({ clients: 2, duplicates: 1, stale: 0, unknownClient: 0 });
    // Plain commands are applied each time.
    r.put(null, 'job-1', 'plain');
    r.put(null, 'job-1', 'plain');
    expect(r.sm.inner.applied_count).toBe(4);
  });

  it('refuses a request of a session it never opened, without applying it', () => {
    const r = replica();
    r.register();
    expect(r.put({ clientId: 'made-up', seq: 1, ackedBelow: 1 }, 'k', 'v')).toEqual({ status: 'unknown-client' });
    expect(r.put({ clientId: 's9', seq: 1, ackedBelow: 1 }, 'k', 'v')).toEqual({ status: 'unknown-client' });
    expect(r.sm.inner.get('k')).toBeUndefined();
    expect(r.sm.stats().unknownClient).toBe(2);
  });

  it('keeps results of pipelined requests until the client acknowledges them, then answers a late retry as stale without applying it', () => {
    const r = replica();
    const c = r.register();
    // Requests 1..4 in flight at once (acked-below 1); 3 is lost and retried after 4.
    for (const seq of [1, 2, 4]) expect(r.put({ clientId: c, seq, ackedBelow: 1 }, `k${seq}`, 'v').status).toBe('applied');
    expect(r.put({ clientId: c, seq: 3, ackedBelow: 1 }, 'k3', 'v').status).toBe('applied');
    expect(r.put({ clientId: c, seq: 2, ackedBelow: 1 }, 'k2', 'again').status).toBe('duplicate');
    // The client got answers to 1..4 and sends 5 saying so.
    expect(r.put({ clientId: c, seq: 5, ackedBelow: 5 }, 'k5', 'v').status).toBe('applied');
    // A very late copy of 2 (a slow network, an old leader's log) is not applied.
    expect(r.put({ clientId: c, seq: 2, ackedBelow: 1 }, 'k2', 'late').status).toBe('stale');
    expect(text(r.sm.inner.get('k2'))).toBe('v');
    expect(r.sm.stats().stale).toBe(1);
  });

  it('forgets the least recently used client and the lowest results beyond its bounds, the same way on every replica', async () => {
    const a = replica({ clients_max: 2, resultsPerClient_max: 3 });
    const b = replica({ clients_max: 2, resultsPerClient_max: 3 });
    const both = (tag: SessionTag, key: string) => [a.put(tag, key, 'v'), b.put(tag, key, 'v')];
    const registerBoth = (): string => {
      const id = a.register();
      expect(b.register()).toBe(id);
      return id;
    };
    const c1 = registerBoth();
    for (let seq = 1; seq <= 5; seq++) both({ clientId: c1, seq, ackedBelow: 1 }, `c1-${seq}`); // never acknowledges
    // Only 3, 4, 5 are kept; 1 and 2 fell below the floor.
    expect(a.put({ clientId: c1, seq: 2, ackedBelow: 1 }, 'c1-2', 'v').status).toBe('stale');
    expect(a.put({ clientId: c1, seq: 3, ackedBelow: 1 }, 'c1-3', 'v').status).toBe('duplicate');
    b.put({ clientId: c1, seq: 2, ackedBelow: 1 }, 'c1-2', 'v');
    b.put({ clientId: c1, seq: 3, ackedBelow: 1 }, 'c1-3', 'v');
    const c2 = registerBoth();
    both({ clientId: c2, seq: 1, ackedBelow: 1 }, 'c2-1');
    const c3 = registerBoth(); // c1 is now the least recently used: forgotten
    both({ clientId: c3, seq: 1, ackedBelow: 1 }, 'c3-1');
    expect(a.sm.stats().clients).toBe(2);
    expect(await a.sm.snapshot()).toEqual(await b.sm.snapshot());
    // A forgotten client's retry is refused, not taken as new: nothing applies twice.
    const appliedBefore = a.sm.inner.applied_count;
    expect(a.put({ clientId: c1, seq: 3, ackedBelow: 1 }, 'c1-3', 'v').status).toBe('unknown-client');
    expect(a.sm.inner.applied_count).toBe(appliedBefore);
  });

  it('restores sessions from its snapshot, and a bare application snapshot (or the empty bootstrap one) with none', async () => {
    const r = replica();
    const c = r.register();
    r.put({ clientId: c, seq: 1, ackedBelow: 1 }, 'x', '1');
    r.put({ clientId: c, seq: 2, ackedBelow: 1 }, 'y', '2');
    const taking = r.sm.snapshot();
    r.put({ clientId: c, seq: 3, ackedBelow: 3 }, 'z', '3'); // after the capture: not in the snapshot
    const restored = replica({}, 3);
    restored.sm.restore(await taking);
    expect(restored.put({ clientId: c, seq: 2, ackedBelow: 1 }, 'y', '2').status).toBe('duplicate');
    expect(restored.put({ clientId: c, seq: 3, ackedBelow: 3 }, 'z', '3').status).toBe('applied');
    expect(restored.register()).toBe('s6'); // ids go on from the log's index, never reused
    expect(text(restored.sm.inner.get('x'))).toBe('1');

    const bare = new KvStateMachine();
    bare.apply({ index: 1, term: 1, type: 'normal', data: encodePut('old', bytes('state')) });
    const fromBare = replica();
    fromBare.sm.restore(await bare.snapshot());
    expect(text(fromBare.sm.inner.get('old'))).toBe('state');
    expect(fromBare.sm.stats().clients).toBe(0);
    // Sessions from before such a snapshot are unknown: refused, not taken as new.
    expect(fromBare.put({ clientId: c, seq: 4, ackedBelow: 4 }, 'x', 'again').status).toBe('unknown-client');
    fromBare.sm.restore(new Uint8Array(0));
    expect(fromBare.sm.inner.size()).toBe(0);
  });

  it('refuses a tag that cannot be valid, before anything is proposed', () => {
    const put = encodePut('k', bytes('v'));
    expect(() => encodeSessionCommand({ clientId: '', seq: 1, ackedBelow: 0 }, put)).toThrow(/client id must be 1 to 128 characters, got 0/);
    expect(() => encodeSessionCommand({ clientId: 'c', seq: 0, ackedBelow: 0 }, put)).toThrow(/seq must be an integer >= 1, got 0/);
    expect(() => encodeSessionCommand({ clientId: 'c', seq: 4, ackedBelow: 5 }, put)).toThrow(
      /acked-below must be an integer from 0 to the request's seq \(4\), got 5/,
    );
  });

  it('agrees across replicas on random retries, reorderings and snapshots (seeded)', async () => {
    const seed = testSeed('exactly-once replicas');
    const random = seededRandom(seed);
    // Enough client slots for all six; few result slots, so results are
    // evicted and late retries come back stale.
    const options = { clients_max: 6, resultsPerClient_max: 30 };
    const live = replica(options);
    let restored = replica(options);
    // Clients with a few requests in flight each; some answers are "lost" and retried later.
    const clients = Array.from({ length: 6 }, () => {
      const id = live.register();
      expect(restored.register()).toBe(id);
      return { session: new ClientSession(id), inFlight: [] as number[] };
    });
    const firstApplyOf = new Map<string, number>();
    for (let step = 0; step < 3000; step++) {
      const client = clients[Math.floor(random() * clients.length)]!;
      let seq: number;
      if (client.inFlight.length > 0 && random() < 0.4)
        seq = client.inFlight[Math.floor(random() * client.inFlight.length)]!; // a retry
      else {
        seq = client.session.begin();
        client.inFlight.push(seq);
        // Lost before it reached the log (a leader that died with it): only a later retry is applied,
        // after requests numbered above it.
        if (random() < 0.2) continue;
      }
      const tag = client.session.tag(seq);
      const key = `${client.session.clientId}/${seq}`;
      const got = live.put(tag, key, `v${step}`);
      expect(restored.put(tag, key, `v${step}`)).toEqual(got);
      if (got.status === 'applied') {
        expect(firstApplyOf.has(key)).toBe(false); // never applied twice
        firstApplyOf.set(key, appliedAt(got));
      } else if (got.status === 'duplicate') {
        expect(appliedAt(got)).toBe(firstApplyOf.get(key));
      }
      if (random() < 0.3) {
        // The answer reached the client: it never sends this request again.
        client.session.finish(seq);
        client.inFlight = client.inFlight.filter((s) => s !== seq);
      }
      if (random() < 0.03) {
        const snapshot = await live.sm.snapshot();
        expect(await restored.sm.snapshot()).toEqual(snapshot);
        restored = replica(options, live.index);
        restored.sm.restore(snapshot);
      }
    }
    expect(firstApplyOf.size).toBeGreaterThan(500);
    // Every path was taken: retries answered from the table, and late ones below an evicted floor.
    const stats = live.sm.stats();
    console.log(`exactly-once replica test: ${firstApplyOf.size} applied, ${stats.duplicates} duplicates, ${stats.stale} stale`);
    expect(stats.duplicates).toBeGreaterThan(100);
    expect(stats.stale).toBeGreaterThan(10);
  });
});

describe('ClientSession', () => {
  it('numbers requests once and acknowledges below its lowest open one', () => {
    const session = new ClientSession('s7');
    const [one, two, three] = [session.begin(), session.begin(), session.begin()];
    expect(session.tag(three)).toEqual({ clientId: session.clientId, seq: 3, ackedBelow: 1 });
    session.finish(two);
    expect(session.tag(three).ackedBelow).toBe(1);
    session.finish(one);
    expect(session.tag(three).ackedBelow).toBe(3);
    session.finish(three);
    expect(session.tag(session.begin())).toMatchObject({ seq: 4, ackedBelow: 4 });
    expect(() => session.tag(two)).toThrow(/session request 2 is not open/);
  });

  it('travels in the KV protocol with a put, as does opening a session', () => {
    const session = { clientId: 'abc', seq: 7, ackedBelow: 5 };
    const decoded = decodeRequests(
      encodeRequests([
        { id: 1, op: 'put', key: 'k', value: bytes('v'), session },
        { id: 2, op: 'put', key: 'k2', value: bytes('w') },
        { id: 3, op: 'register' },
      ]),
    );
    expect(decoded).toEqual([
      { id: 1, op: 'put', key: 'k', value: bytes('v'), session },
      { id: 2, op: 'put', key: 'k2', value: bytes('w') },
      { id: 3, op: 'register' },
    ]);
  });
});
