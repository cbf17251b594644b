import type { ChaosScenario } from './outcome.js';

export const primaryKill: ChaosScenario = {
  name: 'primary-kill',
  summary: 'not written yet',
  inCi: true,
  async run() {
    return [{ fault: 'primary-kill', checked: 'scenario written', ok: false, figures: '' }];
  },
};
