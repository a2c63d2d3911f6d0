/**
 * Types shared by the Raft core (src/raft/core), its driver (src/raft/driver,
 * storage, transport) and the simulator (src/sim). The core is a pure state
 * machine in the style of etcd-io/raft: messages and ticks go in, a `Ready`
 * comes out, and the driver persists, sends, applies, then calls `advance`.
 *
 * Indexes and terms are plain numbers (safe integers); index 0 / term 0 mean
 * "nothing" (the log starts at index 1).
 */

export type NodeId = string;

export type EntryType = 'normal' | 'noop' | 'conf-change';

export interface Entry {
  readonly index: number;
  readonly term: number;
  readonly type: EntryType;
  /** Opaque command bytes for 'normal'; an encoded ConfChange for 'conf-change'; empty for 'noop'. */
  readonly data: Uint8Array;
}

/** What must be durable before any message that depends on it is sent. */
export interface HardState {
  readonly term: number;
  readonly vote: NodeId | null;
  readonly commit: number;
}

export interface ConfState {
  readonly voters: readonly NodeId[];
  readonly learners: readonly NodeId[];
}

export type ConfChangeType = 'add-voter' | 'remove-node' | 'add-learner';

export interface ConfChange {
  readonly type: ConfChangeType;
  readonly nodeId: NodeId;
  /** host:port of the node's Raft transport, carried so every member learns where to reach it. */
  readonly address?: string;
  /** host:port where clients reach the node (named in leader redirects). */
  readonly clientAddress?: string;
}

export interface SnapshotMetadata {
  readonly index: number;
  readonly term: number;
  readonly conf: ConfState;
}

export interface Snapshot {
  readonly metadata: SnapshotMetadata;
  readonly data: Uint8Array;
}

export type MessageType =
  | 'pre-vote'
  | 'pre-vote-resp'
  | 'vote'
  | 'vote-resp'
  | 'append'
  | 'append-resp'
  | 'heartbeat'
  | 'heartbeat-resp'
  | 'snapshot'
  | 'timeout-now'
  | 'read-index'
  | 'read-index-resp';

export interface Message {
  readonly type: MessageType;
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: number;
  /** append: index of the entry before `entries`; append-resp: the index matched (or the hint on reject). */
  readonly index?: number;
  /** append: term of the entry at `index`; vote/pre-vote: last log term. */
  readonly logTerm?: number;
  readonly entries?: readonly Entry[];
  readonly commit?: number;
  readonly reject?: boolean;
  /** Rejection hint: the follower's last index (lets the leader skip back fast). */
  readonly rejectHint?: number;
  readonly snapshot?: Snapshot;
  /** ReadIndex / heartbeat context to match responses to requests. */
  readonly context?: Uint8Array;
}

export type RaftRole = 'follower' | 'pre-candidate' | 'candidate' | 'leader';

export interface SoftState {
  readonly role: RaftRole;
  readonly leaderId: NodeId | null;
}

export interface ReadState {
  /** The commit index the read must wait for (apply at least this far, then read). */
  readonly index: number;
  readonly context: Uint8Array;
}

/**
 * Everything the driver must act on, in this order (etcd's Ready loop):
 * 1. persist `snapshot` (if any), `entries` and `hardState` (fdatasync);
 * 2. send `messages`;
 * 3. apply `committedEntries` (and the snapshot) to the state machine;
 * 4. call `advance(ready)`.
 */
export interface Ready {
  readonly softState?: SoftState;
  readonly hardState?: HardState;
  readonly entries: readonly Entry[];
  readonly snapshot?: Snapshot;
  readonly committedEntries: readonly Entry[];
  readonly messages: readonly Message[];
  readonly readStates: readonly ReadState[];
}

/** Durable storage the core reads from (the driver's log implements it). */
export interface LogStorage {
  initialState(): { hardState: HardState; conf: ConfState };
  /** Entries in [lo, hi). Must throw CompactedError for lo <= firstIndex()-1. */
  entries(lo: number, hi: number, maxBytes?: number): Entry[];
  term(index: number): number;
  firstIndex(): number;
  lastIndex(): number;
  snapshot(): Snapshot;
}

export interface RaftConfig {
  readonly id: NodeId;
  /** Election timeout is randomised in [electionTicks, 2*electionTicks) using `random`. */
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
  readonly preVote: boolean;
  readonly checkQuorum: boolean;
  /** Bound on the bytes of entries in one append message. */
  readonly maxSizePerMsg: number;
  /** Bound on in-flight append messages per follower (the pipeline depth). */
  readonly maxInflightMsgs: number;
  readonly storage: LogStorage;
  /** Seeded randomness from the driver/simulator: a float in [0, 1). The core has none of its own. */
  readonly random: () => number;
}

export interface RaftStatus {
  readonly id: NodeId;
  readonly role: RaftRole;
  readonly term: number;
  readonly leaderId: NodeId | null;
  readonly commit: number;
  readonly applied: number;
  readonly lastIndex: number;
  readonly conf: ConfState;
}

/** The pure core's surface (implemented in src/raft/core, driven by src/raft/driver and src/sim). */
export interface RaftCoreApi {
  tick(): void;
  step(message: Message): void;
  /** Appends a normal entry on the leader; returns where it landed. Throws NotLeaderError elsewhere. */
  propose(data: Uint8Array): { index: number; term: number };
  proposeConfChange(change: ConfChange): { index: number; term: number };
  /** Linearizable read: a ReadState with `context` appears in a later Ready once leadership is confirmed. */
  readIndex(context: Uint8Array): void;
  transferLeadership(to: NodeId): void;
  hasReady(): boolean;
  ready(): Ready;
  advance(ready: Ready): void;
  /** The driver applied entries up to `index` and took a snapshot of the state machine there; the core may compact. */
  snapshotTaken(index: number): void;
  status(): RaftStatus;
}
