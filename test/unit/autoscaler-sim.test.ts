import { describe, expect, it } from 'vitest';
import { defaultSimConfig } from '#functions/autoscaler/sim/config.js';
import { replay } from '#functions/autoscaler/sim/model.js';
import { ringmaster } from '#functions/autoscaler/sim/policies/ringmaster.js';
import { targetTracking } from '#functions/autoscaler/sim/policies/target-tracking.js';
import { score } from '#functions/autoscaler/sim/score.js';
import { diurnal, parseTraceCsv, step5x, type Trace, TraceCsvError } from '#functions/autoscaler/sim/trace.js';

describe('trace CSV', () => {
  it('reads minute,rps with a header, comments and blank lines', () => {
    const trace = parseTraceCsv('minute,rps\n# quiet start\n0,10\n1, 12.5\n\n2,1e3\n', 'mine');
    expect(trace.name).toBe('mine');
    expect(Array.from(trace.rps)).toEqual([10, 12.5, 1000]);
  });

  it.each([
    { text: '0,10\n1,20,30\n', error: 'line 2: expected 2 fields "minute,rps", got 3' },
    { text: '0,10\nten,20\n', error: 'line 2: minute must be a whole number, got "ten"' },
    { text: '0,10\n1.5,20\n', error: 'line 2: minute must be a whole number, got "1.5"' },
    { text: '0,10\n1,20\n3,30\n', error: 'line 3: minute 3 does not follow 1 (minutes must be consecutive)' },
    { text: 'minute,rps\n0,-5\n', error: 'line 2: rps must be a number >= 0, got "-5"' },
    { text: '0,abc\n', error: 'line 1: rps must be a number >= 0, got "abc"' },
    { text: '0,\n', error: 'line 1: rps must be a number >= 0, got ""' },
    { text: '# nothing\n\n', error: 'line 3: no data lines' },
  ])('names the line and the reason: $error', ({ text, error }) => {
    const attempt = () => parseTraceCsv(text);
    expect(attempt).toThrow(TraceCsvError);
    expect(attempt).toThrow(error);
  });

  it('the error carries the line number', () => {
    try {
      parseTraceCsv('0,1\n1,x\n');
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(TraceCsvError);
      expect((err as TraceCsvError).line).toBe(2);
    }
  });
});

describe('replay model', () => {
  it('Ringmaster reaches enough tasks for a 5x step within two ticks of seeing it; target tracking takes three', () => {
    const config = defaultSimConfig();
    const trace = step5x();
    expect(score(trace, replay(trace, ringmaster, config), config).stepReactionTicks).toBeLessThanOrEqual(2);
    expect(score(trace, replay(trace, targetTracking, config), config).stepReactionTicks).toBe(3);
  });

  it('bills tasks from the tick that asks for them and serves with them a minute later', () => {
    const config = defaultSimConfig();
    const trace = parseTraceCsv('0,600\n1,600\n2,600\n3,600\n');
    const result = replay(
      trace,
      () => ({ tick: (view) => ({ servers: view.minute === 1 ? 20 : view.servers.desired }) }),
      config,
    );
    expect(Array.from(result.billed)).toEqual([10, 20, 20, 20]);
    expect(Array.from(result.running)).toEqual([10, 10, 20, 20]);
  });

  it('under a binding budget the count does not flap: the ration keeps a count less than a task from its target', () => {
    const config = defaultSimConfig();
    const days: Trace = { ...diurnal(7), name: 'tight', scoreFromMinute: 0 };
    const unconstrained = score(days, replay(days, targetTracking, config), config);
    const budgetUsd = 0.7 * unconstrained.dollars;
    const tight = score(days, replay(days, ringmaster, config, { budgetUsd }), config);
    expect(tight.dollars).toBeLessThanOrEqual(budgetUsd);
    // Rounding the fractional ration afresh every tick reversed the count about 7.5 times an hour here.
    expect(tight.reversalsPerHour).toBeLessThan(4);
  });
});
