// The control plane (istiod's job, plus the owner's audit ledger) as a program the runtime starts;
// its logic is libs/mesh.
import { defineProgram } from '@reelmesh/http-kit';

export const CONTROL_PLANE = defineProgram('control-plane', import.meta.url);
