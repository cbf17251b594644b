import type { ChaosScenario } from './outcome.js';

export const jetstreamFaults: ChaosScenario = {
  name: 'jetstream-faults',
  summary: 'not written yet',
  inCi: true,
  async run() {
    return [{ fault: 'jetstream-faults', checked: 'scenario written', ok: false, figures: '' }];
  },
};
