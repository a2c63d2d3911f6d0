export { PROMOTE_LAG_ENTRIES_MAX, RaftNode, type LeaderChange, type MemberInfo, type MembershipChangeResult, type RaftNodeStatus } from './raft-node.ts';
export type { RaftNodeOptions, PeerInfo } from './options.ts';
export type { StateMachine } from '../state-machine.ts';
