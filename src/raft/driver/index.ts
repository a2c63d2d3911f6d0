export { RaftNode, type LeaderChange, type RaftNodeStatus } from './raft-node.ts';
export type { RaftNodeOptions, PeerInfo } from './options.ts';
export type { StateMachine } from './state-machine.ts';
