import type { ChaosScenario } from './outcome.js';

export const diskFull: ChaosScenario = {
  name: 'disk-full',
  summary: 'not written yet',
  inCi: true,
  async run() {
    return [{ fault: 'disk-full', checked: 'scenario written', ok: false, figures: '' }];
  },
};
