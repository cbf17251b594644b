import type { ChaosScenario } from './outcome.js';

export const replicaFaults: ChaosScenario = {
  name: 'replica-faults',
  summary: 'not written yet',
  inCi: true,
  async run() {
    return [{ fault: 'replica-faults', checked: 'scenario written', ok: false, figures: '' }];
  },
};
