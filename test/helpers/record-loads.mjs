// Preloaded with `node --import` by the load tests: appends to the file named
// by ZKP_LOAD_LOG every module URL resolved through the ES module loader (in
// its hooks thread) and, when the process exits, every file in the CommonJS
// require cache, so a test can tell which packages a command loaded.
import { appendFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';

const log = process.env.ZKP_LOAD_LOG;
if (log === undefined) throw new Error('record-loads.mjs: set ZKP_LOAD_LOG to the file to append to');

const hooks = `
import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context);
  appendFileSync(${JSON.stringify(log)}, resolved.url + '\\n');
  return resolved;
}
`;
register(`data:text/javascript,${encodeURIComponent(hooks)}`);

const require = createRequire(import.meta.url);
process.on('exit', () => {
  appendFileSync(log, `${Object.keys(require.cache).join('\n')}\n`);
});
