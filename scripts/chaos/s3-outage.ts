import type { ChaosScenario } from './outcome.js';

export const s3Outage: ChaosScenario = {
  name: 's3-outage',
  summary: 'not written yet',
  inCi: true,
  async run() {
    return [{ fault: 's3-outage', checked: 'scenario written', ok: false, figures: '' }];
  },
};
