import type { ChaosScenario } from './outcome.js';

export const fuzzFrames: ChaosScenario = {
  name: 'fuzz-frames',
  summary: 'not written yet',
  inCi: true,
  async run() {
    return [{ fault: 'fuzz-frames', checked: 'scenario written', ok: false, figures: '' }];
  },
};
