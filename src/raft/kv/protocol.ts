/**
 * The KV client protocol: one bidirectional gRPC stream per client carrying
 * frames; each frame is a batch of requests (client -> node) or responses
 * (node -> client), matched by request id. Batching many requests per frame
 * keeps per-request gRPC overhead out of the commit path.
 *
 * Request:  id varint | op byte (1 put, 2 linearizable get, 3 put in a client
 *           session, 4 open a client session) | key string (empty for 4) |
 *           [put: value bytes] | [3: client id string, seq varint, acked-below
 *           varint (src/raft/sessions/envelope.ts)]; 4 answers ok with the
 *           new client id (UTF-8)
 * Response: id varint | status byte (0 ok, 1 not leader, 2 error) |
 *           ok: value bytes (put: the applied index as varint; get: found byte + value)
 *           not leader: has-leader byte [leader id string, leader address string]
 *           error: code string, message string
 */
import { Reader, Writer } from '../codec.ts';
import { CorruptFileError } from '../../errors/index.ts';
import type { SessionTag } from '../sessions/envelope.ts';

export const KV_SESSION_PATH = '/zkp.kv.Kv/Session';
export const KV_STATUS_PATH = '/zkp.kv.Kv/Status';
/** Unary, JSON both ways (rare administrative calls): a MembershipRequest in, a MembershipReply out. */
export const KV_MEMBERSHIP_PATH = '/zkp.kv.Kv/Membership';
/** Unary, JSON: a TransferRequest in, a TransferReply out once the target leads (or it failed). */
export const KV_TRANSFER_PATH = '/zkp.kv.Kv/TransferLeadership';

export interface TransferRequest {
  readonly to: string;
}

export type TransferReply =
  | { readonly status: 'ok'; readonly leaderId: string; readonly leaderAddress: string | null; readonly term: number }
  | { readonly status: 'not-leader'; readonly leaderId: string | null; readonly leaderAddress: string | null }
  | { readonly status: 'error'; readonly code: string; readonly message: string };

export type MembershipRequest =
  | { readonly op: 'add-learner' | 'add-voter'; readonly id: string; readonly raftAddress?: string; readonly clientAddress?: string }
  | { readonly op: 'remove'; readonly id: string };

export interface MemberView {
  readonly id: string;
  readonly role: 'voter' | 'learner';
  readonly raftAddress: string | null;
  readonly clientAddress: string | null;
}

export type MembershipReply =
  | { readonly status: 'ok'; readonly index: number; readonly members: readonly MemberView[] }
  | { readonly status: 'not-leader'; readonly leaderId: string | null; readonly leaderAddress: string | null }
  | { readonly status: 'error'; readonly code: string; readonly message: string };

export type KvRequest =
  | { readonly id: number; readonly op: 'put'; readonly key: string; readonly value: Uint8Array; readonly session?: SessionTag }
  | { readonly id: number; readonly op: 'get'; readonly key: string }
  | { readonly id: number; readonly op: 'register' };

export type KvResponse =
  | { readonly id: number; readonly status: 'ok'; readonly value: Uint8Array }
  | { readonly id: number; readonly status: 'not-leader'; readonly leaderId: string | null; readonly leaderAddress: string | null }
  | { readonly id: number; readonly status: 'error'; readonly code: string; readonly message: string };

export function encodeRequests(requests: readonly KvRequest[]): Buffer {
  const w = new Writer(64 * requests.length + 16);
  w.varuint(requests.length);
  for (const q of requests) {
    w.varuint(q.id);
    w.byte(q.op === 'register' ? 4 : q.op === 'get' ? 2 : q.session === undefined ? 1 : 3);
    w.string(q.op === 'register' ? '' : q.key);
    if (q.op === 'put') w.bytes(q.value);
    if (q.op === 'put' && q.session !== undefined) {
      w.string(q.session.clientId);
      w.varuint(q.session.seq);
      w.varuint(q.session.ackedBelow);
    }
  }
  const bytes = w.finish();
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export function decodeRequests(frame: Uint8Array): KvRequest[] {
  const r = new Reader(frame, 'kv request frame');
  const count = r.varuint();
  if (count > r.remaining) throw new CorruptFileError(`kv request frame: count ${count} exceeds the bytes left`);
  const out: KvRequest[] = [];
  for (let i = 0; i < count; i++) {
    const id = r.varuint();
    const op = r.byte();
    const key = r.string();
    if (op === 1) out.push({ id, op: 'put', key, value: r.bytes().slice() });
    else if (op === 2) out.push({ id, op: 'get', key });
    else if (op === 4) out.push({ id, op: 'register' });
    else if (op === 3) {
      const value = r.bytes().slice();
      out.push({ id, op: 'put', key, value, session: { clientId: r.string(), seq: r.varuint(), ackedBelow: r.varuint() } });
    } else throw new CorruptFileError(`kv request frame: unknown op ${op}`);
  }
  r.expectEnd();
  return out;
}

export function encodeResponses(responses: readonly KvResponse[]): Buffer {
  const w = new Writer(32 * responses.length + 16);
  w.varuint(responses.length);
  for (const s of responses) {
    w.varuint(s.id);
    if (s.status === 'ok') {
      w.byte(0);
      w.bytes(s.value);
    } else if (s.status === 'not-leader') {
      w.byte(1);
      if (s.leaderId === null) {
        w.byte(0);
      } else {
        w.byte(1);
        w.string(s.leaderId);
        w.string(s.leaderAddress ?? '');
      }
    } else {
      w.byte(2);
      w.string(s.code);
      w.string(s.message);
    }
  }
  const bytes = w.finish();
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export function decodeResponses(frame: Uint8Array): KvResponse[] {
  const r = new Reader(frame, 'kv response frame');
  const count = r.varuint();
  if (count > r.remaining) throw new CorruptFileError(`kv response frame: count ${count} exceeds the bytes left`);
  const out: KvResponse[] = [];
  for (let i = 0; i < count; i++) {
    const id = r.varuint();
    const status = r.byte();
    if (status === 0) {
      out.push({ id, status: 'ok', value: r.bytes().slice() });
    } else if (status === 1) {
      const has = r.byte();
      if (has === 1) {
        const leaderId = r.string();
        const address = r.string();
        out.push({ id, status: 'not-leader', leaderId, leaderAddress: address.length > 0 ? address : null });
      } else {
        out.push({ id, status: 'not-leader', leaderId: null, leaderAddress: null });
      }
    } else if (status === 2) {
      out.push({ id, status: 'error', code: r.string(), message: r.string() });
    } else {
      throw new CorruptFileError(`kv response frame: unknown status ${status}`);
    }
  }
  r.expectEnd();
  return out;
}
