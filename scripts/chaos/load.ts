import type { ChaosScenario } from './outcome.js';

export const load: ChaosScenario = {
  name: 'load',
  summary: 'not written yet',
  inCi: true,
  async run() {
    return [{ fault: 'load', checked: 'scenario written', ok: false, figures: '' }];
  },
};
