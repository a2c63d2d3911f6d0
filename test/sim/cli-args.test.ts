import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/errors/index.ts';
import { DEFAULT_STEPS, parseArgs } from '../../src/sim/cli-args.ts';

describe('npm run sim argument parsing', () => {
  it('defaults to one seed, seed 1', () => {
    expect(parseArgs([])).toEqual({ seedStart: 1, seedCount: 1, steps: DEFAULT_STEPS, bug: null, verbose: false, help: false });
  });

  it('takes values as the next argument or after =', () => {
    expect(parseArgs(['--seeds', '200', '--seed', '7', '--steps', '300', '--verbose'])).toMatchObject({
      seedCount: 200,
      seedStart: 7,
      steps: 300,
      verbose: true,
    });
    expect(parseArgs(['--seeds=20', '--seed=3'])).toMatchObject({ seedCount: 20, seedStart: 3 });
  });

  it('runs only the given seed when --seed comes without --seeds', () => {
    expect(parseArgs(['--seed', '42'])).toMatchObject({ seedStart: 42, seedCount: 1 });
  });

  it('takes a session bug to plant', () => {
    expect(parseArgs(['--bug', 'sessions-not-restored', '--seeds', '50']).bug).toBe('sessions-not-restored');
    expect(parseArgs(['--bug=dedup-disabled']).bug).toBe('dedup-disabled');
    expect(() => parseArgs(['--bug', 'nonsense'])).toThrow(/--bug must be one of sessions-not-restored, dedup-disabled, got "nonsense"/);
    expect(() => parseArgs(['--bug'])).toThrow(/--bug must be one of .*, got nothing/);
  });

  it('recognises --help and -h', () => {
    expect(parseArgs(['--help']).help).toBe(true);
    expect(parseArgs(['-h']).help).toBe(true);
  });

  it.each([
    [['--seeds', 'abc'], /--seeds needs a non-negative integer, got "abc"/],
    [['--seeds', '1.5'], /--seeds needs a non-negative integer/],
    [['--seed'], /--seed needs a non-negative integer, got nothing/],
    [['--seeds='], /--seeds needs a non-negative integer, got ""/],
    [['--sedes', '3'], /unknown argument "--sedes"/],
    [['200'], /unknown argument "200"/],
    [['--verbose=yes'], /--verbose takes no value/],
    [['--seeds', '0'], /--seeds and --steps must be at least 1/],
  ])('refuses %j with an error naming the problem', (argv, message) => {
    expect(() => parseArgs(argv)).toThrow(InvalidArgumentError);
    expect(() => parseArgs(argv)).toThrow(message);
  });
});
