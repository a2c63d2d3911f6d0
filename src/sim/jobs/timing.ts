/** Simulated time of the job simulation: one tick is 10 ms of every clock. */
export const SIM_TIMING = {
  tick_ms: 10,
  /** A worker's lease (heartbeats come every heartbeat_ticks; renewals are batched every renew_ticks). */
  lease_ms: 300,
  heartbeat_ticks: 8,
  renew_ticks: 12,
  /** The leader proposes a state-machine tick (lease expiry, deadlines) this often. */
  stateTick_ticks: 10,
  archive_ticks: 20,
  /** A client or worker request unanswered this long is sent again (to another coordinator). */
  requestTimeout_ticks: 25,
  /** A worker that hears no heartbeat reply this long looks for another leader. */
  heartbeatSilence_ticks: 30,
  proveMin_ticks: 3,
  proveMax_ticks: 40,
} as const;
