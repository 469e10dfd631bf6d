// The pod half of a port-forward (what kubectl port-forward does through the kubelet), as a
// program the runtime starts inside an isolated pod's namespace; its logic is libs/netns.
import { defineProgram } from '@reelmesh/http-kit';

export const PORT_FORWARDER = defineProgram('port-forwarder', import.meta.url);
