import type { ChaosScenario } from './outcome.js';

export const soak: ChaosScenario = {
  name: 'soak',
  summary: 'not written yet',
  inCi: false,
  async run() {
    return [{ fault: 'soak', checked: 'scenario written', ok: false, figures: '' }];
  },
};
