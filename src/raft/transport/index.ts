export { GrpcTransport, type GrpcTransportOptions } from './grpc-transport.ts';
export { silentLogger, type DriverLogger } from '../logger.ts';
export type { PeerSenderStats } from './peer-sender.ts';
