/** The coordinator's pure job state machine: records, commands, changes, snapshots and message mapping. */
export * from './changes.ts';
export * from './commands.ts';
export * from './job-state-machine.ts';
export * from './messages.ts';
export * from './records.ts';
