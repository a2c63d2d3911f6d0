/** host:port addresses, as the Raft transport, the driver and its applications' clients take them. */
import { InvalidArgumentError } from '../errors/index.ts';

export function isHostPort(address: string): boolean {
  return /^[^\s/:]+:\d{1,5}$/.test(address);
}

/** Throws InvalidArgumentError naming `what` unless `address` is host:port. */
export function checkHostPort(what: string, address: string): string {
  if (!isHostPort(address)) throw new InvalidArgumentError(`${what} must be host:port, got ${JSON.stringify(address)}`);
  return address;
}
