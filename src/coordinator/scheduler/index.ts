/** The leader's pure scheduling policy. */
export * from './plan.ts';
export * from './view.ts';
