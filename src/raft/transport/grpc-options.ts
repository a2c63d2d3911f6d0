/** grpc-js channel/server options shared by the Raft transport and the client API. */
import type { ChannelOptions } from '@grpc/grpc-js';

/** Upper bound on one gRPC frame (a batch of Raft messages, possibly a snapshot). */
export const FRAME_BYTES_MAX = 64 * 1024 * 1024;

export function channelOptions(reconnect_ms_min: number, reconnect_ms_max: number): ChannelOptions {
  return {
    'grpc.max_receive_message_length': FRAME_BYTES_MAX,
    'grpc.max_send_message_length': FRAME_BYTES_MAX,
    // A killed peer must be retried quickly: failover is measured in hundreds of ms.
    'grpc.initial_reconnect_backoff_ms': reconnect_ms_min,
    'grpc.min_reconnect_backoff_ms': reconnect_ms_min,
    'grpc.max_reconnect_backoff_ms': reconnect_ms_max,
    'grpc.keepalive_time_ms': 10_000,
    'grpc.keepalive_timeout_ms': 5_000,
    'grpc.keepalive_permit_without_calls': 1,
    // Separate clients per peer: never share one HTTP/2 connection across peers or services.
    'grpc.use_local_subchannel_pool': 1,
  };
}

export const serverOptions: ChannelOptions = {
  'grpc.max_receive_message_length': FRAME_BYTES_MAX,
  'grpc.max_send_message_length': FRAME_BYTES_MAX,
  'grpc.keepalive_permit_without_calls': 1,
  'grpc.http2.min_ping_interval_without_data_ms': 1_000,
};

export const identity = (value: Buffer): Buffer => value;
