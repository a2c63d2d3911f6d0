/** The embedded database's defaults, apart from the module that loads PGlite (which takes a second or more to import). */
export const EMBEDDED_DEFAULTS = {
  host: '127.0.0.1',
  port: 0,
  connections_max: 64,
  idle_timeout_ms: 60_000,
} as const;
