/** The zkp-cluster client SDK: the leader-following router and the typed client over it. */
export {
  type CallOptions,
  checkAddress,
  LeaderRouter,
  type LeaderRouterOptions,
  namedError,
  ROUTER_DEFAULTS,
  RoutedStream,
  type RouterLogger,
  type ServiceName,
  type StreamSink,
} from './leader-router.ts';
export {
  type AddCoordinatorOptions,
  type ArtifactSource,
  isTerminal,
  type ListJobsOptions,
  type ListJobsPage,
  type RegisterCircuitOptions,
  type SubmitJobOptions,
  type SubmitJobsOutcome,
  submitRequest,
  type WatchOptions,
  ZkpClient,
} from './zkp-client.ts';
export { SUBMIT_BATCH_MAX } from '../api/types.ts';
