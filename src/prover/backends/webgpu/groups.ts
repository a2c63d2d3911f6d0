/** Per-group constants and codecs shared by the MSM host code: G1 over Fq, G2 over Fq2. */
import { G1_AFFINE_BYTES, G2_AFFINE_BYTES } from '../../backend.ts';
import { G1, G2, type Aff, type Jac, type JacobianCurve } from './twins/curve.ts';
import { readG1Affine, readG1Jacobian, readG2Affine, readG2Jacobian, writeG1Affine, writeG2Affine } from './twins/codec.ts';
import type { Fq2El } from './twins/field.ts';
import type { GroupName } from './shader-builder.ts';

export interface GroupSpec<T> {
  readonly name: GroupName;
  readonly affineBytes: number;
  readonly jacobianBytes: number;
  readonly curve: JacobianCurve<T>;
  readAffine(bytes: Uint8Array, index: number): Aff<T>;
  readJacobian(bytes: Uint8Array, index: number): Jac<T>;
  writeAffine(p: Aff<T>): Uint8Array;
}

export const G1_SPEC: GroupSpec<bigint> = {
  name: 'g1',
  affineBytes: G1_AFFINE_BYTES,
  jacobianBytes: 96,
  curve: G1,
  readAffine: readG1Affine,
  readJacobian: readG1Jacobian,
  writeAffine: writeG1Affine,
};

export const G2_SPEC: GroupSpec<Fq2El> = {
  name: 'g2',
  affineBytes: G2_AFFINE_BYTES,
  jacobianBytes: 192,
  curve: G2,
  readAffine: readG2Affine,
  readJacobian: readG2Jacobian,
  writeAffine: writeG2Affine,
};
