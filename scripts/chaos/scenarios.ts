/** Every scenario of the suite, in the order it runs. */
import { diskFull } from './disk-full.js';
import { fuzzFrames } from './fuzz-frames.js';
import { httpAbuse } from './http-abuse.js';
import { jetstreamFaults } from './jetstream-faults.js';
import { load } from './load.js';
import { outageDiskGuard } from './outage-disk-guard.js';
import type { ChaosScenario } from './outcome.js';
import { primaryKill } from './primary-kill.js';
import { replicaFaults } from './replica-faults.js';
import { s3Outage } from './s3-outage.js';
import { soak } from './soak.js';

export const SCENARIOS: ChaosScenario[] = [
  primaryKill,
  jetstreamFaults,
  fuzzFrames,
  s3Outage,
  diskFull,
  outageDiskGuard,
  httpAbuse,
  load,
  replicaFaults,
  soak,
];
