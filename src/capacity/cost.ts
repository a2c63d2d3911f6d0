/** `--cost gpu=USD/h,cpu=USD/h`: the hourly price of a worker host of each device, either or both. */
import { InvalidArgumentError } from '../errors/index.ts';
import type { Device } from './worker-kinds.ts';

export type HourlyCost = Readonly<Partial<Record<Device, number>>>;

const DEVICES: readonly Device[] = ['gpu', 'cpu'];

export function parseCost(text: string): HourlyCost {
  const cost: Partial<Record<Device, number>> = {};
  const usage = '(use --cost gpu=USD/h,cpu=USD/h, e.g. gpu=2.5,cpu=0.4)';
  for (const part of text.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) throw new InvalidArgumentError(`--cost: "${part}" is not DEVICE=USD/h ${usage}`);
    const device = part.slice(0, eq).trim();
    const price = part.slice(eq + 1).trim();
    if (!(DEVICES as readonly string[]).includes(device)) throw new InvalidArgumentError(`--cost: unknown device "${device}" (gpu or cpu) ${usage}`);
    if (cost[device as Device] !== undefined) throw new InvalidArgumentError(`--cost: ${device} is given twice`);
    const value = /^\d+(\.\d+)?$/.test(price) ? Number(price) : Number.NaN;
    if (!Number.isFinite(value)) throw new InvalidArgumentError(`--cost: ${device}=${price}: the price must be a number of USD per hour, >= 0`);
    cost[device as Device] = value;
  }
  return cost;
}
