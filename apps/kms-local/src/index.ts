// The local KMS (AWS KMS's job on a laptop or in Compose) as a program the runtime starts; its
// logic is libs/kms-local. Nothing else is imported here: the runtime imports this file to learn
// how to start the service and must not load the KMS itself.
import { defineProgram } from '@reelmesh/http-kit';
export const KMS_LOCAL = defineProgram('kms-local', import.meta.url);
