// The policy sidecar as a program the runtime can start. Only its name and entry: importing this
// must not load the policy engine into the runtime's process.
import { defineProgram } from '@reelmesh/http-kit';

export const POLICY_SIDECAR = defineProgram('policy-sidecar', import.meta.url);
