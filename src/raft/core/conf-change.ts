import { InvalidArgumentError } from '../../errors/index.ts';
import type { ConfChange, ConfChangeType, ConfState } from '../types.ts';

/**
 * Conf changes travel in 'conf-change' entries as UTF-8 JSON. JSON keeps the
 * log readable when debugging; conf changes are rare, so size does not matter.
 */
const CONF_CHANGE_TYPES: readonly ConfChangeType[] = ['add-voter', 'remove-node', 'add-learner'];

export function encodeConfChange(change: ConfChange): Uint8Array {
  validateConfChange(change);
  const plain: Record<string, string> = { type: change.type, nodeId: change.nodeId };
  if (change.address !== undefined) plain.address = change.address;
  if (change.clientAddress !== undefined) plain.clientAddress = change.clientAddress;
  return new TextEncoder().encode(JSON.stringify(plain));
}

export function decodeConfChange(data: Uint8Array): ConfChange {
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(data));
  } catch (cause) {
    throw new InvalidArgumentError('conf-change entry is not valid JSON', { cause });
  }
  if (typeof parsed !== 'object' || parsed === null) throw new InvalidArgumentError('conf-change entry is not an object');
  const record = parsed as Record<string, unknown>;
  const change: ConfChange = {
    type: record.type as ConfChangeType,
    nodeId: record.nodeId as string,
    ...(typeof record.address === 'string' ? { address: record.address } : {}),
    ...(typeof record.clientAddress === 'string' ? { clientAddress: record.clientAddress } : {}),
  };
  validateConfChange(change);
  return change;
}

function validateConfChange(change: ConfChange): void {
  if (!CONF_CHANGE_TYPES.includes(change.type)) {
    throw new InvalidArgumentError(`conf change type must be one of ${CONF_CHANGE_TYPES.join(', ')}, got ${String(change.type)}`);
  }
  if (typeof change.nodeId !== 'string' || change.nodeId.length === 0) {
    throw new InvalidArgumentError('conf change nodeId must be a non-empty string');
  }
}

/** The configuration after applying `change` to `conf` (pure; no validation of intent). */
export function applyConfChangeTo(conf: ConfState, change: ConfChange): ConfState {
  const voters = conf.voters.filter((id) => id !== change.nodeId);
  const learners = conf.learners.filter((id) => id !== change.nodeId);
  if (change.type === 'add-voter') voters.push(change.nodeId);
  if (change.type === 'add-learner') learners.push(change.nodeId);
  return { voters: voters.sort(), learners: learners.sort() };
}
