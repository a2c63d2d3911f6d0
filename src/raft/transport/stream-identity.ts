/**
 * Who opened a Raft stream, and for whom: every stream carries the sender's
 * cluster id and node id and the node id it is meant for, as gRPC metadata,
 * and the receiving node refuses a stream that is not from its own cluster
 * or not meant for it. Without this, a node of another cluster (or of an old
 * incarnation of this one) that has our address in its peers, or a --peers
 * list that gives one node's address under another's id, would feed terms
 * and entries of a foreign log into this node's core (etcd refuses such
 * requests by their cluster-id and "to" headers for the same reason).
 */
import * as grpc from '@grpc/grpc-js';
import type { NodeId } from '../types.ts';

const CLUSTER_KEY = 'zkp-raft-cluster';
const FROM_KEY = 'zkp-raft-from';
const TO_KEY = 'zkp-raft-to';

export interface LocalIdentity {
  readonly clusterId: string;
  readonly nodeId: NodeId;
}

/** The metadata a node sends with the stream it opens to `to`. */
export function streamMetadata(self: LocalIdentity, to: NodeId): grpc.Metadata {
  const metadata = new grpc.Metadata();
  metadata.set(CLUSTER_KEY, self.clusterId);
  metadata.set(FROM_KEY, self.nodeId);
  metadata.set(TO_KEY, to);
  return metadata;
}

/**
 * `key` names the refusal without the remote's (ephemeral) port, so that a
 * log limiter can count one sender's repeated attempts as one.
 */
export type StreamCheck = { readonly ok: true; readonly from: NodeId } | { readonly ok: false; readonly reason: string; readonly key: string };

function single(metadata: grpc.Metadata, key: string): string | null {
  const values = metadata.get(key);
  return values.length === 1 && typeof values[0] === 'string' && values[0].length > 0 ? values[0] : null;
}

/**
 * Whether `self` should take a stream opened with `metadata` by `remote`
 * (the peer's address, for the message). A refusal's reason names both
 * sides and the flag to look at; it goes to the sender as the gRPC status.
 */
export function checkStream(metadata: grpc.Metadata, self: LocalIdentity, remote: string): StreamCheck {
  const clusterId = single(metadata, CLUSTER_KEY);
  const from = single(metadata, FROM_KEY);
  const to = single(metadata, TO_KEY);
  if (clusterId === null || from === null || to === null) {
    return {
      ok: false,
      reason: `a raft stream from ${remote} names no cluster and node ids (not a zkp-cluster node of this version?); node ${JSON.stringify(self.nodeId)} of cluster ${JSON.stringify(self.clusterId)} refuses it`,
      key: 'anonymous',
    };
  }
  if (clusterId !== self.clusterId) {
    return {
      ok: false,
      reason:
        `node ${JSON.stringify(from)} of cluster ${JSON.stringify(clusterId)} (at ${remote}) sent to node ${JSON.stringify(self.nodeId)} of cluster ${JSON.stringify(self.clusterId)}: ` +
        "refused; every node of one cluster must run with the same --cluster-id, and --peers must name only that cluster's nodes",
      key: `cluster ${JSON.stringify(clusterId)} node ${JSON.stringify(from)}`,
    };
  }
  if (to !== self.nodeId) {
    return {
      ok: false,
      reason:
        `node ${JSON.stringify(from)} (at ${remote}) sent a stream meant for node ${JSON.stringify(to)} to node ${JSON.stringify(self.nodeId)}: ` +
        `refused; the sender's --peers gives ${JSON.stringify(to)} this node's address`,
      key: `node ${JSON.stringify(from)} to ${JSON.stringify(to)}`,
    };
  }
  return { ok: true, from };
}
