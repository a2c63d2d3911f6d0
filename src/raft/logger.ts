/** The slice of pino's Logger the Raft driver uses, so tests can pass pino or a silent stub. */
export interface DriverLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export const silentLogger: DriverLogger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
};
