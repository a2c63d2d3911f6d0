// Dawn (npm `webgpu`) warns on every adapter request when XDG_RUNTIME_DIR is
// unset or unwritable; give each test worker a private one.
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

if (!process.env.XDG_RUNTIME_DIR) {
  const dir = join(tmpdir(), `zkp-xdg-${process.getuid?.() ?? 0}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  process.env.XDG_RUNTIME_DIR = dir;
}
