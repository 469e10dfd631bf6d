// The proxy sidecar (Envoy's job in a pod) as a program the runtime starts; its logic is libs/mesh.
import { defineProgram } from '@reelmesh/http-kit';

export const PROXY_SIDECAR = defineProgram('proxy-sidecar', import.meta.url);
