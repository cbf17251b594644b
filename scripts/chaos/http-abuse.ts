import type { ChaosScenario } from './outcome.js';

export const httpAbuse: ChaosScenario = {
  name: 'http-abuse',
  summary: 'not written yet',
  inCi: true,
  async run() {
    return [{ fault: 'http-abuse', checked: 'scenario written', ok: false, figures: '' }];
  },
};
